"""A student's live stream on this server process, apart from the socket, and the registry of them.

Consumers stay thin and call into this module; the pieces it puts together are in frames.py (the clock, one frame
in flight), vision_pool.py (the vision threads) and teacher_feed.py (what teachers are sent). Nothing here touches
the database: a student's SessionRecorder (classroom/recording.py) writes their record on a thread of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Protocol

from vision.decode import FrameError
from vision.measurements import is_measurement, measurement_time
from vision.tracker import Status, StudentTracker

from .alerts import Alert, AlertPolicy
from .frames import Frame, LatestFrameStream, StreamClock, WrongInput
from .groups import teachers_group
from .recording import SessionRecorder
from .teacher_feed import TeacherFeed
from .vision_pool import vision_pool

logger = logging.getLogger("smartsession.frames")

# How often a stream checks that its camera still sends.
CAMERA_CHECK_EVERY_S = 1.0
# A flood of bad frames is logged as a count at most this often per student, never one line per frame.
FRAME_ERROR_LOG_EVERY_S = 60.0


def resume_within_s() -> float:
    """A student who reconnects within this long continues their blink count, baseline, neutral pose and session
    (settings.SMARTSESSION_RESUME_SECONDS)."""
    from django.conf import settings

    return float(settings.SMARTSESSION_RESUME_SECONDS)


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
        self.alerts.restart()
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
        self.recorder.analysed_on_device(measured)
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
            # Still answered: a page that reconnected while paused sends pause again, and one whose answer never
            # comes takes its socket for dead (docs/protocol.md, 4408).
            await self._to_socket({"type": "paused" if paused else "resumed"})
            return
        self.paused = paused
        self.alerts.restart()
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
                    "processing_ms": round(processing_ms, 1),
                    # Measurements never wait for the vision threads, so the threads' share is not theirs to follow.
                    "fair_fps": None if frame.measured else self._pool.load.fair_fps()}
        loop = asyncio.get_running_loop()
        self.latest, self.latest_at = feedback, loop.time()
        if current:
            await self._to_socket(feedback)
        self.recorder.on_status(frame.t, status)
        if self.socket is None:
            return  # answered after the student left: recorded, but the teachers were told they left
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
            # Before this socket's first frame the page is still starting (the camera's permission, or an
            # on-device model of some 17 MB downloading): silence then is not a camera that stopped.
            if not self.paused and not self._frames.busy and self._frames_received:
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
            if not any(other.code == stream.code for other in self._streams.values()):
                self._feeds.pop(stream.code, None)  # the class's last stream here: its feed goes with it
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
        # One socket that fails to close must not keep the others open or their sessions unwritten.
        closing = [stream.socket.restart() for stream in streams if stream.socket is not None]
        await asyncio.gather(*closing, *(teacher.restart() for teacher in list(self.teachers)),
                             return_exceptions=True)
        endings = [asyncio.ensure_future(self._end(stream)) for stream in streams]
        await asyncio.gather(*endings, *self._ending, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._streams)


registry = LiveRegistry()
