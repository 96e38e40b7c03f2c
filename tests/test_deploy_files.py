"""The files in deploy/: they render, systemd accepts the units, their commands run, and the limits agree."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys

import pytest
from deploy_recipe import REPO_ROOT, RENDER, read_env_file, render, unit_command, unit_setting

from vision.decode import DEFAULT_MAX_BYTES

VALUES = {
    "SERVER_NAME": "class.school.example", "APP_DIR": str(REPO_ROOT), "USER": "root",
    "DATABASE_URL": "postgres://smartsession@127.0.0.1:5432/smartsession", "REDIS_URL": "redis://127.0.0.1:6379/0",
    "TLS_CERTIFICATE": "/etc/ssl/certs/class.pem", "TLS_CERTIFICATE_KEY": "/etc/ssl/private/class.key",
}


@pytest.fixture
def rendered(tmp_path):
    return render(tmp_path / "rendered", **VALUES)


def run_render(tmp_path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RENDER), "--out", str(tmp_path), *arguments], capture_output=True,
                          text=True, timeout=60)


def test_it_refuses_to_render_with_a_value_missing_or_one_no_template_uses(tmp_path):
    missing = run_render(tmp_path, *(f"{k}={v}" for k, v in VALUES.items() if k != "DATABASE_URL"))
    assert missing.returncode != 0 and "no value for DATABASE_URL" in missing.stderr
    typo = run_render(tmp_path, *(f"{k}={v}" for k, v in VALUES.items()), "SEVER_NAME=x")
    assert typo.returncode != 0 and "no template uses SEVER_NAME" in typo.stderr


@pytest.mark.parametrize("name, value", [
    ("SECRET_KEY", "abc def"),
    ("SECRET_KEY", "key$HOME"),
    ("DATABASE_URL", "postgres://app:pa'ss@127.0.0.1/app"),
    ("DATABASE_URL", "postgres://app@127.0.0.1/app?sslmode=require&target_session_attrs=any"),
    ("SERVER_NAME", "class.school.example;"),
])
def test_it_refuses_a_value_the_shell_or_nginx_would_misread_and_writes_nothing(tmp_path, name, value):
    refused = run_render(tmp_path / "out", *(f"{k}={v}" for k, v in {**VALUES, name: value}.items()))

    assert refused.returncode != 0 and f"{name}'s value holds" in refused.stderr, refused.stderr
    assert not (tmp_path / "out").exists()


def test_it_fills_in_every_placeholder_and_keeps_the_env_file_private(rendered):
    for path in rendered.rglob("*"):
        if path.is_file():
            assert not re.search(r"@[A-Z_]+@", path.read_text()), path
    env = read_env_file(rendered / "smartsession.env")
    assert env["DEBUG"] == "0" and env["BEHIND_PROXY"] == "1" and len(env["SECRET_KEY"]) >= 50
    assert env["CSRF_TRUSTED_ORIGINS"] == "https://class.school.example"
    assert (rendered / "smartsession.env").stat().st_mode & 0o077 == 0
    upstream = (rendered / "nginx" / "smartsession.conf").read_text()
    assert "server 127.0.0.1:8001 " in upstream and "server 127.0.0.1:8002 " in upstream


def test_systemd_accepts_the_units(rendered):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package); .ci/run installs it")
    units = rendered / "systemd"
    # An instance of the template, as `systemctl enable smartsession@8001` makes it.
    shutil.copy(units / "smartsession@.service", units / "smartsession@8001.service")
    names = [path.name for path in units.iterdir() if path.name != "smartsession@.service"]
    result = subprocess.run([analyze, "verify", "--man=no", *names], cwd=units, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.parametrize("unit", ["smartsession-close-stale.service", "smartsession-purge.service"])
def test_the_timers_commands_run(tmp_path, unit):
    rendered = render(tmp_path / "rendered", **{**VALUES, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    env = {"PATH": os.environ["PATH"], **read_env_file(rendered / "smartsession.env")}
    service = rendered / "systemd" / unit
    cwd = unit_setting(service, "WorkingDirectory")
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=cwd, env=env, check=True)
    result = subprocess.run(unit_command(service), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"\b0\b.*session", result.stdout), result.stdout


def test_the_message_limits_let_the_largest_frame_through_everywhere(rendered):
    # The app's own limit answers a too-large frame with a clear error; every layer in front must let a frame
    # up to that limit (as base64 text in JSON, the larger form) reach it.
    largest = len(b'{"type": "frame", "image": ""}') + len(base64.b64encode(bytes(DEFAULT_MAX_BYTES)))
    unit = rendered / "systemd" / "smartsession@.service"
    unit_limit = int(re.search(r"--websocket-max-message-size (\d+)", unit_setting(unit, "ExecStart")).group(1))
    make_limit = int(re.search(r"--websocket-max-message-size (\d+)", (REPO_ROOT / "Makefile").read_text()).group(1))
    nginx_limit = re.search(r"client_max_body_size (\d+)m;", (rendered / "nginx" / "smartsession.conf").read_text())
    assert unit_limit == make_limit >= largest
    assert int(nginx_limit.group(1)) * 1024 * 1024 >= largest


@pytest.mark.parametrize(("bind", "expected"), [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")])
def test_make_run_listens_on_bind(bind, expected):
    # `make -n` prints the commands without running them (the sub-make for the front-end packages included).
    arguments = ["make", "-n", "run"] + ([f"BIND={bind}"] if bind else [])
    env = {key: value for key, value in os.environ.items() if key not in ("BIND", "MAKEFLAGS", "MAKELEVEL")}
    result = subprocess.run(arguments, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.search(rf"/daphne -b {re.escape(expected)} -p \S+ --websocket-max-message-size", result.stdout)
