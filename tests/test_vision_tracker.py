"""The per-student tracker: a real face's analysis, moved through time and poses we control."""

import dataclasses

import numpy as np
import pytest

from vision.face import FrameAnalysis
from vision.signals import Quality
from vision.tracker import StudentTracker

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def frontal(analyze_image) -> FrameAnalysis:
    """A real neutral, frontal face from the London set."""
    analysis = analyze_image("london_faces/neutral_front/002_03.jpg")
    assert analysis.face is not None and analysis.face.smile < 0.5
    return analysis


@pytest.fixture(scope="module")
def smiling(analyze_image) -> FrameAnalysis:
    """The same person smiling (the London set's photo 002_08)."""
    return analyze_image("london_faces/smiling_front/002_08.jpg")


def posed(analysis: FrameAnalysis, **changes) -> FrameAnalysis:
    return dataclasses.replace(analysis, face=dataclasses.replace(analysis.face, **changes))


def no_face(analysis: FrameAnalysis) -> FrameAnalysis:
    return dataclasses.replace(analysis, faces=0, face=None)


def run(tracker, segments, fps=10.0, start=0.0):
    """segments: (seconds, analysis); returns the statuses, one per frame at fps."""
    statuses, t = [], start
    for seconds, analysis in segments:
        end = t + seconds
        while t < end - 1e-9:
            statuses.append(tracker.update(t, analysis))
            t += 1.0 / fps
    return statuses


def test_it_is_focused_on_a_frontal_face(frontal):
    status = run(StudentTracker(), [(3, frontal)])[-1]
    assert status.state == "focused"
    assert status.confidence == "ok"
    assert status.engagement >= 90


def test_it_does_not_call_a_glance_away_distraction(frontal):
    away = posed(frontal, yaw=frontal.face.yaw + 40)
    statuses = run(StudentTracker(), [(4, frontal), (1.2, away), (2, frontal)])
    assert "distracted" not in {status.state for status in statuses}


def test_it_calls_looking_away_for_two_seconds_distraction_and_says_why(frontal):
    away = posed(frontal, yaw=frontal.face.yaw + 40)
    status = run(StudentTracker(), [(4, frontal), (4.5, away)])[-1]
    assert status.state == "distracted"
    assert any(reason.startswith("head turned left for 4 s") for reason in status.reasons), status.reasons
    assert status.engagement < 40


def test_it_keeps_saying_why_while_distraction_ends(frontal):
    away = posed(frontal, yaw=frontal.face.yaw - 40)
    statuses = run(StudentTracker(), [(4, frontal), (4, away), (0.5, frontal)])
    # Looking back, the student stays distracted for a moment (BACK_AFTER_S), and the reason still says why.
    assert statuses[-1].state == "distracted"
    assert any(reason.startswith("head turned right for") for reason in statuses[-1].reasons), statuses[-1].reasons


@pytest.mark.parametrize("fps", [2.0, 30.0])
def test_it_times_distraction_by_the_clock_not_by_frames(frontal, fps):
    away = posed(frontal, pitch=frontal.face.pitch - 35)
    statuses = run(StudentTracker(), [(4, frontal), (4, away)], fps=fps)
    first = next(status for status in statuses if status.state == "distracted")
    assert 5.9 <= first.t <= 6.6
    assert any("looking down" in reason for reason in first.reasons)


def test_it_learns_a_camera_placed_to_the_side_as_neutral(frontal):
    side = posed(frontal, yaw=frontal.face.yaw + 35)
    statuses = run(StudentTracker(), [(20, side)])
    assert {status.state for status in statuses} == {"focused"}


def test_it_honours_a_student_without_gaze_and_pose_rules(frontal):
    away = posed(frontal, yaw=frontal.face.yaw + 45)
    statuses = run(StudentTracker(attention_rules=False), [(4, frontal), (10, away)])
    assert "distracted" not in {status.state for status in statuses}


def test_it_marks_absent_after_two_seconds_without_a_face_but_not_for_a_dropped_frame(frontal):
    tracker = StudentTracker()
    statuses = run(tracker, [(3, frontal), (0.5, no_face(frontal)), (1, frontal)])
    assert "absent" not in {status.state for status in statuses}
    status = run(tracker, [(3, no_face(frontal))], start=4.5)[-1]
    assert status.state == "absent"
    assert status.engagement < 30
    assert any("no face in view for" in reason for reason in status.reasons)


def test_it_calls_eyes_shut_for_seconds_drowsy(frontal):
    shut = posed(frontal, ear_left=0.05, ear_right=0.05)
    status = run(StudentTracker(), [(5, frontal), (3, shut)])[-1]
    assert status.state == "drowsy"
    assert any(reason.startswith("eyes closed for") for reason in status.reasons)
    assert status.blinks == 0


def test_it_reports_perclos_over_the_last_minute(frontal):
    shut = posed(frontal, ear_left=0.05, ear_right=0.05)
    # 12 cycles of 4 s open and 1 s shut: a fifth of the time closed, never a blink (1 s is too long).
    status = run(StudentTracker(), [(4, frontal), (1, shut)] * 12)[-1]
    assert status.perclos == pytest.approx(0.2, abs=0.03)


def test_it_becomes_happy_when_a_smile_lasts(frontal, smiling):
    statuses = run(StudentTracker(), [(3, frontal), (0.5, smiling), (1, frontal), (2, smiling)])
    states = [status.state for status in statuses]
    assert states[:45].count("happy") == 0  # half a second of smile is not a mood
    assert states[-1] == "happy"
    assert "smiling" in statuses[-1].reasons


def test_it_reads_happy_against_the_students_own_resting_face(analyze_image):
    # 025's resting mouth scores 0.5 on the model's mouthSmile, as much as a small smile on other faces.
    resting = analyze_image("london_faces/neutral_front/025_03.jpg")
    smile = analyze_image("london_faces/smiling_front/025_08.jpg")
    assert resting.face.smile >= 0.45
    statuses = run(StudentTracker(), [(30, resting), (2, smile)])
    assert "happy" not in {status.state for status in statuses[:300]}
    assert statuses[-1].state == "happy"
    # What a teacher's detail panel shows is the rise that decides, not the picture's own smile score.
    assert max(status.smile_rise for status in statuses[:300]) < 0.2
    assert statuses[-1].smile_rise >= 1.0
    assert statuses[-1].to_dict()["expression"]["smile_rise"] == round(statuses[-1].smile_rise, 2)


def test_it_learns_the_resting_face_of_a_student_who_joins_smiling(frontal, smiling):
    tracker = StudentTracker()
    joined_smiling = run(tracker, [(3, smiling)])
    assert "happy" not in {status.state for status in joined_smiling}  # nothing to compare with yet
    assert run(tracker, [(4, frontal), (2, smiling)], start=3.0)[-1].state == "happy"


def test_it_does_not_take_a_long_smile_for_the_resting_face(frontal, smiling):
    statuses = run(StudentTracker(), [(3, frontal), (60, smiling)])
    assert statuses[-1].state == "happy"


def speaking(analysis: FrameAnalysis, jaw_drop: float) -> FrameAnalysis:
    """The face with its jaw dropped by `jaw_drop` interocular distances, as in speech: the lower lip goes down
    twice as far as the mouth corners it drags along (the upright face's down is the picture's y)."""
    landmarks = analysis.face.landmarks.copy()
    interocular = float(np.linalg.norm(landmarks[263] - landmarks[33]))
    landmarks[[61, 291], 1] += jaw_drop * interocular
    landmarks[14, 1] += 2 * jaw_drop * interocular
    return posed(analysis, landmarks=landmarks)


def test_it_does_not_read_a_mouth_closing_after_speech_as_a_smile(frontal):
    talking = [(0.3, speaking(frontal, 0.08)), (0.2, frontal)] * 16  # 8 s of syllables
    statuses = run(StudentTracker(), [(10, frontal), *talking, (5, frontal)])
    assert "happy" not in {status.state for status in statuses}
    assert max(status.smile_rise for status in statuses[-50:]) < 0.2


@pytest.mark.parametrize("fps", [2, 10, 30])
def test_it_takes_corners_held_lower_for_over_half_a_minute_as_their_rest(frontal, fps):
    # A new posture, or a smile, held for over half of the corner height's 30 s window becomes its rest.
    lowered = speaking(frontal, 0.04)
    tracker = StudentTracker()
    run(tracker, [(40, frontal)], fps=fps)
    after_14_s = run(tracker, [(14, lowered)], fps=fps, start=40.0)[-1].smile_rise
    after_16_s = run(tracker, [(2, lowered)], fps=fps, start=54.0)[-1].smile_rise
    assert after_14_s < -0.5  # still below the resting height
    assert abs(after_16_s) < 0.1  # now the resting height


def test_it_keeps_the_expression_on_frames_analysed_without_blendshapes(frontal, smiling):
    tracker = StudentTracker()
    assert run(tracker, [(3, frontal), (2, smiling)])[-1].state == "happy"
    without = posed(smiling, blendshapes={})
    assert {status.state for status in run(tracker, [(2, without)], start=5.0)} == {"happy"}


def test_it_becomes_confused_when_brows_stay_lowered(frontal):
    puzzled = posed(frontal, confusion=0.8)
    assert run(StudentTracker(), [(3, frontal), (3, puzzled)])[-1].state == "confused"


def test_it_never_says_happy_or_confused_without_expressions(frontal, smiling):
    smiling_and_puzzled = posed(smiling, confusion=0.9)
    statuses = run(StudentTracker(expressions=False), [(3, frontal), (5, smiling_and_puzzled)])
    assert {status.state for status in statuses} == {"focused"}
    assert statuses[-1].to_dict()["expression"] is None


@pytest.mark.parametrize(
    ("quality", "words"),
    [
        (Quality(face_px=40, brightness=120, frontal=1.0), "too small"),
        (Quality(face_px=300, brightness=15, frontal=1.0), "too dark"),
    ],
)
def test_it_says_uncertain_instead_of_guessing_on_a_poor_picture(frontal, smiling, quality, words):
    poor = posed(smiling, quality=quality, ear_left=0.05, ear_right=0.05)
    status = run(StudentTracker(), [(3, frontal), (4, poor)])[-1]
    assert status.confidence == "uncertain"
    assert status.state == "focused"  # neither happy nor drowsy from a picture it cannot read
    assert any(words in reason for reason in status.reasons)


def test_it_counts_blinks_and_a_rate_per_minute(frontal):
    closed = posed(frontal, ear_left=0.05, ear_right=0.05)
    status = run(StudentTracker(), [(4.8, frontal)] + [(0.2, closed), (4.8, frontal)] * 6, fps=30)[-1]
    assert status.blinks == 6
    assert status.blink_rate_per_min == pytest.approx(6 * 60 / 34.8, abs=0.5)


def test_it_refuses_time_going_backwards(frontal):
    tracker = StudentTracker()
    tracker.update(5.0, frontal)
    with pytest.raises(ValueError, match="backwards"):
        tracker.update(4.0, frontal)


def test_its_status_is_small_and_json_safe(frontal):
    import json

    payload = run(StudentTracker(), [(2, frontal)])[-1].to_dict()
    assert len(json.dumps(payload)) < 1000
    assert {"state", "engagement", "confidence", "reasons", "ear", "blinks", "perclos", "gaze", "head"} <= set(payload)
