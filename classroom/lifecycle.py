"""What a Daphne process does besides answering requests, so that a deploy or a crash loses nothing.

- SIGTERM or SIGINT (a deploy, `systemctl restart`, Ctrl-C): new sockets are refused with 4503, every student
  and teacher socket is closed with 4503 so pages reconnect (to another process, or to this one restarted),
  every recorder writes what it holds and every session ends with its totals; then the server stops.
  Daphne alone would cancel every consumer at once and lose the samples not yet written.
- At start-up and every STALE_CHECK_EVERY_S: sessions a crashed process left active are ended at their last
  sample (sessions_app.services.close_stale_sessions), so a kill -9 costs at most the samples of the last
  recording.FLUSH_EVERY_S, and the session ends within SMARTSESSION_STALE_AFTER_SECONDS + STALE_CHECK_EVERY_S
  of the crash.

Only under Daphne's running Twisted reactor: test clients and management commands start none of this.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from . import live, recording

logger = logging.getLogger("smartsession.lifecycle")

# A clean stop gets this long to write every record; past it the server stops anyway and says what is left.
SHUTDOWN_TIMEOUT_S = 25.0
STALE_CHECK_EVERY_S = 60.0


def _running_reactor():
    reactor = sys.modules.get("twisted.internet.reactor")
    return reactor if reactor is not None and getattr(reactor, "running", False) else None


class ServerLifecycle:
    """ASGI middleware: on the first request or socket, under a running reactor, take over the stop signals
    (Twisted's own handlers are installed by then, and ours replace them) and start the stale-session check."""

    def __init__(self, app) -> None:
        self.app = app
        self._started = False

    async def __call__(self, scope, receive, send):
        if not self._started:
            self._started = True
            reactor = _running_reactor()
            if reactor is not None:
                _start(asyncio.get_running_loop(), reactor)
        return await self.app(scope, receive, send)


def _start(loop: asyncio.AbstractEventLoop, reactor) -> None:
    stopping: list[asyncio.Task] = []

    def on_signal(signum: int) -> None:
        if stopping:
            logger.warning("%s again: stopping now", signal.Signals(signum).name)
            reactor.stop()
            return
        stopping.append(loop.create_task(stop_gracefully(signal.Signals(signum).name, reactor)))

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    loop.create_task(_close_stale_sessions_periodically())


async def stop_gracefully(reason: str, reactor) -> None:
    live.registry.shutting_down = True
    logger.warning("%s: ending %d student streams before stopping", reason, len(live.registry))
    try:
        await asyncio.wait_for(live.registry.end_all(), SHUTDOWN_TIMEOUT_S)
        await asyncio.get_running_loop().run_in_executor(None, recording.wait_for_writes, SHUTDOWN_TIMEOUT_S)
    except Exception:
        logger.exception("stopping cleanly took too long or failed; some samples may be unwritten")
    else:
        logger.warning("every stream ended and written; stopping")
    reactor.stop()


async def _close_stale_sessions_periodically() -> None:
    from sessions_app.services import close_stale_sessions

    while True:
        try:
            ended = await recording.run_in_writer(close_stale_sessions)
        except Exception:  # noqa: BLE001 - a database outage: the next round tries again
            logger.warning("could not close stale sessions; trying again in %.0f s", STALE_CHECK_EVERY_S)
        else:
            if ended:
                logger.warning("ended %d sessions left active by a stopped server", ended)
        await asyncio.sleep(STALE_CHECK_EVERY_S)
