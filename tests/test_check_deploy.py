"""`manage.py check --deploy` is clean with the production variables of deploy/smartsession.env."""

from __future__ import annotations

import os
import subprocess
import sys

from deploy_recipe import REPO_ROOT, read_env_file, render


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT, env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=120,
    )


def production_env(tmp_path) -> dict[str, str]:
    rendered = render(
        tmp_path, SERVER_NAME="class.school.example", APP_DIR=str(REPO_ROOT), USER="smartsession",
        DATABASE_URL="postgres://smartsession@127.0.0.1:5432/smartsession", REDIS_URL="redis://127.0.0.1:6379/0",
        TLS_CERTIFICATE="/etc/ssl/certs/class.pem", TLS_CERTIFICATE_KEY="/etc/ssl/private/class.key",
    )
    return read_env_file(rendered / "smartsession.env")


def test_it_finds_no_issue_with_the_documented_production_variables(tmp_path):
    result = check_deploy(production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_would_warn_without_them(tmp_path):
    env = production_env(tmp_path)
    del env["SECURE_HSTS_SECONDS"]
    result = check_deploy(env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr
