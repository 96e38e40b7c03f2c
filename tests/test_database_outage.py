"""The database goes away while sessions end, then the student streams again: two sessions, each with its own
right totals, and a clear refusal for a socket opened while the database is down.

The outage is real: a database of the test's own on the real PostgreSQL stops taking connections and its
open ones are ended (ALTER DATABASE ... ALLOW_CONNECTIONS false), then takes them again.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import psycopg
import pytest
from server_process import DaphneServer, StudentClient, manage, server_env, set_up_class

pytestmark = [pytest.mark.postgres, pytest.mark.shared_data, pytest.mark.slow]

SESSIONS = """
import json
from sessions_app.models import Session
print(json.dumps([[s.status, s.frames_analysed, s.samples.count(), s.started_at.isoformat(),
                   s.ended_at and s.ended_at.isoformat()] for s in Session.objects.order_by("started_at")]))
"""


class OutageDatabase:
    def __init__(self, server_url: str) -> None:
        self.name = f"outage_{uuid.uuid4().hex[:12]}"
        self.server_url = server_url.rsplit("/", 1)[0]
        self.url = f"{self.server_url}/{self.name}"

    def _admin(self, *statements: str) -> None:
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def go_down(self) -> None:
        self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false',
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'")

    def come_back(self) -> None:
        self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')

    def drop(self) -> None:
        self.come_back()
        self._admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'",
                    f'DROP DATABASE IF EXISTS "{self.name}"')


@pytest.fixture
def outage_database(postgres):
    database = OutageDatabase(postgres)
    database.create()
    try:
        yield database
    finally:
        database.drop()


async def test_it_keeps_two_streams_apart_when_the_database_was_down_as_the_first_ended(
    tmp_path, outage_database, face_frames
):
    env = server_env(DATABASE_URL=outage_database.url, SMARTSESSION_RESUME_SECONDS="1",
                     SMARTSESSION_SAMPLE_SECONDS="1")
    code, tokens = set_up_class(env, ("ann", "bob"))
    server = DaphneServer(env, tmp_path / "daphne.log")
    server.start()
    path = f"/ws/student/{code}/"
    frames = [jpeg for _, jpeg in face_frames]
    try:
        first = StudentClient()
        streaming = asyncio.ensure_future(first.stream(server, path, tokens["ann"], frames, fps=8, seconds=9))
        await asyncio.sleep(2)
        outage_database.go_down()  # for the last 7 s of the first stream, its end, and a new socket
        await streaming  # the socket closes with the database down: the session cannot end yet
        # Feedback never depended on the database: every frame was answered through the outage (or, on a busy
        # machine, reported replaced by a newer one, as the student page is told).
        assert first.feedback + first.skipped == first.sent and first.errors == [] and first.close_code in (None, 1000)

        refused = StudentClient()
        await refused.stream(server, path, tokens["bob"], frames, fps=8, seconds=1)
        assert (refused.errors, refused.close_code) == (["unavailable"], 4503)

        await asyncio.sleep(2)
        outage_database.come_back()
        second = StudentClient()
        await second.stream(server, path, tokens["ann"], frames, fps=8, seconds=4)

        # The first stream's samples, kept in memory through the outage, land within a retry interval.
        for _ in range(40):
            sessions = json.loads(manage(env, "shell", "-c", SESSIONS).strip().splitlines()[-1])
            if len(sessions) == 2 and sessions[0][1] == first.feedback and sessions[1][0] == "ended":
                break
            await asyncio.sleep(0.5)
    finally:
        server.stop()

    (first_status, first_frames, first_samples, _, first_end), (status, frames_analysed, samples, second_start, _) = \
        sessions
    assert (first_status, first_frames) == ("ended", first.feedback)
    assert (status, frames_analysed) == ("ended", second.feedback)
    # A sample a second, most of them taken while the database was down: none lost.
    assert first_samples >= 8 and samples >= 3
    assert first_end <= second_start
    assert "Traceback" not in server.log().split("could not", 1)[0]
