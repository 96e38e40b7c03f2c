"""The rolling median behind the eyes' baseline and the mouth corners' resting height."""

import pytest

from vision.rolling import RollingMedian


def test_it_has_no_median_before_the_first_value():
    assert RollingMedian(30.0).median is None
    assert RollingMedian(30.0).observed_s == 0.0


@pytest.mark.parametrize("fps", [2, 10, 30])
def test_it_forgets_what_left_the_window_and_keeps_the_rest(fps):
    window = RollingMedian(30.0)
    for frame in range(40 * fps):  # 40 s of 1.0
        window.add(frame / fps, 1.0)
    assert window.observed_s == pytest.approx(30.0, abs=1.0 / fps)
    for frame in range(40 * fps, 54 * fps):  # 14 s of 0.0: under half the window
        window.add(frame / fps, 0.0)
    assert window.median == 1.0
    for frame in range(54 * fps, 56 * fps):  # 16 s: over half
        window.add(frame / fps, 0.0)
    assert window.median == 0.0


def test_it_takes_the_middle_value_whatever_the_order():
    window = RollingMedian(10.0)
    for t, value in enumerate([5.0, -1.0, 3.0, 3.0, 8.0]):
        window.add(float(t), value)
    assert window.median == 3.0
    window.add(11.0, -2.0)  # 5.0 (t=0) leaves: -1.0, 3.0, 3.0, 8.0, -2.0 remain
    assert window.median == 3.0
    window.add(13.0, 9.0)  # -1.0 and the first 3.0 leave: 3.0, 8.0, -2.0, 9.0; of two middle values, the upper
    assert window.median == 8.0
