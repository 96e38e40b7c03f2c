"""The vision threads: every frame's model call runs here, never on the event loop or Channels' sync thread.

One MediaPipe landmarker per thread (about 24 MB each); MediaPipe releases the GIL, so the threads run in
parallel. PoolLoad watches how busy the pool is and works out each student's fair share when it is saturated.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor

from vision.decode import MIN_FACE_FRAME_SIDE, decode_frame
from vision.face import FaceAnalyzer
from vision.measurements import is_measurement, read_measurement
from vision.model import load_model_bytes
from vision.tracker import Status, StudentTracker

# The pool's load is judged over this long: long enough to smooth a burst, short enough to follow a class joining.
LOAD_WINDOW_S = 3.0
# A fair share never tells a page to send less often than this: a student must still be seen.
MIN_FAIR_FPS = 1.0


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
