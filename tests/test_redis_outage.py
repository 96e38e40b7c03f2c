"""A Redis restart in the middle of a lesson: no socket closes, teachers see updates again, records go on.

A real Daphne on a private Redis, which the test really stops and starts; students stream real frames.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest
import redis
from server_process import DaphneServer, StudentClient, server_env, session_summaries, set_up_class

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]
STUDENTS = ("ann", "bob", "cai")


class TeacherWatch:
    def __init__(self) -> None:
        self.events: list[tuple[float, dict]] = []
        self.close_code: int | None = None

    async def watch(self, server: DaphneServer, code: str, token: str, until: asyncio.Event) -> None:
        async with server.socket(f"/ws/teacher/{code}/", token) as sock:
            reader = asyncio.ensure_future(self._read(sock))
            await until.wait()
            if reader.done():
                self.close_code = sock.close_code
            reader.cancel()

    async def _read(self, sock) -> None:
        async for raw in sock:
            self.events.append((time.monotonic(), json.loads(raw)))

    def updates_after(self, moment: float) -> list[float]:
        return [at for at, event in self.events if at > moment and event["type"] == "student.update"]


async def test_it_keeps_every_socket_open_and_recording_through_a_redis_restart(tmp_path, private_redis, face_frames):
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL=private_redis.url,
                     SMARTSESSION_RESUME_SECONDS="1", SMARTSESSION_SAMPLE_SECONDS="1")
    code, tokens = set_up_class(env, STUDENTS)
    server = DaphneServer(env, tmp_path / "daphne.log")
    server.start()
    try:
        frames = [jpeg for _, jpeg in face_frames]
        teacher, done = TeacherWatch(), asyncio.Event()
        watching = asyncio.ensure_future(teacher.watch(server, code, tokens["tina"], done))
        students = {name: StudentClient() for name in STUDENTS}
        streams = [asyncio.ensure_future(client.stream(server, f"/ws/student/{code}/", tokens[name], frames,
                                                       fps=5, seconds=10))
                   for name, client in students.items()]
        await asyncio.sleep(3)
        private_redis.stop()
        down_at = time.monotonic()
        await asyncio.sleep(2)
        private_redis.start()
        up_at = time.monotonic()
        await asyncio.gather(*streams)
        await asyncio.sleep(1)
        done.set()
        await watching

        for name, client in students.items():
            assert client.opened and client.close_code in (None, 1000), (name, client.close_code)
            assert client.errors == [], (name, client.errors)
            # Feedback is the student's own and went on while Redis was away.
            assert any(down_at < at < up_at for at in client.feedback_times), name
            assert client.feedback >= 0.9 * client.sent, (name, client.feedback, client.sent)
        assert teacher.close_code is None
        updates_back = teacher.updates_after(up_at)
        assert updates_back and updates_back[0] - up_at < 5.0
        # After the outage the teacher got a fresh snapshot naming everyone who streams.
        snapshots = [event for at, event in teacher.events if at > up_at and event["type"] == "snapshot"]
        assert snapshots and {student["username"] for student in snapshots[0]["students"]} == set(STUDENTS)

        log = server.log()
        assert log.count("Channel layer down") == 1 and log.count("Channel layer back") == 1, log[-3000:]
        assert "Exception inside application" not in log and "never retrieved" not in log, log[-3000:]
        # Every socket has closed: nothing of theirs is left in the restarted Redis's groups.
        client = redis.Redis.from_url(private_redis.url)
        try:
            for _ in range(50):
                members = {key: client.zcard(key) for key in client.keys("asgi:group:*")}
                if not any(members.values()):
                    break
                await asyncio.sleep(0.1)
            assert not any(members.values()), members
        finally:
            client.close()

        # The sessions were recorded throughout, and ended when their sockets closed.
        for _ in range(20):
            sessions = session_summaries(env)
            if sessions and all(status == "ended" for status, _, _ in sessions.values()):
                break
            await asyncio.sleep(0.5)
        assert set(sessions) == set(STUDENTS)
        for name, (status, samples, frames) in sessions.items():
            assert status == "ended" and samples >= 8 and frames == students[name].feedback, (name, sessions[name])
    finally:
        server.stop()


async def test_a_student_who_leaves_while_redis_stalls_still_has_the_session_ended(tmp_path, private_redis,
                                                                                 face_frames):
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL=private_redis.url,
                     SMARTSESSION_RESUME_SECONDS="1", SMARTSESSION_SAMPLE_SECONDS="1")
    code, tokens = set_up_class(env, ("ann",))
    server = DaphneServer(env, tmp_path / "daphne.log")
    server.start()
    try:
        student, leave = StudentClient(), asyncio.Event()
        streaming = asyncio.ensure_future(student.stream(server, f"/ws/student/{code}/", tokens["ann"],
                                                         [jpeg for _, jpeg in face_frames], fps=5, seconds=60,
                                                         stop=leave))
        await asyncio.sleep(3)
        # Redis stalls (stopped, not gone: calls wait instead of failing), and the student closes the page. Leaving
        # the class's groups now waits on Redis, and Daphne cancels the closed socket's consumer after 10 s.
        private_redis.process.send_signal(signal.SIGSTOP)
        try:
            leave.set()
            await streaming
            await asyncio.sleep(12)
        finally:
            private_redis.process.send_signal(signal.SIGCONT)

        assert student.feedback > 0
        for _ in range(20):
            sessions = session_summaries(env)
            if sessions.get("ann", ("",))[0] == "ended":
                break
            await asyncio.sleep(0.5)
        assert sessions["ann"][0] == "ended", "the stream let go of the closed socket and ended its session"
    finally:
        server.stop()
