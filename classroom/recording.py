"""The live stream's durable record: a session per student, a metric sample every few seconds of stream.

Writes go through sessions_app.services in batches, on a thread of their own, never awaited by the frame
path: a slow or briefly unavailable database does not slow feedback. Samples wait in a bounded buffer and
are written when the database answers again. A session is one stream (with its reconnects to this process):
a recorder never continues a session some other stream left active, because its counters start again.
A crash loses at most the samples of the last FLUSH_EVERY_S.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import close_old_connections

if TYPE_CHECKING:
    from vision.tracker import Status

log = logging.getLogger("smartsession.recording")


def _session_services():
    # Imported on use: sessions_app must not be needed just to load the consumers' module.
    from sessions_app import services

    return services

# Write at least this often while a student streams: what a crash (kill -9) can lose at most.
FLUSH_EVERY_S = 5.0
# An hour of samples at one per 5 s; past that the oldest unsent samples go first.
BUFFER_LIMIT = 720
# Ending a session while the database is away is tried again this often, for as long as the buffer would last.
FINISH_RETRY_EVERY_S = FLUSH_EVERY_S
# One writer thread: the record of a class is small, and writes stay in the order they were made.
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")


def wait_for_writes(timeout: float = 30.0) -> None:
    """Block until every write handed to the writer thread so far is done (shutdown, tests)."""
    _writer.submit(lambda: None).result(timeout=timeout)


def run_in_writer(function, /, **kwargs) -> asyncio.Future:
    def call():
        close_old_connections()  # a connection the database dropped is replaced, not reused
        try:
            return function(**kwargs)
        finally:
            close_old_connections()

    return asyncio.get_running_loop().run_in_executor(_writer, call)


def _start_session(*, student_id: int, classroom_id: int, started_at: datetime, analysis: str):
    from django.contrib.auth import get_user_model

    from .models import Classroom

    student = get_user_model().objects.get(pk=student_id)
    classroom = Classroom.objects.get(pk=classroom_id)
    return _session_services().session_start(
        student=student, classroom=classroom, started_at=started_at, fresh=True, analysis=analysis
    )


def sample_seconds() -> float:
    return float(settings.SMARTSESSION_SAMPLE_SECONDS)


class SessionRecorder:
    """One student's record in one class; lives as long as the student's live state, across reconnects."""

    def __init__(self, *, student_id: int, classroom_id: int) -> None:
        self.student_id, self.classroom_id = student_id, classroom_id
        self.session_id: int | None = None
        self.dropped = 0
        self.frames = 0
        self._buffer: deque = deque()
        self._stream_origin: tuple[float, datetime] | None = None  # (stream t, wall time) of the first frame
        self._next_sample_t: float | None = None
        self._last: tuple[float, Status] | None = None
        self._flushing: asyncio.Task | None = None
        self._ticker: asyncio.Task | None = None
        self._failing = False  # the last write failed: log again only once it works
        self._sent = {"frames": False, "measurements": False}  # what the stream has sent so far
        self.erased = False
        # Lessons: a paused stretch, alerts waiting to be written, the newest sample's time, a sample due at once.
        self._paused_ticker: asyncio.Task | None = None
        self._alerts: deque = deque()
        self._recorded_until: datetime | None = None
        self._sample_now = False

    def analysed_on_device(self, measured: bool) -> None:
        """The next frame is measurements from the student's device (True) or a picture for the server (False)."""
        self._sent["measurements" if measured else "frames"] = True

    def _analysis(self) -> str:
        return _session_services().analysis_mode(**self._sent)

    def _wall_time(self, t: float) -> datetime:
        origin_t, origin_wall = self._stream_origin
        return origin_wall + timedelta(seconds=t - origin_t)

    def _sample(self, t: float, status: Status):
        return _session_services().SampleIn(
            time=self._wall_time(t),
            ear=None if status.ear is None else round(status.ear, 3),
            blinks=status.blinks,
            blink_rate_per_min=round(status.blink_rate_per_min, 1),
            engagement=status.engagement,
            state=status.state,
            perclos=round(status.perclos, 3),
            confidence=status.confidence,
            frames=self.frames,
        )

    def _keep(self, sample) -> None:
        if len(self._buffer) >= BUFFER_LIMIT:
            self._buffer.popleft()
            self.dropped += 1
            log.warning("sample buffer of student %s is full; %d oldest samples dropped", self.student_id, self.dropped)
        if self._recorded_until is not None and sample.time < self._recorded_until:
            # A client clock a little behind ours after a pause: samples stay in order.
            sample = dataclasses.replace(sample, time=self._recorded_until)
        self._buffer.append(sample)
        self._recorded_until = sample.time

    def on_status(self, t: float, status: Status) -> None:
        """Every analysed frame: cheap, no I/O. A sample is taken each time stream time passes a boundary."""
        if self.erased:
            return
        self.frames += 1
        if self._stream_origin is None:
            self._stream_origin = (t, datetime.now(timezone.utc))
            self._next_sample_t = t + sample_seconds()
            self._ticker = asyncio.ensure_future(self._flush_periodically())
        self._last = (t, status)
        if t >= self._next_sample_t or self._sample_now:
            self._sample_now = False  # the first frame after a pause ends the paused stretch exactly
            self._keep(self._sample(t, status))
            period = sample_seconds()
            self._next_sample_t += period * (math.floor((t - self._next_sample_t) / period) + 1)

    # Pauses and alerts (sessions_app.services keeps the rules: what a paused sample holds, which lesson).

    def _keep_paused_sample(self) -> None:
        blinks = self._last[1].blinks if self._last is not None else 0
        self._keep(_session_services().paused_sample(at=datetime.now(timezone.utc), blinks=blinks, frames=self.frames))

    def on_paused(self) -> None:
        """The student paused: a `paused` sample now and every sample period until they resume or leave."""
        if self.erased or self._stream_origin is None or self._paused_ticker is not None:
            return  # nothing streamed yet, so nothing to record; or already paused

        async def tick() -> None:
            while True:
                self._keep_paused_sample()
                await asyncio.sleep(sample_seconds())

        self._paused_ticker = asyncio.ensure_future(tick())

    def _end_paused_stretch(self) -> bool:
        if self._paused_ticker is None:
            return False
        self._paused_ticker.cancel()
        self._paused_ticker = None
        return True

    def on_resumed(self) -> None:
        if self._end_paused_stretch():
            self._sample_now = True

    def on_disconnected(self) -> None:
        """The socket closed: a paused stretch ends here, since nothing is known about the time after."""
        if self._end_paused_stretch():
            self._keep_paused_sample()

    def on_alert(self, *, kind: str, reason: str, at: datetime) -> None:
        """An alert the teacher was just sent: stored at once (a dashboard reloaded now shows it)."""
        if self.erased:
            return
        self._alerts.append(_session_services().AlertIn(kind=kind, reason=reason, time=at))
        asyncio.ensure_future(self.flush())

    async def _flush_periodically(self) -> None:
        # The first flush starts the session right away, so its start is when streaming began.
        while True:
            await self.flush()
            await asyncio.sleep(FLUSH_EVERY_S)

    async def flush(self) -> bool:
        """Start the session if needed and write what is buffered; on a database error keep it for next time.

        True when everything buffered is written. Flushes run one after another, each after the previous one
        finished, so no batch is written twice; a caller cancelled meanwhile does not cancel the write.
        """
        if self.erased or (self._stream_origin is None and not self._alerts):
            return True  # no frame yet: nothing to record
        previous = self._flushing

        async def write_after_previous() -> bool:
            if previous is not None:
                await asyncio.wait({previous})
            return await self._write()

        self._flushing = asyncio.ensure_future(write_after_previous())
        return await asyncio.shield(self._flushing)

    async def _write(self) -> bool:
        """True when the session exists and every buffered sample and alert is written."""
        try:
            if self.session_id is None and self._stream_origin is not None:
                session, _ = await run_in_writer(
                    _start_session,
                    student_id=self.student_id, classroom_id=self.classroom_id, started_at=self._stream_origin[1],
                    analysis=self._analysis(),
                )
                self.session_id = session.pk
            if self._buffer:
                batch = list(self._buffer)
                # The session may have ended under the stream (its lesson was ended): the id of the one now.
                self.session_id = await run_in_writer(
                    _session_services().session_record_stream, session_id=self.session_id, samples=batch
                )
                if self.session_id is None:
                    self._stop_recording()
                    return True
                for _ in batch:
                    self._buffer.popleft()
            if self._alerts:
                alerts = list(self._alerts)
                await run_in_writer(_session_services().alerts_record, student_id=self.student_id,
                                    classroom_id=self.classroom_id, session_id=self.session_id, alerts=alerts)
                for _ in alerts:
                    self._alerts.popleft()
        except Exception:  # noqa: BLE001 - any database failure: keep the samples and try again later
            if not self._failing:
                log.warning("could not write %d samples for student %s; keeping them and trying again",
                            len(self._buffer), self.student_id, exc_info=True)
            self._failing = True
            return False
        if self._failing:
            log.info("samples of student %s written again after a database failure", self.student_id)
            self._failing = False
        return True

    def _stop_recording(self) -> None:
        """The student erased their records while streaming: this stream records nothing more (its counts go back
        to its start, which is gone); the next socket of theirs starts a new recorder (StudentStream.attach)."""
        self.erased = True
        self._buffer.clear()
        self._alerts.clear()
        self._end_paused_stretch()
        if self._ticker is not None:
            self._ticker.cancel()
        log.info("student %s erased their records while streaming; this stream records no more", self.student_id)

    async def finish(self) -> None:
        """The stream is over: record where it ended, write everything, end the session with its totals.

        With the database away this keeps trying, every FINISH_RETRY_EVERY_S for as long as BUFFER_LIMIT samples
        last, so a session is never left active with its samples unwritten just because the database blinked.
        """
        if self._ticker is not None:
            self._ticker.cancel()
        if self.erased:
            return
        self.on_disconnected()
        if self._last is None:
            await self.flush()  # alerts, if any
            return
        t, status = self._last
        if self._recorded_until is None or self._wall_time(t) > self._recorded_until:
            self._keep(self._sample(t, status))
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + BUFFER_LIMIT * sample_seconds()
        while not await self._write_and_end(ended_at=max(self._wall_time(t), self._recorded_until)):
            if loop.time() >= give_up_at:
                log.error("session of student %s not ended: %d samples unwritten", self.student_id, len(self._buffer))
                return
            await asyncio.sleep(FINISH_RETRY_EVERY_S)

    async def _write_and_end(self, *, ended_at: datetime) -> bool:
        written = await self.flush()
        if self.erased:
            return True  # the student erased their records meanwhile: nothing left to end
        if not written or self.session_id is None:
            return False
        try:
            await run_in_writer(_session_services().session_end, session_id=self.session_id, ended_at=ended_at,
                                analysis=self._analysis())
        except ObjectDoesNotExist:
            return True  # erased by the student meanwhile: nothing left to end
        except Exception:  # noqa: BLE001 - any database failure: try again
            log.warning("could not end session %s yet; trying again", self.session_id, exc_info=not self._failing)
            self._failing = True
            return False
        return True
