"""The simulated students' scripts produce their states through our own engine, from the committed demo clip.

Each behaviour is replayed as the server would see it: the same JPEGs the load generator sends, decoded and analysed
by vision.FaceAnalyzer, timed into a StudentTracker. A change in the engine that stops a stretch of the clip from
reading as its state fails here, not silently on the demo's dashboard.
"""

import pytest

from classroom.simulation.behaviours import BEHAVIOURS, Pause
from classroom.simulation.feeds import JpegFeed
from classroom.views import JPEG_QUALITY
from vision.decode import decode_frame
from vision.tracker import StudentTracker

REPLAY_FPS = 5
REPLAY_S = 24.0
# tests/test_simulate_class.py watches a real server for about this long: every state must show by then.
SHOWN_WITHIN_S = 9.0
TIMES = [number / REPLAY_FPS for number in range(int(REPLAY_S * REPLAY_FPS))]


@pytest.fixture(scope="module")
def replay(analyzer):
    frames = {frame for behaviour in BEHAVIOURS for t in TIMES if (frame := behaviour.frame_at(t)) is not None}
    feed = JpegFeed(frames, width=640, quality=JPEG_QUALITY)
    analyses = {frame: analyzer.analyze(decode_frame(feed.jpegs[frame])) for frame in frames}

    def states(behaviour, *, expressions: bool) -> list[str]:
        """The state after each replayed frame, or "paused" while the script pauses."""
        tracker = StudentTracker(expressions=expressions)
        seen = []
        for t in TIMES:
            frame = behaviour.frame_at(t)
            seen.append("paused" if frame is None else tracker.update(t, analyses[frame]).state)
        return seen

    return states


def shown_early_and_often(states: list[str], state: str) -> bool:
    early = states[: int(SHOWN_WITHIN_S * REPLAY_FPS)]
    return state in early and states.count(state) >= len(states) / 4


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda behaviour: behaviour.name)
def test_it_shows_each_behaviours_state_in_a_class_that_reads_expressions(replay, behaviour):
    states = replay(behaviour, expressions=True)
    assert shown_early_and_often(states, behaviour.shows), (behaviour.shows, states)


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda behaviour: behaviour.name)
def test_it_shows_the_same_states_in_expression_free_mode_except_happy(replay, behaviour):
    states = replay(behaviour, expressions=False)
    assert "happy" not in states and "confused" not in states
    expected = "focused" if behaviour.shows == "happy" else behaviour.shows
    assert shown_early_and_often(states, expected), (expected, states)


def test_it_keeps_the_attentive_student_focused_throughout(replay):
    attentive = next(behaviour for behaviour in BEHAVIOURS if behaviour.name == "attentive")
    assert set(replay(attentive, expressions=True)) == {"focused"}


def test_it_pauses_only_the_pausing_student(replay):
    pausing = [behaviour.name for behaviour in BEHAVIOURS
               if any(isinstance(step, Pause) for step in (*behaviour.opening, *behaviour.loop))]
    assert pausing == ["pausing"]
