"""One account cannot starve a class: one socket per student and class, a newer one takes over with 4409.

A real Daphne with one vision thread; one account opens 20 sockets and sends as fast as it can while a
classmate streams at the page's pace.
"""

from __future__ import annotations

import asyncio

import pytest
from server_process import DaphneServer, StudentClient, server_env, set_up_class

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


async def test_it_replaces_extra_sockets_of_one_account_and_keeps_serving_the_neighbour(tmp_path, face_frames):
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    code, tokens = set_up_class(env, ("ann", "bob"))
    server = DaphneServer(env, tmp_path / "daphne.log")
    server.start()
    try:
        frames = [jpeg for _, jpeg in face_frames]
        path = f"/ws/student/{code}/"
        neighbour = StudentClient()
        hostile = [StudentClient() for _ in range(20)]
        streams = [neighbour.stream(server, path, tokens["ann"], frames, fps=5, seconds=8)]
        streams += [client.stream(server, path, tokens["bob"], frames, fps=200, seconds=8) for client in hostile]
        await asyncio.gather(*streams)
    finally:
        server.stop()

    assert neighbour.close_code in (None, 1000) and neighbour.errors == []
    assert neighbour.answered >= 0.95 * neighbour.sent, (neighbour.answered, neighbour.sent)
    # Every one of the account's sockets but the newest was told it was taken over, and closed.
    replaced = [client for client in hostile if client.close_code == 4409]
    assert len(replaced) == 19, sorted(str(client.close_code) for client in hostile)
    assert all(client.errors[-1:] == ["replaced"] for client in replaced)
    # The newest one was served at the pool's fair share; each of its frames was answered or reported skipped.
    (survivor,) = [client for client in hostile if client.close_code is None]
    assert survivor.answered + survivor.skipped == survivor.sent
    log = server.log()
    assert "Traceback" not in log and "timestamps must not go backwards" not in log, log[-3000:]
