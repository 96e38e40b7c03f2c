"""`make demo`, as the README tells a teacher to run it: a server and a simulated class, both stopped at the end."""

import os
import shutil
import socket
import subprocess

import pytest
from browser_fixtures import REPO_ROOT, free_port

pytestmark = pytest.mark.slow


def test_it_serves_a_simulated_class_and_stops_the_server_after_it(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("make demo, like make run, needs Node.js 18+ with npm for the pages' packages")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "MAKEFLAGS", "MAKELEVEL")}
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DEBUG="1")

    finished = subprocess.run(["make", "demo", "DEMO_SECONDS=3", "DEMO_STUDENTS=2"], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "2 students (closed loop" in finished.stdout
    assert "errors 0" in finished.stdout and "PROBLEM" not in finished.stdout
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))  # the server went with the class
