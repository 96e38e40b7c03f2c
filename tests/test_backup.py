"""deploy/backup: a dump only its user can read, and dumps older than the documented days deleted after a good one.

pg_dump is a stand-in here (tests/test_deployment_doc.py runs the real one against PostgreSQL): these tests are
about the files the script keeps and deletes.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time

from pathlib import Path

import pytest
from deploy_recipe import REPO_ROOT

BACKUP = REPO_ROOT / "deploy" / "backup"
DAY_S = 24 * 60 * 60
# Writes what pg_dump would, to its --file=; exits with FAKE_PG_DUMP_STATUS.
FAKE_PG_DUMP = """#!/bin/sh
for argument; do case $argument in --file=*) echo "a dump" > "${argument#--file=}" ;; esac; done
exit "${FAKE_PG_DUMP_STATUS:-0}"
"""


@pytest.fixture
def backups(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    return folder


def run_backup(tmp_path, folder, *settings: str, pg_dump_status: int = 0) -> subprocess.CompletedProcess:
    programs = tmp_path / "bin"
    programs.mkdir(exist_ok=True)
    (programs / "pg_dump").write_text(FAKE_PG_DUMP)
    (programs / "pg_dump").chmod(0o755)
    env_file = tmp_path / "env"
    env_file.write_text("\n".join(["DATABASE_URL=postgres://smartsession@/smartsession", *settings]) + "\n")
    env = {"PATH": f"{programs}:{os.environ['PATH']}", "SMARTSESSION_ENV_FILE": str(env_file),
           "FAKE_PG_DUMP_STATUS": str(pg_dump_status)}
    return subprocess.run([str(BACKUP), str(folder)], env=env, capture_output=True, text=True, timeout=60)


def dump_aged(folder, name: str, days: float):
    path = folder / name
    path.write_text("an older dump")
    then = time.time() - days * DAY_S
    os.utime(path, (then, then))
    return path


def test_it_writes_a_dump_only_its_user_can_read(tmp_path, backups):
    result = run_backup(tmp_path, backups)
    assert result.returncode == 0, result.stderr
    dump = Path(result.stdout.strip())
    assert dump.parent == backups
    assert dump.name.startswith("smartsession-") and dump.name.endswith(".dump")
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert [path.name for path in backups.iterdir()] == [dump.name]


def test_it_deletes_its_dumps_older_than_the_keep_days(tmp_path, backups):
    old = dump_aged(backups, "smartsession-2026-11-01T023000Z.dump", 8)
    old_partial = dump_aged(backups, "smartsession-2026-11-01T023000Z.dump.partial", 8)
    recent = dump_aged(backups, "smartsession-2026-11-26T023000Z.dump", 6.9)
    not_ours = dump_aged(backups, "notes.txt", 100)

    result = run_backup(tmp_path, backups, "SMARTSESSION_BACKUP_KEEP_DAYS=7")

    assert result.returncode == 0, result.stderr
    assert not old.exists() and not old_partial.exists()
    assert recent.exists() and not_ours.exists()
    assert str(old) in result.stderr, "it says what it deleted"


def test_it_keeps_thirty_days_by_default(tmp_path, backups):
    old, recent = dump_aged(backups, "smartsession-a.dump", 30.1), dump_aged(backups, "smartsession-b.dump", 29.9)
    assert run_backup(tmp_path, backups).returncode == 0
    assert not old.exists() and recent.exists()


def test_it_keeps_no_dump_longer_than_the_retention(tmp_path, backups):
    # A dump holds sessions the purge has deleted since: it must not outlive the school's retention.
    old, recent = dump_aged(backups, "smartsession-a.dump", 3.1), dump_aged(backups, "smartsession-b.dump", 2.9)
    assert run_backup(tmp_path, backups, "SMARTSESSION_RETENTION_DAYS=3").returncode == 0
    assert not old.exists() and recent.exists()


def test_a_failed_dump_deletes_nothing(tmp_path, backups):
    old = dump_aged(backups, "smartsession-a.dump", 365)
    result = run_backup(tmp_path, backups, pg_dump_status=1)
    assert result.returncode != 0
    assert old.exists()


def test_it_refuses_days_that_are_not_a_whole_number(tmp_path, backups):
    old = dump_aged(backups, "smartsession-a.dump", 365)
    result = run_backup(tmp_path, backups, "SMARTSESSION_BACKUP_KEEP_DAYS=2w")
    assert result.returncode == 2 and "whole days" in result.stderr
    assert old.exists() and len(list(backups.iterdir())) == 1
