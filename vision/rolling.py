"""The median of a signal over its last few seconds: a baseline that brief departures from it do not move."""

from __future__ import annotations

import bisect
from collections import deque


class RollingMedian:
    """The middle value of those added in the last `window_s` seconds, this one included.

    Each added value counts once, so at a steady frame rate it is the median over time; a stretch sent at a
    higher rate weighs more than its seconds."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._history: deque[tuple[float, float]] = deque()  # (t, value), oldest first
        self._ordered: list[float] = []

    def add(self, t: float, value: float) -> None:
        self._history.append((t, value))
        bisect.insort(self._ordered, value)
        while self._history[0][0] < t - self.window_s:
            _, old = self._history.popleft()
            del self._ordered[bisect.bisect_left(self._ordered, old)]

    @property
    def median(self) -> float | None:
        """None before the first value."""
        return self._ordered[len(self._ordered) // 2] if self._ordered else None

    @property
    def observed_s(self) -> float:
        """The time from the oldest value still in the window to the newest."""
        return self._history[-1][0] - self._history[0][0] if self._history else 0.0
