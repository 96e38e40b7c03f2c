"""The vision threads: every frame's model call runs here, never on the event loop or Channels' sync thread.

One MediaPipe landmarker per thread (about 24 MB each); MediaPipe releases the GIL, so the threads run in
parallel. PoolLoad watches how busy the threads are and works out each student's fair share when they are saturated.
"""

from __future__ import annotations

import asyncio
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
# The pool counts as saturated when its threads were busy this share of the window.
SATURATED_BUSY_SHARE = 0.9
# A fair share never tells a page to send less often than this: a student must still be seen.
MIN_FAIR_FPS = 1.0


class PoolLoad:
    """How busy the vision threads were over the last LOAD_WINDOW_S, seen from the event loop. When they were busy
    nearly all the time, each student's fair share is an equal part of what the threads can analyse (threads over
    the mean time per frame). Feedback then carries that share (fair_fps) and the pages send no faster, so nobody's
    frames are skipped at the server and nobody can take more by sending faster.

    The share comes from the threads' capacity, never from the frames served: pages that follow a share send
    fewer frames, and a share taken from those would fall round after round until the pool idled."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._served: deque[tuple[float, int, float]] = deque()  # (finished, student, took)
        # Kept as the window moves, so fair_fps costs nothing per frame: the time taken and each student's frames.
        self._took = 0.0
        self._students: Counter[int] = Counter()

    def record(self, finished: float, student: int, *, took_s: float) -> None:
        self._served.append((finished, student, took_s))
        self._took += took_s
        self._students[student] += 1
        self._forget_before(finished - LOAD_WINDOW_S)

    def _forget_before(self, moment: float) -> None:
        while self._served and self._served[0][0] < moment:
            _, old_student, old_took = self._served.popleft()
            self._took -= old_took
            self._students[old_student] -= 1
            if not self._students[old_student]:
                del self._students[old_student]

    def fair_fps(self, now: float | None = None) -> float | None:
        """Frames a second each student can have now, or None while the pool keeps up with everyone."""
        now = time.perf_counter() if now is None else now
        self._forget_before(now - LOAD_WINDOW_S)
        if len(self._served) < 2 or self._took <= 0:
            return None
        first_finished, _, first_took = self._served[0]
        span = min(LOAD_WINDOW_S, now - (first_finished - first_took))
        if span <= 0 or self._took < SATURATED_BUSY_SHARE * span * self._workers:
            return None
        capacity_fps = self._workers * len(self._served) / self._took
        return max(MIN_FAIR_FPS, round(capacity_fps / len(self._students), 1))


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
        self.load = PoolLoad(workers)

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
        status, started, finished = await asyncio.get_running_loop().run_in_executor(
            self._executor, self._analyze, data, t, tracker
        )
        self.load.record(finished, id(tracker), took_s=finished - started)
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

            _pool = VisionPool(settings.VISION_WORKERS)
        return _pool
