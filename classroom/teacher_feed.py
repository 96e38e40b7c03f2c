"""What teachers are sent about their students: at most TEACHER_UPDATES_PER_S updates a second per student, the
newest always, batched per class so a class costs the channel layer a few events a second, not one per student.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .groups import teachers_group

if TYPE_CHECKING:
    from .live import StudentStream

logger = logging.getLogger("smartsession.teachers")

# Teachers get at most this many updates per second per student; the newest status always gets out.
TEACHER_UPDATES_PER_S = 4.0


class UpdateThrottle:
    """At most `per_second` sends; a send asked for too early goes out later with the newest payload."""

    def __init__(self, send: Callable[[], Awaitable[None]], per_second: float = TEACHER_UPDATES_PER_S):
        self._send = send
        self._interval = 1.0 / per_second
        self._last_sent = -1e9
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task | None = None

    async def offer(self) -> None:
        """Something changed: send now, or once the interval allows (whatever is newest then)."""
        loop = asyncio.get_running_loop()
        wait = self._last_sent + self._interval - loop.time()
        if wait <= 0 and self._timer is None:
            self._last_sent = loop.time()
            await self._send()
            return
        if self._timer is None:
            self._timer = loop.call_later(max(wait, 0.0), self._due)

    def _due(self) -> None:
        self._timer = None
        self._last_sent = asyncio.get_running_loop().time()
        self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        try:
            await self._send()
        except Exception:
            logger.exception("a delayed teacher update failed")
        finally:
            self._flushing = None


class TeacherFeed:
    """One class's student updates from this process, batched: every changed student's newest status goes out in
    one channel-layer event at most TEACHER_UPDATES_PER_S times a second, instead of one event per student.
    A group_send costs channels_redis four Redis round trips; a class of 30 then costs 4 a second, not 120."""

    def __init__(self, code: str, layer) -> None:
        self.code, self.layer = code, layer
        self._changed: dict[int, StudentStream] = {}
        self._throttle = UpdateThrottle(self._flush)

    async def changed(self, stream: StudentStream) -> None:
        self._changed[stream.student["id"]] = stream
        await self._throttle.offer()

    def forget(self, stream: StudentStream) -> None:
        """The student left (a student.left follows): nothing more of theirs goes out."""
        if self._changed.get(stream.student["id"]) is stream:
            del self._changed[stream.student["id"]]

    async def _flush(self) -> None:
        streams, self._changed = list(self._changed.values()), {}
        if streams:
            await self.layer.group_send(teachers_group(self.code), {
                "type": "students.update", "students": [stream.status_object() for stream in streams],
            })
