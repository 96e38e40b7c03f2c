"""Real processes for fault tests: Daphne serving the project, a private Redis, and WebSocket students.

Faults are real: a Redis process stopped and started, a signal sent to Daphne, a database that refuses
connections. Each server logs to a file in the test's tmp folder, so a test can read what it said.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from browser_fixtures import free_port, wait_until_serving

from bench.servers import PrivateRedis  # noqa: F401 - the fault tests' private Redis is make bench's
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "fault-test-passphrase"
# The same class for every fault test: a teacher and students with consent, as the pages would record it.
CLASS_SETUP = """
from django.contrib.auth.models import Group, User
from classroom.services import classroom_create, classroom_join, membership_consent
from rest_framework.authtoken.models import Token
teacher = User.objects.create_user("tina", password="{password}")
teacher.groups.add(Group.objects.get_or_create(name="teachers")[0])
classroom = classroom_create(teacher=teacher, name="Fault class")
tokens = {{"tina": Token.objects.create(user=teacher).key}}
for name in {students!r}:
    student = User.objects.create_user(name, password="{password}")
    membership_consent(membership=classroom_join(student=student, code=classroom.join_code))
    tokens[name] = Token.objects.create(user=student).key
import json
print(json.dumps({{"code": classroom.join_code, "tokens": tokens}}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, check=True,
                            capture_output=True, text=True, timeout=120)
    return result.stdout


def set_up_class(env: dict[str, str], students: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Migrate the database in `env` and make the class; returns its code and every user's API token."""
    manage(env, "migrate", "--no-input", "-v", "0")
    made = json.loads(manage(env, "shell", "-c", CLASS_SETUP.format(password=PASSWORD, students=students))
                      .strip().splitlines()[-1])
    return made["code"], made["tokens"]


SESSION_SUMMARIES = """
import json
from sessions_app.models import Session
print(json.dumps({s.student.username: [s.status, s.samples.count(), s.frames_analysed]
                  for s in Session.objects.select_related("student").order_by("started_at")}))
"""


def session_summaries(env: dict[str, str]) -> dict[str, list]:
    """{username: [status, samples, frames_analysed]} of each student's latest session, read by another process."""
    return json.loads(manage(env, "shell", "-c", SESSION_SUMMARIES).strip().splitlines()[-1])


def server_env(**overrides: str) -> dict[str, str]:
    """The test's environment without its own REDIS_URL and DATABASE_URL, plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DEBUG="1", VISION_WORKERS="1", **overrides)
    return env


class DaphneServer:
    """The project served by Daphne in a process of its own, as `make run` and the deployment run it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                 "smartsession.asgi:application"],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        wait_until_serving(f"{self.origin}/healthz", self.process, self.log_path)

    def send_signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def socket(self, path: str, token: str):
        return connect(f"ws://127.0.0.1:{self.port}{path}", origin=self.origin, proxy=None,
                       additional_headers={"Authorization": f"Token {token}"}, max_size=None)


@dataclass
class StudentClient:
    """One student's socket: sends frames and counts what comes back."""

    sent: int = 0
    feedback: int = 0
    skipped: int = 0  # frames the server replaced by newer ones, as its feedback reports them
    errors: list[str] = field(default_factory=list)
    close_code: int | None = None
    opened: bool = False
    feedback_times: list[float] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return self.feedback + len(self.errors)

    async def stream(self, server: DaphneServer, path: str, token: str, frames: list[bytes], *, fps: float,
                     seconds: float, stop: asyncio.Event | None = None) -> None:
        """Open loop at `fps` for `seconds` (or until `stop` is set), then close; answers are counted throughout."""
        try:
            async with server.socket(path, token) as sock:
                self.opened = True
                reader = asyncio.ensure_future(self._read(sock))
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline and not (stop and stop.is_set()) and not reader.done():
                    await sock.send(frames[self.sent % len(frames)])
                    self.sent += 1
                    await asyncio.sleep(1 / fps)
                # Let the last answers arrive before closing.
                await asyncio.sleep(0.5)
                if reader.done():
                    return
                reader.cancel()
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None

    async def _read(self, sock) -> None:
        try:
            async for raw in sock:
                message = json.loads(raw)
                if message["type"] == "feedback":
                    self.feedback += 1
                    self.skipped += message["skipped"]
                    self.feedback_times.append(time.monotonic())
                elif message["type"] == "error":
                    self.errors.append(message["code"])
        except ConnectionClosed:
            pass
        finally:
            if sock.close_code is not None:
                self.close_code = sock.close_code
