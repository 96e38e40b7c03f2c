"""The load generator's students keep beats of their own, as a class does, rather than sending in one burst."""

import pytest

from classroom.simulation.load import beat_offset_s


@pytest.mark.parametrize("fps", [5.0, 10.0])
@pytest.mark.parametrize("students", [2, 3, 7, 24, 33, 60])
def test_first_frames_spread_over_one_frame_interval_whatever_the_class_size(students, fps):
    interval = 1.0 / fps
    offsets = sorted(beat_offset_s(number, fps) for number in range(students))

    assert all(0.0 <= offset < interval for offset in offsets)
    gaps = [later - earlier for earlier, later in zip(offsets, offsets[1:])] + [interval - offsets[-1] + offsets[0]]
    # Evenly spaced would leave gaps of interval / students; no gap is more than three times that, so no stretch
    # of the beat carries a burst of the class.
    assert max(gaps) <= 3 * interval / students
    assert min(gaps) > 0
