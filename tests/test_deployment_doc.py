"""Every command in docs/deployment.md is run here, or named with the test that runs its equivalent, or with
the reason it cannot run in a test (it changes the machine: packages, users, /etc, systemd; or needs the
internet). A command added to the guide without one of the three fails this test, so the guide cannot rot.

The runnable ones run in order, as written, on a fresh PostgreSQL database, with the server's paths mapped to
this checkout and a temporary folder, and `sudo -u smartsession` dropped (the test is that user).
"""

from __future__ import annotations

import os
import re
import subprocess
from contextlib import ExitStack

import pytest
from deploy_recipe import REPO_ROOT, fresh_database, read_env_file

GUIDE = REPO_ROOT / "docs" / "deployment.md"
RUN = "run"
# `systemctl restart` returns before Daphne listens: a readiness check right after it must wait, not fail at once.
WAIT_READY = re.escape("curl --fail --retry 30 --retry-connrefused --retry-delay 1")
# (pattern, RUN, or why it is not run here), first match wins.
RULES = [
    (r"^cd /srv/smartsession$", RUN),
    (r"^python3 deploy/render\.py ", RUN),
    (r"^sudo -u smartsession sh -c 'set -a && \. /etc/smartsession/env && make setup'$", RUN),
    (r"^sudo -u smartsession deploy/manage collectstatic --no-input$",
     "the same collectstatic runs in tests/conftest.py (collected_static) for the topology test"),
    (r"^sudo -u smartsession deploy/manage (check --deploy|createsuperuser|shell|axes_reset_username|purge_sessions"
     r"|close_stale_sessions)\b", RUN),
    (r"^sudo -u smartsession deploy/(backup|restore) ", RUN),
    (rf"^{WAIT_READY} https://class\.school\.example/readyz$",
     "tests/test_deployment_topology.py asks /readyz through nginx and TLS"),
    (rf"^{WAIT_READY} http://127\.0\.0\.1:800[12]/readyz$",
     "tests/test_readiness.py asks /readyz over plain HTTP with DEBUG=0, as a local probe does"),
    (r"^nginx -t$", "tests/test_deployment_topology.py runs nginx on the rendered site"),
    (r"^systemctl ", "systemd does not run in a container; tests/test_deploy_files.py verifies the units with "
                     "systemd-analyze and runs their commands, tests/test_deployment_topology.py the server's"),
    (r"^(apt-get|useradd|install|cp|ln|rm|mkdir|echo .* > /etc/cron\.d/)",
     "changes the machine (packages, users, /etc, /var); tests/test_deploy_files.py checks what is installed"),
    (r"^sudo -u postgres (createuser|createdb) ", "changes the machine's PostgreSQL roles; the tests make a database"),
    (r"^sudo -u smartsession git (clone|pull)\b", "needs the school's copy of the repository"),
    (r"^certbot ", "needs the internet and a public name (Let's Encrypt); nothing here can answer it"),
]


def commands() -> list[str]:
    """Every command in the guide's ```sh blocks, continuation lines joined."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                found.append(line)
    return found


def rule_for(command: str) -> str | None:
    return next((action for pattern, action in RULES if re.search(pattern, command)), None)


def test_it_knows_every_command_in_the_guide():
    unknown = [command for command in commands() if rule_for(command) is None]
    assert unknown == [], f"commands in docs/deployment.md that no test runs or explains: {unknown}"
    assert sum(rule_for(command) == RUN for command in commands()) >= 12


@pytest.mark.postgres
def test_it_runs_the_guides_commands(tmp_path):
    with ExitStack() as stack:
        database = fresh_database(stack, tmp_path, "guide")
        backups = tmp_path / "backups"
        backups.mkdir()
        env_file = tmp_path / "deploy" / "smartsession.env"
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SMARTSESSION_ENV_FILE": str(env_file),
               "DJANGO_SUPERUSER_PASSWORD": "a-long-test-passphrase"}
        outputs = {}
        for command in commands():
            if rule_for(command) != RUN or command.startswith("cd "):
                continue
            runnable = (
                command.replace("sudo -u smartsession ", "")
                .replace("/tmp/smartsession-deploy", str(tmp_path / "deploy"))
                .replace("/etc/smartsession/env", str(env_file))
                .replace("APP_DIR=/srv/smartsession", f"APP_DIR={REPO_ROOT}")
                .replace("DATABASE_URL=postgres://smartsession@/smartsession", f"DATABASE_URL={database}")
                .replace("/var/backups/smartsession/smartsession-2026-12-01T023000Z.dump", outputs.get("backup", ""))
                .replace("/var/backups/smartsession", str(backups))
            )
            if command.startswith("sudo -u smartsession deploy/manage createsuperuser"):
                runnable += " --no-input"  # it asks for the password; DJANGO_SUPERUSER_PASSWORD answers here
            result = subprocess.run(["bash", "-c", runnable], cwd=REPO_ROOT, env=env, capture_output=True,
                                    text=True, timeout=300)
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
            if "deploy/backup" in command:
                outputs["backup"] = result.stdout.strip().splitlines()[-1]
            if "render.py" in command:
                # The rendered file names the server's Redis; this test's processes need none running.
                assert read_env_file(env_file)["DATABASE_URL"] == database
                # The upgrade's render keeps the installed secret key: a new one would log everyone out.
                secret = outputs.setdefault("secret_key", read_env_file(env_file)["SECRET_KEY"])
                assert read_env_file(env_file)["SECRET_KEY"] == secret, command
                env_file.write_text(env_file.read_text().replace("REDIS_URL=redis://127.0.0.1:6379/0", "REDIS_URL="))
        assert outputs["backup"].endswith(".dump")
        assert sum("render.py" in command for command in commands()) == 2, "installing, and each upgrade"
        teacher = subprocess.run(
            ["bash", "-c", "deploy/manage shell -c \"from django.contrib.auth.models import User; "
                           "print(User.objects.get(username='rivera').groups.filter(name='teachers').exists(), "
                           "User.objects.get(username='admin').is_superuser)\""],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
        assert teacher.stdout.split()[-2:] == ["True", "True"], teacher.stdout + teacher.stderr
