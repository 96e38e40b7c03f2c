"""Blink detection on a stream of eye aspect ratios, against this student's own open-eye baseline.

Driven by timestamps, not frame counts, so it behaves the same at 2 fps and at 30 fps.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rolling import RollingMedian

# Open-eye EAR on MediaPipe's mesh: per-person medians on the shared ZJU clips run 0.27-0.33 (10th-90th
# percentile, median 0.30). The prior sits at the low end so that small eyes are not read as closed while it
# still steers, which is only the first half second or so, before this student's own baseline has data.
PRIOR_OPEN_EAR = 0.25
PRIOR_WEIGHT_S = 0.5
# The baseline is the median EAR of the last BASELINE_WINDOW_S seconds: blinks fill under a tenth of the time,
# so the median is the open-eye level, and it follows glasses, lighting and distance as they change.
BASELINE_WINDOW_S = 30.0
# Eyes count as closed below CLOSE_RATIO x baseline and open again above OPEN_RATIO x baseline; the gap keeps
# a noisy half-closed eye from counting twice. The textbook rule (EAR < 0.2 at a 0.3 baseline) is a ratio of 0.67.
CLOSE_RATIO = 0.80
OPEN_RATIO = 0.85
# Blinks last 100-400 ms (Schiffman, Sensation and Perception); a closure seen for less than MIN_BLINK_S is
# landmark noise, one whose closed frames span more than MAX_BLINK_S is the eyes being shut, not a blink.
MIN_BLINK_S = 0.05
MAX_BLINK_S = 0.6
# Losing the face this long ends an open closure without counting it: we cannot tell what happened.
MAX_GAP_S = 0.5


@dataclass(frozen=True)
class Blink:
    start_t: float  # first frame seen closed
    end_t: float  # first frame seen open again
    start_frame: int
    end_frame: int


@dataclass(frozen=True)
class EyeState:
    closed: bool
    baseline: float
    threshold: float
    blink: Blink | None  # set on the frame where a blink ends
    closed_for_s: float  # how long the current closure has lasted (0 when open)


class BlinkDetector:
    def __init__(self) -> None:
        self._recent_ears = RollingMedian(BASELINE_WINDOW_S)
        self._closed_since: tuple[float, int] | None = None  # (t, frame) of the first closed frame
        self._last_closed: float | None = None
        self._last_seen: float | None = None
        # A blink is open, closed, open again: eyes already shut when we first see them are no blink we saw.
        self._seen_open = False

    @property
    def baseline(self) -> float:
        median = self._recent_ears.median
        if median is None:
            return PRIOR_OPEN_EAR
        # Shrink toward the population prior while we have seen this student for less than a second or so.
        weight = min(self._recent_ears.observed_s, BASELINE_WINDOW_S)
        return (weight * median + PRIOR_WEIGHT_S * PRIOR_OPEN_EAR) / (weight + PRIOR_WEIGHT_S)

    def update(self, t: float, ear: float | None, frame: int = 0) -> EyeState:
        """Feed one frame: its time in seconds, its mean EAR (None when no face), its index."""
        baseline = self.baseline
        if ear is None:
            if self._closed_since is not None and self._last_seen is not None and t - self._last_seen > MAX_GAP_S:
                self._closed_since = None
            return EyeState(closed=False, baseline=baseline, threshold=CLOSE_RATIO * baseline, blink=None, closed_for_s=0.0)
        self._last_seen = t
        blink = None
        if self._closed_since is None:
            if ear > OPEN_RATIO * baseline:
                self._seen_open = True
            elif ear < CLOSE_RATIO * baseline and self._seen_open:
                self._closed_since = (t, frame)
                self._last_closed = t
        elif ear > OPEN_RATIO * baseline:
            started_t, started_frame = self._closed_since
            if t - started_t >= MIN_BLINK_S and self._last_closed - started_t <= MAX_BLINK_S:
                blink = Blink(start_t=started_t, end_t=t, start_frame=started_frame, end_frame=frame)
            self._closed_since = None
        elif ear < CLOSE_RATIO * baseline:
            self._last_closed = t
        self._recent_ears.add(t, ear)
        closed = self._closed_since is not None
        return EyeState(
            closed=closed,
            baseline=baseline,
            threshold=CLOSE_RATIO * baseline,
            blink=blink,
            closed_for_s=t - self._closed_since[0] if closed else 0.0,
        )
