"""What a student sends, and how it waits for the vision threads: the stream clock, one frame in flight with
the newest one waiting, and the student's text messages read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from vision.decode import FrameError
from vision.measurements import is_measurement
from vision.tracker import Status, StudentTracker

from .vision_pool import VisionPool

logger = logging.getLogger("smartsession.frames")


class BadTimestamp(FrameError):
    code = "bad_ts"


class ServerError(FrameError):
    """Our own failure on a frame: the student still gets an answer, and the log gets the traceback."""

    code = "server_error"


# A client's capture times may run ahead of the time its socket has seen pass by no more than this: far more than
# a page's jitter (or a recorded clip replayed faster than it was filmed, as the tests do), and a forged clock can
# date its records at most this far into the future.
MAX_CLIENT_LEAD_S = 60.0
# Capture times closer than this (over 100 a second) are refused: no camera or page sends so fast, and a client
# repeating one capture time would otherwise grow the tracker's windows (which are measured in stream time)
# without bound, on the event loop that measurements are read on.
MIN_CLIENT_INTERVAL_S = 0.008


@dataclass
class StreamClock:
    """Stream time in seconds for the tracker: the client's own `ts` (ms) when it sends one, else arrival.

    A client can only bend its own record, but time must never run backwards for the tracker, nor run ahead of
    the connection's own time by more than MAX_CLIENT_LEAD_S. A new connection may come from a reloaded page
    whose clock starts again, so its first `ts` is anchored anew.
    """

    _last_t: float | None = None
    _last_arrival: float | None = None
    # Fixed by the connection's first ts: (stream time minus client seconds, that frame's stream time and arrival).
    _client_origin: float | None = None
    _anchor: tuple[float, float] | None = None

    def new_connection(self) -> None:
        self._client_origin = self._anchor = None

    def time(self, arrived: float, client_ms: float | None) -> float:
        if client_ms is not None:
            if not isinstance(client_ms, (int, float)) or isinstance(client_ms, bool) or client_ms != client_ms \
                    or abs(client_ms) == float("inf"):
                raise BadTimestamp("ts must be a number of milliseconds")
            anchoring = self._client_origin is None  # this connection's first ts: it follows the last by arrival
            if anchoring:
                gap = 0.0 if self._last_arrival is None else max(0.0, arrived - self._last_arrival)
                anchor_t = 0.0 if self._last_t is None else self._last_t + gap
                self._client_origin, self._anchor = anchor_t - client_ms / 1000.0, (anchor_t, arrived)
            t = self._client_origin + client_ms / 1000.0
            if self._last_t is not None and t < self._last_t:
                raise BadTimestamp("ts went backwards; send frames in the order they were captured")
            if self._last_t is not None and not anchoring and t - self._last_t < MIN_CLIENT_INTERVAL_S:
                raise BadTimestamp("ts is less than 8 ms after the last one; send each capture time once, at most "
                                   "100 frames a second")
            anchor_t, anchor_arrival = self._anchor
            if t - anchor_t > arrived - anchor_arrival + MAX_CLIENT_LEAD_S:
                raise BadTimestamp("ts runs ahead of the time that has passed; send the capture time in milliseconds")
        elif self._last_t is None:
            t = 0.0
        else:
            t = self._last_t + max(0.0, arrived - self._last_arrival)
        self._last_t, self._last_arrival = t, arrived
        return t


@dataclass
class Frame:
    number: int  # numbered by the server from 1 in order of arrival on its socket
    data: bytes | str = field(repr=False)
    t: float
    client_ts: Any = None  # echoed back as given
    socket: Any = field(default=None, repr=False, compare=False)  # where the answer goes

    @property
    def measured(self) -> bool:
        """What the student's device measured (vision.measurements), not a picture."""
        return isinstance(self.data, bytes) and is_measurement(self.data)


ResultHandler = Callable[[Frame, Status, float], Awaitable[None]]
ErrorHandler = Callable[[Frame, FrameError], Awaitable[None]]


class LatestFrameStream:
    """One frame in flight per student; a frame that arrives while another waits replaces it.

    A server past capacity therefore answers every student with fresh frames at a lower rate
    instead of building a queue: latency stays bounded by one analysis plus one wait. Every analysed
    frame gets a result or an error, even when our own code fails on it.
    """

    def __init__(self, pool: VisionPool, tracker: StudentTracker, on_result: ResultHandler, on_error: ErrorHandler):
        self._pool, self._tracker = pool, tracker
        self._on_result, self._on_error = on_result, on_error
        self._waiting: Frame | None = None
        self._task: asyncio.Task | None = None
        self._skipped = 0
        self._closed = False

    @property
    def busy(self) -> bool:
        return self._task is not None

    def submit(self, frame: Frame) -> None:
        if self._closed:
            return
        if self._task is None:
            self._task = asyncio.ensure_future(self._run(frame))
            return
        if self._waiting is not None:
            self._skipped += 1
        self._waiting = frame

    def drop_waiting(self) -> None:
        if self._waiting is not None:
            self._skipped += 1
            self._waiting = None

    def take_skipped(self) -> int:
        """Frames replaced by newer ones (or dropped) since the last call: what the next feedback reports."""
        skipped, self._skipped = self._skipped, 0
        return skipped

    async def _run(self, frame: Frame | None) -> None:
        try:
            while frame is not None:
                try:
                    status, processing_ms = await self._pool.analyze(frame.data, frame.t, self._tracker)
                except FrameError as error:
                    await self._answer(self._on_error(frame, error))
                except Exception:
                    logger.exception("analysing frame %d failed", frame.number)
                    failure = ServerError("The server could not analyse this frame; the error has been logged.")
                    await self._answer(self._on_error(frame, failure))
                else:
                    await self._answer(self._on_result(frame, status, processing_ms))
                frame, self._waiting = self._waiting, None
        finally:
            self._task = None

    @staticmethod
    async def _answer(handler: Awaitable[None]) -> None:
        # A socket that closed meanwhile, or a teacher event that failed, must not stop the next frame.
        try:
            await handler
        except Exception:
            logger.exception("answering a frame failed")

    async def close(self) -> None:
        """Take no more frames; the one in flight still lands and is answered, the waiting one is dropped."""
        self._closed = True
        self._waiting = None
        if self._task is not None:
            await asyncio.shield(self._task)


class BadMessage(FrameError):
    code = "bad_message"


class WrongInput(FrameError):
    """A frame in a class that analyses on the devices only, or a measurement in one that analyses frames."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StudentMessage:
    """A student's text message, read: a frame (base64 or a data URL, with the client's ts), pause, resume or ping."""

    kind: str
    image: str | None = None
    ts: Any = None


def _json_and_type(text: str, not_json: str) -> tuple[Any, Any]:
    """The message and its "type" (None unless it is an object); BadMessage(not_json) when it is not JSON."""
    try:
        message = json.loads(text)
    except ValueError:
        raise BadMessage(not_json) from None
    return message, message.get("type") if isinstance(message, dict) else None


def parse_student_text(text: str) -> StudentMessage:
    """docs/protocol.md, "Student -> server"; BadMessage saying what is wrong with anything else."""
    message, kind = _json_and_type(text, "Messages must be JSON objects or binary frames.")
    if kind == "frame":
        image = message.get("image")
        if not isinstance(image, str):
            raise BadMessage("A frame message needs an \"image\": base64 or a data URL.")
        return StudentMessage("frame", image=image, ts=message.get("ts"))
    if kind in ("pause", "resume", "ping"):
        return StudentMessage(kind)
    if not isinstance(message, dict):
        raise BadMessage("Messages must be JSON objects or binary frames.")
    raise BadMessage("Unknown message type; expected frame, pause, resume or ping.")


def parse_teacher_text(text: str) -> str:
    """docs/protocol.md, "Teacher -> server": the only message is a ping; BadMessage for anything else."""
    _, kind = _json_and_type(text, "A teacher's socket takes only JSON: {\"type\": \"ping\"}.")
    if kind == "ping":
        return kind
    raise BadMessage("A teacher's socket takes only {\"type\": \"ping\"}.")
