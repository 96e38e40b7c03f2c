"""The processes a capacity run measures, started as deployed: Daphne on a private Redis, and the naive reference.

Each writes its output to a log file in the run's own folder, so a failure can say where to look. Nothing here
touches the machine's own Redis or database: the Redis is a private redis-server on a free port, keeping
nothing on disk, and the database is the one the caller names (by default a SQLite file in that folder).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from classroom.simulation.load import wait_for_server

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60
# Daphne as `make run` and the deployment start it: frames up to vision's 2 MB limit get our own clear error.
DAPHNE_MAX_MESSAGE_BYTES = 3_000_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGTERM, as a deploy stops a server (Daphne then writes every stream's record), and SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ServerProcess:
    """One local server process on a free port: started, waited for until /healthz answers, and stopped."""

    name = "server"

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.port = free_port()
        self.log_path = folder / f"{self.name}-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(), cwd=REPO_ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not wait_for_server(self.url, seconds=0.5):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {self.process.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not answer within {START_TIMEOUT_S} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None


class Daphne(ServerProcess):
    """SmartSession as deployed: Daphne, VISION_WORKERS vision threads, the Redis channel layer."""

    name = "daphne"

    def __init__(self, folder: Path, env: dict[str, str], *, vision_workers: int) -> None:
        super().__init__(folder, {**env, "VISION_WORKERS": str(vision_workers)})
        self.vision_workers = vision_workers

    def command(self) -> list[str]:
        return [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                "--websocket-max-message-size", str(DAPHNE_MAX_MESSAGE_BYTES), "smartsession.asgi:application"]


class NaiveServer(ServerProcess):
    """The naive reference design (bench/naive_server.py) on uvicorn, one process."""

    name = "naive"

    def command(self) -> list[str]:
        return [str(BIN / "uvicorn"), "bench.naive_server:app", "--host", "127.0.0.1", "--port", str(self.port),
                "--ws", "websockets-sansio", "--log-level", "warning"]


class PrivateRedis:
    """A redis-server of the run's own: the machine's Redis is never touched, and nothing is kept on disk."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RuntimeError("make bench runs the Redis channel layer as deployed and needs redis-server "
                               "(Debian: apt-get install redis-server).")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the private redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def version(self) -> str:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        output = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
        return next((part.split("=", 1)[1] for part in output.split() if part.startswith("v=")), output.strip())

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
