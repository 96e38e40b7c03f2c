"""deploy/backup: a real pg_dump of the PostgreSQL database, readable by its user only, and dumps older than the
documented days deleted after a good one (and none after a failed one: a real pg_dump of a server that is not
there)."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
from deploy_recipe import REPO_ROOT

pytestmark = pytest.mark.postgres

BACKUP = REPO_ROOT / "deploy" / "backup"
DAY_S = 24 * 60 * 60
# Nothing listens on port 1: pg_dump fails there as with the database server down.
UNREACHABLE = "postgres://smartsession@127.0.0.1:1/smartsession"


@pytest.fixture
def backups(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    return folder


@pytest.fixture
def run_backup(tmp_path, postgres):
    """deploy/backup FOLDER with an environment file naming the test run's PostgreSQL database (or `database`)."""
    def run(folder, *settings: str, database: str = postgres) -> subprocess.CompletedProcess:
        env_file = tmp_path / "env"
        env_file.write_text("\n".join([f"DATABASE_URL={database}", *settings]) + "\n")
        env = {"PATH": os.environ["PATH"], "SMARTSESSION_ENV_FILE": str(env_file)}
        return subprocess.run([str(BACKUP), str(folder)], env=env, capture_output=True, text=True, timeout=120)

    return run


def dump_aged(folder, name: str, days: float):
    path = folder / name
    path.write_text("an older dump")
    then = time.time() - days * DAY_S
    os.utime(path, (then, then))
    return path


def test_it_writes_a_dump_only_its_user_can_read(run_backup, backups):
    result = run_backup(backups)
    assert result.returncode == 0, result.stderr
    dump = Path(result.stdout.strip())
    assert dump.parent == backups
    assert dump.name.startswith("smartsession-") and dump.name.endswith(".dump")
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert [path.name for path in backups.iterdir()] == [dump.name]
    assert dump.read_bytes().startswith(b"PGDMP"), "pg_dump's custom format"


def test_it_deletes_its_dumps_older_than_the_keep_days(run_backup, backups):
    old = dump_aged(backups, "smartsession-2026-11-01T023000Z.dump", 8)
    old_partial = dump_aged(backups, "smartsession-2026-11-01T023000Z.dump.partial", 8)
    recent = dump_aged(backups, "smartsession-2026-11-26T023000Z.dump", 6.9)
    not_ours = dump_aged(backups, "notes.txt", 100)

    result = run_backup(backups, "SMARTSESSION_BACKUP_KEEP_DAYS=7")

    assert result.returncode == 0, result.stderr
    assert not old.exists() and not old_partial.exists()
    assert recent.exists() and not_ours.exists()
    assert str(old) in result.stderr, "it says what it deleted"


def test_it_keeps_thirty_days_by_default(run_backup, backups):
    old, recent = dump_aged(backups, "smartsession-a.dump", 30.1), dump_aged(backups, "smartsession-b.dump", 29.9)
    assert run_backup(backups).returncode == 0
    assert not old.exists() and recent.exists()


def test_it_keeps_no_dump_longer_than_the_retention(run_backup, backups):
    # A dump holds sessions the purge has deleted since: it must not outlive the school's retention.
    old, recent = dump_aged(backups, "smartsession-a.dump", 3.1), dump_aged(backups, "smartsession-b.dump", 2.9)
    assert run_backup(backups, "SMARTSESSION_RETENTION_DAYS=3").returncode == 0
    assert not old.exists() and recent.exists()


def test_a_failed_dump_deletes_nothing(run_backup, backups):
    old = dump_aged(backups, "smartsession-a.dump", 365)
    result = run_backup(backups, database=UNREACHABLE)
    assert result.returncode != 0
    assert old.exists()


def test_it_refuses_days_that_are_not_a_whole_number(run_backup, backups):
    old = dump_aged(backups, "smartsession-a.dump", 365)
    result = run_backup(backups, "SMARTSESSION_BACKUP_KEEP_DAYS=2w")
    assert result.returncode == 2 and "whole days" in result.stderr
    assert old.exists() and len(list(backups.iterdir())) == 1


RESTORE = REPO_ROOT / "deploy" / "restore"


def test_it_restores_the_dump_exactly_even_over_what_an_upgrade_added(tmp_path, run_backup, backups):
    import psycopg
    from contextlib import ExitStack

    from deploy_recipe import fresh_database

    with ExitStack() as stack:
        database = fresh_database(stack, tmp_path, "restore")
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute("CREATE TABLE classes (id int PRIMARY KEY, name text)")
            connection.execute("INSERT INTO classes VALUES (1, 'Physics')")
        dump = run_backup(backups, database=database).stdout.strip().splitlines()[-1]
        with psycopg.connect(database, autocommit=True) as connection:
            # What a later version's migration adds: a table that references an old one, and new rows.
            connection.execute("CREATE TABLE lessons (id int PRIMARY KEY, class_id int REFERENCES classes (id))")
            connection.execute("INSERT INTO classes VALUES (2, 'Chemistry')")
            connection.execute("INSERT INTO lessons VALUES (1, 2)")
        env = {"PATH": os.environ["PATH"], "SMARTSESSION_ENV_FILE": str(tmp_path / "env")}

        damaged = tmp_path / "damaged.dump"
        damaged.write_bytes(Path(dump).read_bytes()[:200])
        refused = subprocess.run([str(RESTORE), str(damaged)], env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0
        with psycopg.connect(database) as connection:
            assert connection.execute("SELECT count(*) FROM lessons").fetchone() == (1,), "a failed restore drops nothing"

        restored = subprocess.run([str(RESTORE), dump], env=env, capture_output=True, text=True, timeout=120)
        assert restored.returncode == 0, restored.stderr
        with psycopg.connect(database) as connection:
            assert connection.execute("SELECT id, name FROM classes").fetchall() == [(1, "Physics")]
            tables = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
            assert tables == [("classes",)]
