"""The live path of a frame, apart from the socket: vision threads, latest-frame-wins, per-student streams.

Consumers stay thin and call into this module. Nothing here touches the database: a student's
SessionRecorder (classroom/recording.py) writes their record on a thread of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from vision.decode import MIN_FACE_FRAME_SIDE, FrameError, decode_frame
from vision.face import FaceAnalyzer
from vision.measurements import is_measurement, measurement_time, read_measurement
from vision.model import load_model_bytes
from vision.tracker import Status, StudentTracker

from .alerts import Alert, AlertPolicy
from .groups import teachers_group
from .recording import SessionRecorder

logger = logging.getLogger("smartsession.frames")

# Teachers get at most this many updates per second per student; the newest status always gets out.
TEACHER_UPDATES_PER_S = 4.0
# How often a stream checks that its camera still sends.
CAMERA_CHECK_EVERY_S = 1.0
# The pool's load is judged over this long: long enough to smooth a burst, short enough to follow a class joining.
LOAD_WINDOW_S = 3.0
# A fair share never tells a page to send less often than this: a student must still be seen.
MIN_FAIR_FPS = 1.0
# A flood of bad frames is logged as a count at most this often per student, never one line per frame.
FRAME_ERROR_LOG_EVERY_S = 60.0


def resume_within_s() -> float:
    """A student who reconnects within this long continues their blink count, baseline, neutral pose and session
    (settings.SMARTSESSION_RESUME_SECONDS)."""
    from django.conf import settings

    return float(settings.SMARTSESSION_RESUME_SECONDS)


class BadTimestamp(FrameError):
    code = "bad_ts"


class ServerError(FrameError):
    """Our own failure on a frame: the student still gets an answer, and the log gets the traceback."""

    code = "server_error"


class PoolLoad:
    """What the vision pool served over the last LOAD_WINDOW_S, seen from the event loop: when frames wait in its
    queue longer than they take to analyse, it is saturated, and each student's fair share is an equal part of
    what it serves. Feedback then carries that share (fair_fps) and the pages send no faster, so nobody's
    frames are skipped at the server and nobody can take more by sending faster."""

    def __init__(self) -> None:
        self._served: deque[tuple[float, int, float, float]] = deque()  # (finished, student, waited, took)
        # Kept as the window moves, so fair_fps costs nothing per frame: sums and each student's frame count.
        self._waited = self._took = 0.0
        self._students: Counter[int] = Counter()

    def record(self, finished: float, student: int, *, waited_s: float, took_s: float) -> None:
        self._served.append((finished, student, waited_s, took_s))
        self._waited += waited_s
        self._took += took_s
        self._students[student] += 1
        while self._served[0][0] < finished - LOAD_WINDOW_S:
            _, old_student, old_waited, old_took = self._served.popleft()
            self._waited -= old_waited
            self._took -= old_took
            self._students[old_student] -= 1
            if not self._students[old_student]:
                del self._students[old_student]

    def fair_fps(self) -> float | None:
        """Frames a second each student can have now, or None while the pool keeps up with everyone."""
        if len(self._served) < 2 or self._waited <= self._took:
            return None
        span = self._served[-1][0] - self._served[0][0]
        if span <= 0:
            return None
        return max(MIN_FAIR_FPS, round(len(self._served) / span / len(self._students), 1))


class VisionPool:
    """A thread pool for frame analysis, each thread with its own landmarker (about 24 MB each).

    MediaPipe releases the GIL, so threads run in parallel; the event loop and Channels' shared
    sync thread never run a model call. Each student has at most one frame in the pool's queue
    (LatestFrameStream), so the first-in-first-out queue serves students in turn: a client that sends
    faster than its answers come back gets no more of the pool than one that waits.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._model = load_model_bytes()  # fails at start-up with a clear message, not on the first frame
        self._local = threading.local()
        self._analyzers: list[FaceAnalyzer] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vision")
        self.load = PoolLoad()

    def _analyzer(self) -> FaceAnalyzer:
        analyzer = getattr(self._local, "analyzer", None)
        if analyzer is None:
            analyzer = self._local.analyzer = FaceAnalyzer(self._model)
            with self._lock:
                self._analyzers.append(analyzer)
        return analyzer

    def _analyze(self, data: bytes | str, t: float, tracker: StudentTracker) -> tuple[Status, float, float]:
        started = time.perf_counter()
        if isinstance(data, str) or not is_measurement(data):
            rgb = decode_frame(data, min_side=MIN_FACE_FRAME_SIDE)
            # The frame dies here: only the small typed status leaves the thread.
            analysis = self._analyzer().analyze(rgb)
        else:
            _, analysis = read_measurement(data)  # the student's device ran the model: no picture at all
        status = tracker.update(t, analysis)
        return status, started, time.perf_counter()

    async def analyze(self, data: bytes | str, t: float, tracker: StudentTracker) -> tuple[Status, float]:
        """The tracker's status after this frame, and the milliseconds spent on it."""
        if isinstance(data, bytes) and is_measurement(data):
            # A device's measurements cost about 0.2 ms of NumPy with the GIL held: less on the event loop than
            # the hop to a vision thread and back, and no model call waits behind them.
            status, started, finished = self._analyze(data, t, tracker)
            return status, 1000 * (finished - started)
        submitted = time.perf_counter()
        status, started, finished = await asyncio.get_running_loop().run_in_executor(
            self._executor, self._analyze, data, t, tracker
        )
        self.load.record(finished, id(tracker), waited_s=started - submitted, took_s=finished - started)
        return status, 1000 * (finished - started)

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

    A client can only bend its own record, but time must never run backwards for the tracker. A new
    connection may come from a reloaded page whose clock starts again, so its first `ts` is anchored anew.
    """

    _last_t: float | None = None
    _last_arrival: float | None = None
    _client_origin: float | None = None  # stream time minus client seconds, fixed by the connection's first ts

    def new_connection(self) -> None:
        self._client_origin = None

    def time(self, arrived: float, client_ms: float | None) -> float:
        if client_ms is not None:
            if not isinstance(client_ms, (int, float)) or isinstance(client_ms, bool) or client_ms != client_ms \
                    or abs(client_ms) == float("inf"):
                raise BadTimestamp("ts must be a number of milliseconds")
            if self._client_origin is None:
                gap = 0.0 if self._last_arrival is None else max(0.0, arrived - self._last_arrival)
                self._client_origin = (0.0 if self._last_t is None else self._last_t + gap) - client_ms / 1000.0
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
    number: int  # numbered by the server from 1 in order of arrival on its socket
    data: bytes | str = field(repr=False)
    t: float
    client_ts: Any = None  # echoed back as given
    socket: Any = field(default=None, repr=False, compare=False)  # where the answer goes


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

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


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


class FrameErrorTally:
    """Counts a student's frame errors by code and logs them as counts: the first at once, then a summary at
    most every FRAME_ERROR_LOG_EVERY_S, so a client sending garbage cannot flood the log."""

    def __init__(self, student_id: int) -> None:
        self._student_id = student_id
        self._unlogged: Counter[str] = Counter()
        self._logged_at: float | None = None

    def count(self, code: str, now: float) -> None:
        self._unlogged[code] += 1
        if self._logged_at is None or now - self._logged_at >= FRAME_ERROR_LOG_EVERY_S:
            self.log(now)

    def log(self, now: float) -> None:
        if self._unlogged:
            counts = ", ".join(f"{code} {count}" for code, count in sorted(self._unlogged.items()))
            logger.warning("frame errors from student %s: %s", self._student_id, counts,
                           extra={"event": "frames.errors", "student_id": self._student_id,
                                  "errors": dict(self._unlogged)})
            self._unlogged.clear()
            self._logged_at = now


class BadMessage(FrameError):
    code = "bad_message"


class WrongInput(FrameError):
    """A frame in a class that analyses on the devices only, or a measurement in one that analyses frames."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# Where a stream's faces were analysed, as sessions record it (sessions_app.models.Session.Analysis).
SERVER, DEVICE = "server", "device"


@dataclass(frozen=True)
class StudentMessage:
    """A student's text message, read: a frame (base64 or a data URL, with the client's ts), pause or resume."""

    kind: str
    image: str | None = None
    ts: Any = None


def parse_student_text(text: str) -> StudentMessage:
    """docs/protocol.md, "Student -> server"; BadMessage saying what is wrong with anything else."""
    try:
        message = json.loads(text)
    except ValueError:
        raise BadMessage("Messages must be JSON objects or binary frames.") from None
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "frame":
        image = message.get("image")
        if not isinstance(image, str):
            raise BadMessage("A frame message needs an \"image\": base64 or a data URL.")
        return StudentMessage("frame", image=image, ts=message.get("ts"))
    if kind in ("pause", "resume"):
        return StudentMessage(kind)
    if not isinstance(message, dict):
        raise BadMessage("Messages must be JSON objects or binary frames.")
    raise BadMessage("Unknown message type; expected frame, pause or resume.")


class StudentSocket(Protocol):
    """What a StudentStream needs of the socket it is attached to (classroom.consumers.StudentConsumer)."""

    async def send_text(self, text: str) -> None: ...

    async def replaced(self) -> None: ...

    async def restart(self) -> None: ...


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


class StudentStream:
    """One student streaming to one class on this process: tracker, clock, alerts, recorder, pause, camera
    watch and teacher updates. It outlives its socket by resume_within_s(), so a reconnect continues it; a
    newer socket of the same student takes it over from an older one."""

    def __init__(self, *, key: tuple[int, int], code: str, student: dict[str, Any], expressions: bool,
                 attention_rules: bool, layer, feed: TeacherFeed, on_device: bool = False,
                 frame_fallback: bool = True) -> None:
        self.key, self.code, self.student, self.layer, self.feed = key, code, student, layer, feed
        self.tracker = StudentTracker(expressions=expressions, attention_rules=attention_rules)
        self.on_device, self.frame_fallback = on_device, frame_fallback
        self.clock = StreamClock()
        self.alerts = AlertPolicy()
        self.recorder = SessionRecorder(classroom_id=key[0], student_id=key[1])
        self.frame_errors = FrameErrorTally(student_id=key[1])
        self.socket: StudentSocket | None = None
        self.paused = False
        self.latest: dict[str, Any] | None = None  # the newest feedback, as sent
        self.latest_at: float | None = None  # event-loop time of `latest`
        self.last_frame_at = 0.0
        self._frames_received = 0  # on the current socket
        self._pool = vision_pool()
        self._frames = LatestFrameStream(self._pool, self.tracker, self._on_result, self._on_frame_error)
        self._camera_watch: asyncio.Task | None = None
        self.ending: asyncio.Task | None = None

    # The socket.

    def attach(self, socket: StudentSocket) -> StudentSocket | None:
        """`socket` now gets this stream's answers; returns the socket it took over from, if any."""
        previous, self.socket = self.socket, socket
        if self.recorder.erased:  # the student erased their records meanwhile: a new record from here
            self.recorder = SessionRecorder(classroom_id=self.key[0], student_id=self.key[1])
        if self.ending is not None:
            self.ending.cancel()
            self.ending = None
        self._frames_received = 0
        self.clock.new_connection()
        self._frames.drop_waiting()
        self._frames.take_skipped()  # the older socket's frames: nobody to report them to
        self.last_frame_at = asyncio.get_running_loop().time()
        if self._camera_watch is None:
            self._camera_watch = asyncio.ensure_future(self._watch_camera())
        return previous if previous is not socket else None

    def detach(self, socket: StudentSocket) -> bool:
        """The socket closed; True when it was this stream's current one (the student has gone)."""
        if self.socket is not socket:
            return False
        self.socket = None
        self._frames.drop_waiting()
        self._stop_watching()
        # A new socket starts unpaused (the page says "pause" again if it is), and a paused stretch ends here.
        self.paused = False
        self.recorder.on_disconnected()
        # Write what the socket streamed now; the session itself ends after the grace period.
        asyncio.ensure_future(self.recorder.flush())
        return True

    def _stop_watching(self) -> None:
        if self._camera_watch is not None:
            self._camera_watch.cancel()
            self._camera_watch = None
        self.feed.forget(self)

    # What the student sends.

    async def frame(self, socket: StudentSocket, data: bytes | str, client_ts: Any = None) -> None:
        """A picture to analyse, or (binary, vision.measurements) what the student's device measured in one."""
        measured = isinstance(data, bytes) and is_measurement(data)
        if measured:
            client_ts = measurement_time(data)
        loop = asyncio.get_running_loop()
        self._frames_received += 1
        number = self._frames_received
        self.last_frame_at = loop.time()
        if self.paused:
            await self.set_paused(False)  # sending a frame is resuming
        refused = self._refused_input(measured)
        try:
            if refused is not None:
                raise refused
            t = self.clock.time(loop.time(), client_ts)
        except FrameError as error:
            await self._on_frame_error(Frame(number, b"", 0.0, client_ts, socket), error)
            return
        self.recorder.analysed_on(DEVICE if measured else SERVER)
        self._frames.submit(Frame(number=number, data=data, t=t, client_ts=client_ts, socket=socket))

    def _refused_input(self, measured: bool) -> FrameError | None:
        """What the class's analysis setting does not take (docs/protocol.md, "On-device measurements")."""
        if measured and not self.on_device:
            return WrongInput("measurements_off", "This class analyses camera frames on the server; send frames.")
        if not measured and self.on_device and not self.frame_fallback:
            return WrongInput("frames_off", "This class analyses faces on the student's device only; frames are "
                                            "not accepted.")
        return None

    async def set_paused(self, paused: bool) -> None:
        if self.paused == paused:
            return
        self.paused = paused
        if paused:
            self._frames.drop_waiting()
            self.recorder.on_paused()
        else:
            self.recorder.on_resumed()
        self.last_frame_at = asyncio.get_running_loop().time()
        await self._to_socket({"type": "paused" if paused else "resumed"})
        await self.feed.changed(self)

    async def bad_message(self, message: str) -> None:
        self.frame_errors.count("bad_message", asyncio.get_running_loop().time())
        await self._to_socket({"type": "error", "code": "bad_message", "message": message, "frame": None})

    # Settings changed on the pages while streaming.

    def apply_settings(self, *, expressions: bool | None = None, attention_rules: bool | None = None,
                       on_device: bool | None = None, frame_fallback: bool | None = None) -> None:
        if expressions is not None:
            self.tracker.expressions = expressions
        if attention_rules is not None:
            self.tracker.attention_rules = attention_rules
        if on_device is not None:
            self.on_device = on_device
        if frame_fallback is not None:
            self.frame_fallback = frame_fallback

    # Answers.

    async def _on_result(self, frame: Frame, status: Status, processing_ms: float) -> None:
        current = frame.socket is self.socket  # a socket taken over meanwhile gets no answers
        feedback = {"type": "feedback", "frame": frame.number, "ts": frame.client_ts, **status.to_dict(),
                    "skipped": self._frames.take_skipped() if current else 0,
                    "processing_ms": round(processing_ms, 1), "fair_fps": self._pool.load.fair_fps()}
        loop = asyncio.get_running_loop()
        self.latest, self.latest_at = feedback, loop.time()
        if current:
            await self._to_socket(feedback)
        self.recorder.on_status(frame.t, status)
        await self.feed.changed(self)
        for alert in self.alerts.on_status(loop.time(), status.state, status.face):
            await self._send_alert(alert)

    async def _on_frame_error(self, frame: Frame, error: FrameError) -> None:
        self.frame_errors.count(error.code, asyncio.get_running_loop().time())
        if frame.socket is self.socket:
            await self._to_socket({"type": "error", "code": error.code, "message": str(error), "frame": frame.number})

    async def _to_socket(self, payload: dict[str, Any]) -> None:
        if self.socket is not None:
            await self.socket.send_text(dumps(payload))

    # Teachers.

    def status_object(self) -> dict[str, Any]:
        """What a teacher sees of this student now (docs/protocol.md, "Server -> teacher")."""
        latest = self.latest or {}
        fields = {key: value for key, value in latest.items() if key not in ("type", "ts")}
        # An age rather than a time: a teacher's browser clock need not agree with the server's.
        age = None if self.latest_at is None else asyncio.get_running_loop().time() - self.latest_at
        return {
            **fields,
            **self.student,
            "paused": self.paused,
            "attention_rules": self.tracker.attention_rules,
            "feedback_age_s": None if age is None else round(age, 1),
            "last_seen": now_iso(),
        }

    async def to_teachers(self, event_type: str, body: dict[str, Any]) -> None:
        await self.layer.group_send(teachers_group(self.code), {"type": event_type, **body})

    async def _send_alert(self, alert: Alert) -> None:
        at = datetime.now(timezone.utc)
        self.recorder.on_alert(kind=alert.kind, reason=alert.reason, at=at)  # stored: a reloaded dashboard shows it
        await self.to_teachers("alert", {"student": self.student, **alert.to_dict(),
                                         "time": at.isoformat(timespec="seconds")})

    async def _watch_camera(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CAMERA_CHECK_EVERY_S)
            silent_for = loop.time() - self.last_frame_at
            if not self.paused and not self._frames.busy:
                for alert in self.alerts.on_silence(loop.time(), silent_for):
                    await self._send_alert(alert)

    # The end.

    async def stop_frames(self) -> None:
        """Take no more frames; the one in flight is analysed, recorded and answered first."""
        await self._frames.close()

    async def end(self) -> None:
        """The stream is over: the frame in flight lands, then the session ends with its totals."""
        self._stop_watching()
        await self._frames.close()
        self.frame_errors.log(asyncio.get_running_loop().time())
        await self.recorder.finish()


class LiveRegistry:
    """Per-process memory of the students streaming here, keyed by (classroom id, student id).

    A student's stream outlives their socket by resume_within_s(); then their session ends with its totals.
    At shutdown every stream ends at once (end_all), so no sample is lost to a deploy.
    """

    def __init__(self) -> None:
        self._streams: dict[tuple[int, int], StudentStream] = {}
        self._feeds: dict[str, TeacherFeed] = {}  # by class code
        self._ending: set[asyncio.Task] = set()
        self.teachers: set = set()  # open teacher sockets (classroom.consumers.TeacherConsumer), for shutdown
        self.shutting_down = False

    def attach(self, socket: StudentSocket, *, key: tuple[int, int], code: str, student: dict[str, Any],
               layer, **settings: bool) -> tuple[StudentStream, StudentSocket | None]:
        """The student's stream, new or continued, now answering `socket`; and the older socket it replaced.

        `settings`: expressions, attention_rules, on_device, frame_fallback (StudentStream.apply_settings).
        """
        stream = self._streams.get(key)
        if stream is None:
            feed = self._feeds.get(code)
            if feed is None:
                feed = self._feeds[code] = TeacherFeed(code, layer)
            feed.layer = layer
            stream = StudentStream(key=key, code=code, student=student, layer=layer, feed=feed, **settings)
            self._streams[key] = stream
        else:
            # Read afresh at connect: a setting changed while the student was away applies now.
            stream.apply_settings(**settings)
            stream.layer = layer
        return stream, stream.attach(socket)

    def detach(self, socket: StudentSocket, key: tuple[int, int]) -> bool:
        """True when `socket` was the student's current socket, so the student has left."""
        stream = self._streams.get(key)
        if stream is None or not stream.detach(socket):
            return False
        stream.ending = asyncio.ensure_future(self._end_later(key, stream))
        return True

    async def _end_later(self, key: tuple[int, int], stream: StudentStream) -> None:
        await asyncio.sleep(resume_within_s())
        if self._streams.get(key) is stream and stream.socket is None:
            del self._streams[key]
            await self._end(stream)

    async def _end(self, stream: StudentStream) -> None:
        task = asyncio.current_task()
        self._ending.add(task)
        try:
            await stream.end()
        finally:
            self._ending.discard(task)

    async def end_all(self) -> None:
        """At shutdown (and in tests): close every student socket so pages reconnect elsewhere, and end every
        session now, with everything written, instead of after the grace period."""
        streams = list(self._streams.values())
        self._streams.clear()
        for stream in streams:
            if stream.ending is not None:
                stream.ending.cancel()
        # Frames in flight are answered before the sockets close, so what a student saw is what is recorded.
        await asyncio.gather(*(stream.stop_frames() for stream in streams), return_exceptions=True)
        for stream in streams:
            if stream.socket is not None:
                await stream.socket.restart()
        for teacher in list(self.teachers):
            await teacher.restart()
        endings = [asyncio.ensure_future(self._end(stream)) for stream in streams]
        await asyncio.gather(*endings, *self._ending, return_exceptions=True)

    def streams(self) -> list[StudentStream]:
        return list(self._streams.values())

    def __len__(self) -> int:
        return len(self._streams)


registry = LiveRegistry()
