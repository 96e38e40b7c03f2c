"""The files in deploy/, rendered and read the way a server uses them; shared by the deployment tests."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import dj_database_url

REPO_ROOT = Path(__file__).resolve().parent.parent
RENDER = REPO_ROOT / "deploy" / "render.py"


def render(out: Path, **values: str) -> Path:
    """Runs deploy/render.py as docs/deployment.md does, into `out`."""
    arguments = [f"{name}={value}" for name, value in values.items()]
    result = subprocess.run([sys.executable, str(RENDER), "--out", str(out), *arguments], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return out


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as systemd's EnvironmentFile= reads them (no quoting is used in ours)."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def unit_setting(unit: Path, name: str) -> str:
    """The value of `name=` in a unit file (the first one)."""
    for line in unit.read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{unit.name} has no {name}=")


def unit_command(unit: Path, instance: str = "") -> list[str]:
    """The unit's ExecStart as an argument list, with %i (the instance, our port) filled in."""
    return shlex.split(unit_setting(unit, "ExecStart").replace("%i", instance))


def fresh_database(stack: ExitStack, folder: Path, suffix: str) -> str:
    """A fresh PostgreSQL database beside the suite's (its name + `suffix`) when DATABASE_URL is PostgreSQL,
    else a SQLite file in `folder`; dropped when `stack` closes."""
    url = os.getenv("DATABASE_URL", "")
    if not url or "postgresql" not in dj_database_url.parse(url)["ENGINE"]:
        return f"sqlite:///{folder / 'db.sqlite3'}"
    import psycopg

    config = dj_database_url.parse(url)
    name = f"{config['NAME']}_{suffix}"
    admin = psycopg.connect(host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"],
                            password=config["PASSWORD"] or None, dbname="postgres", autocommit=True)
    stack.callback(admin.close)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    stack.callback(lambda: admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return url.rsplit("/", 1)[0] + f"/{name}"
