"""A deploy sends SIGTERM (or an operator Ctrl-C, SIGINT) to a Daphne with students streaming: nothing is lost.

The real signal goes to a real Daphne process; the record is read back from its database afterwards.
"""

from __future__ import annotations

import asyncio
import signal

import pytest
from server_process import DaphneServer, StudentClient, server_env, session_summaries, set_up_class

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]
STUDENTS = ("ann", "bob", "cai")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_it_ends_every_session_with_every_sample_written_when_stopped(tmp_path, face_frames, signum):
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", SMARTSESSION_SAMPLE_SECONDS="1")
    code, tokens = set_up_class(env, STUDENTS)
    server = DaphneServer(env, tmp_path / "daphne.log")
    server.start()
    try:
        frames = [jpeg for _, jpeg in face_frames]
        students = {name: StudentClient() for name in STUDENTS}
        streams = [asyncio.ensure_future(client.stream(server, f"/ws/student/{code}/", tokens[name], frames,
                                                       fps=8, seconds=60))
                   for name, client in students.items()]
        await asyncio.sleep(6.5)  # samples every second, written every 5 s: some are waiting in memory now
        server.send_signal(signum)
        await asyncio.wait_for(asyncio.gather(*streams), 30)
        assert await asyncio.to_thread(server.wait, 30) == 0
    finally:
        server.stop()

    for name, client in students.items():
        # The page is told the server restarts, and reconnects (4503 is not a refusal).
        assert client.close_code == 4503 and client.errors == ["server_restarting"], (name, client)
    sessions = session_summaries(env)
    assert set(sessions) == set(STUDENTS)
    for name, (status, samples, frames_analysed) in sessions.items():
        # Every frame a student got feedback for is in the record, up to the last.
        assert (status, frames_analysed) == ("ended", students[name].feedback), (name, sessions[name])
        assert samples >= 6, (name, samples)
    log = server.log()
    assert f"{signal.Signals(signum).name}: ending 3 student streams" in log, log[-3000:]
    assert "every stream ended and written" in log
    assert "Killed" not in log.replace("Killed 0 pending", "")
