"""The live path of a frame, apart from the socket: vision threads, latest-frame-wins, per-student state.

Consumers stay thin and call into this module. Nothing here touches the database: a student's
SessionRecorder (classroom/recording.py) writes their record on a thread of its own.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from vision.decode import FrameError, decode_frame
from vision.face import FaceAnalyzer
from vision.model import load_model_bytes
from vision.tracker import StudentTracker

from .alerts import AlertPolicy
from .recording import SessionRecorder

# A student who reconnects within this long continues their blink count, baseline and neutral pose.
RESUME_WITHIN_S = 30.0
# Teachers get at most this many updates per second per student; the newest status always gets out.
TEACHER_UPDATES_PER_S = 4.0


class BadTimestamp(ValueError):
    code = "bad_ts"


class VisionPool:
    """A thread pool for frame analysis, each thread with its own landmarker (about 24 MB each).

    MediaPipe releases the GIL, so threads run in parallel; the event loop and Channels' shared
    sync thread never run a model call.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._model = load_model_bytes()  # fails at start-up with a clear message, not on the first frame
        self._local = threading.local()
        self._analyzers: list[FaceAnalyzer] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vision")

    def _analyzer(self) -> FaceAnalyzer:
        analyzer = getattr(self._local, "analyzer", None)
        if analyzer is None:
            analyzer = self._local.analyzer = FaceAnalyzer(self._model)
            with self._lock:
                self._analyzers.append(analyzer)
        return analyzer

    def _analyze(self, data: bytes | str, t: float, tracker: StudentTracker) -> dict[str, Any]:
        started = time.perf_counter()
        rgb = decode_frame(data)
        status = tracker.update(t, self._analyzer().analyze(rgb))
        # The frame dies here: only this small dict leaves the thread.
        result = status.to_dict()
        result["processing_ms"] = round(1000 * (time.perf_counter() - started), 1)
        return result

    async def analyze(self, data: bytes | str, t: float, tracker: StudentTracker) -> dict[str, Any]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._analyze, data, t, tracker)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            for analyzer in self._analyzers:
                analyzer.close()
            self._analyzers.clear()


_pool: VisionPool | None = None
_pool_lock = threading.Lock()


def vision_pool() -> VisionPool:
    """The process's one pool, made on first use with settings.VISION_WORKERS threads."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from django.conf import settings

            _pool = VisionPool(getattr(settings, "VISION_WORKERS", None) or os.cpu_count() or 1)
        return _pool


@dataclass
class StreamClock:
    """Stream time in seconds for the tracker: the client's own `ts` (ms) when it sends one, else arrival.

    A client can only bend its own record, but time must never run backwards for the tracker.
    """

    _last_t: float | None = None
    _last_arrival: float | None = None
    _client_origin: float | None = None  # stream time minus client seconds, fixed by the first ts

    def time(self, arrived: float, client_ms: float | None) -> float:
        if client_ms is not None:
            if not isinstance(client_ms, (int, float)) or isinstance(client_ms, bool) or client_ms != client_ms:
                raise BadTimestamp("ts must be a number of milliseconds")
            if self._client_origin is None:
                self._client_origin = (self._last_t or 0.0) - client_ms / 1000.0
            t = self._client_origin + client_ms / 1000.0
            if self._last_t is not None and t < self._last_t:
                raise BadTimestamp("ts went backwards; send frames in the order they were captured")
        elif self._last_t is None:
            t = 0.0
        else:
            t = self._last_t + max(0.0, arrived - self._last_arrival)
        self._last_t, self._last_arrival = t, arrived
        return t


@dataclass
class Frame:
    number: int  # numbered by the server from 1 in order of arrival
    data: bytes | str = field(repr=False)
    t: float
    client_ts: Any = None  # echoed back as given


ResultHandler = Callable[[Frame, dict[str, Any], int], Awaitable[None]]
ErrorHandler = Callable[[Frame, FrameError], Awaitable[None]]


class LatestFrameStream:
    """One frame in flight per student; a frame that arrives while another waits replaces it.

    A server past capacity therefore answers every student with fresh frames at a lower rate
    instead of building a queue: latency stays bounded by one analysis plus one wait.
    """

    def __init__(self, pool: VisionPool, tracker: StudentTracker, on_result: ResultHandler, on_error: ErrorHandler):
        self._pool, self._tracker = pool, tracker
        self._on_result, self._on_error = on_result, on_error
        self._waiting: Frame | None = None
        self._task: asyncio.Task | None = None
        self._skipped = 0

    @property
    def busy(self) -> bool:
        return self._task is not None

    def submit(self, frame: Frame) -> None:
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

    async def _run(self, frame: Frame | None) -> None:
        try:
            while frame is not None:
                try:
                    result = await self._pool.analyze(frame.data, frame.t, self._tracker)
                except FrameError as error:
                    await self._on_error(frame, error)
                else:
                    skipped, self._skipped = self._skipped, 0
                    await self._on_result(frame, result, skipped)
                frame, self._waiting = self._waiting, None
        finally:
            self._task = None

    async def close(self) -> None:
        """Stop after the frame in flight (its tracker update still lands); the waiting one is dropped."""
        self._waiting = None
        if self._task is not None:
            task = self._task
            try:
                await asyncio.shield(task)
            except Exception:  # noqa: BLE001 - the handlers' own errors were the socket's to report
                pass


class UpdateThrottle:
    """At most `per_second` sends; a send asked for too early goes out later with the newest payload."""

    def __init__(self, send: Callable[[dict], Awaitable[None]], per_second: float = TEACHER_UPDATES_PER_S):
        self._send = send
        self._interval = 1.0 / per_second
        self._last_sent = -1e9
        self._pending: dict | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def offer(self, payload: dict) -> None:
        loop = asyncio.get_running_loop()
        wait = self._last_sent + self._interval - loop.time()
        if wait <= 0 and self._timer is None:
            self._last_sent = loop.time()
            await self._send(payload)
            return
        self._pending = payload
        if self._timer is None:
            self._timer = loop.call_later(max(wait, 0.0), lambda: asyncio.ensure_future(self._flush()))

    async def _flush(self) -> None:
        self._timer = None
        payload, self._pending = self._pending, None
        if payload is not None:
            self._last_sent = asyncio.get_running_loop().time()
            await self._send(payload)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending = None


@dataclass
class StudentLive:
    """What survives a reconnect within RESUME_WITHIN_S: the tracker, the clock and the alert memory."""

    tracker: StudentTracker
    recorder: SessionRecorder
    clock: StreamClock = field(default_factory=StreamClock)
    alerts: AlertPolicy = field(default_factory=AlertPolicy)
    latest: dict[str, Any] | None = None
    latest_at: float | None = None  # event-loop time of `latest`
    paused: bool = False
    connections: int = 0
    ending: asyncio.Task | None = None


class LiveRegistry:
    """Per-process memory of the students streaming here, keyed by (classroom id, student id).

    A student's state outlives their socket by RESUME_WITHIN_S; then their session ends with its totals.
    """

    def __init__(self) -> None:
        self._students: dict[tuple[int, int], StudentLive] = {}

    def attach(self, key: tuple[int, int], *, expressions: bool, attention_rules: bool) -> StudentLive:
        live = self._students.get(key)
        if live is not None and live.ending is not None:
            live.ending.cancel()
            live.ending = None
        if live is None or (live.tracker.expressions, live.tracker.attention_rules) != (expressions, attention_rules):
            live = StudentLive(
                tracker=StudentTracker(expressions=expressions, attention_rules=attention_rules),
                recorder=SessionRecorder(classroom_id=key[0], student_id=key[1]),
            )
            self._students[key] = live
        live.connections += 1
        return live

    def detach(self, key: tuple[int, int]) -> None:
        live = self._students.get(key)
        if live is None:
            return
        live.connections -= 1
        if live.connections <= 0:
            # A new socket starts unpaused (the page says "pause" again if it is), and a paused stretch ends here.
            live.paused = False
            live.recorder.on_disconnected()
            # Write what the socket streamed now; the session itself ends after the grace period.
            asyncio.ensure_future(live.recorder.flush())
            live.ending = asyncio.ensure_future(self._end_later(key, live))

    async def _end_later(self, key: tuple[int, int], live: StudentLive) -> None:
        await asyncio.sleep(RESUME_WITHIN_S)
        if self._students.get(key) is live and live.connections <= 0:
            del self._students[key]
            await live.recorder.finish()

    async def end_all(self) -> None:
        """At shutdown (and in tests): end every session now instead of after the grace period."""
        for key, live in list(self._students.items()):
            if live.ending is not None:
                live.ending.cancel()
            del self._students[key]
            await live.recorder.finish()

    def __len__(self) -> int:
        return len(self._students)


registry = LiveRegistry()
