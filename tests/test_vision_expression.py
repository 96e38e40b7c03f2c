"""Smiles on real faces, equally across groups (issue 14's goals), and the expression-free mode.

Nothing in the smile rules is fitted to the faces scored here: the single-image threshold is the face model's own
midpoint and the rise's units come from other clips (vision/signals.py). Two choices were made looking at them: the
upper-lip cue joined the rise after person 024's smile moved no other cue, and the corners' height over the nose
after 005's and 024's small smiles were still missed; so the paired figures are held out for every number in the
rule but not for those choices (docs/vision.md, "Smiles").
"""

from pathlib import Path

import numpy as np
import pytest

from vision.evaluate import (
    GOAL_ACCURACY,
    GOAL_GROUP_GAP,
    GOAL_NEUTRAL_READ_NEUTRAL,
    LabelledImage,
    describe_eyes_in_conflict,
    eyes_in_single_image_conflicts,
    goal_shortfalls,
    single_image_bound,
)
from vision.media import analyze_file
from vision.signals import SmileFeatures, smile_features

pytestmark = pytest.mark.shared_data


def test_it_scores_all_30_london_photos_in_both_protocols(london_report):
    assert london_report["images"] == 30 and london_report["faces_found"] == 30
    assert london_report["people"] == 15
    assert london_report["single"]["all"]["n"] == london_report["paired"]["all"]["n"] == 30


def test_it_reaches_the_accuracy_goals_against_each_students_resting_face(london_report):
    paired = london_report["paired"]
    assert paired["all"]["accuracy"] >= GOAL_ACCURACY, paired["all"]
    assert paired["not smiling"]["accuracy"] >= GOAL_NEUTRAL_READ_NEUTRAL, paired["not smiling"]
    assert paired["not smiling"]["correct"] == paired["not smiling"]["n"]  # no false happy in any framing


def test_it_keeps_every_group_within_five_points_of_the_overall_figure(london_report):
    paired = london_report["paired"]
    overall = paired["all"]["accuracy"]
    groups = {group: row for group, row in paired.items() if "=" in group}
    assert {"gender=female", "gender=male", "ethnicity=black", "ethnicity=east_asian", "ethnicity=white"} <= set(groups)
    for group, row in groups.items():
        assert row["accuracy"] >= overall - GOAL_GROUP_GAP, (group, row, overall)
    assert goal_shortfalls(paired) == []


def test_it_reads_each_photo_in_every_framing_and_counts_it_right_only_if_right_in_all(london_report):
    for fold in london_report["folds"]:
        framings = fold["framings"]
        assert set(framings) == {"sitting still", "leaned in"}
        assert fold["smiling_correct"] == all(stream["smiling_correct"] for stream in framings.values())
        assert fold["smiling_rise"] == min(stream["smiling_rise"] for stream in framings.values())
    by_person = {fold["person"]: fold for fold in london_report["folds"]}
    # The two smallest smiles, which barely move the mouth: read from where they sat and leaning in.
    for person in ("005", "024"):
        assert all(stream["smiling_correct"] for stream in by_person[person]["framings"].values()), person


def rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    yaw, pitch, roll = np.radians([yaw_deg, pitch_deg, roll_deg])
    about_y = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    about_x = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    about_z = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    return about_z @ about_x @ about_y


def test_it_measures_the_corners_height_over_the_nose_in_the_faces_own_frame(analyze_image):
    face = analyze_image("london_faces/neutral_front/002_03.jpg").face
    resting = smile_features(face.blendshapes, face.landmarks)
    assert resting.corner_height < 0  # the corners sit below the nose tip
    lifted = face.landmarks.copy()
    interocular = float(np.linalg.norm(lifted[263] - lifted[33]))
    lifted[[61, 291], 1] -= 0.02 * interocular  # up the picture, which is up this upright face
    assert smile_features(face.blendshapes, lifted).corner_height == pytest.approx(resting.corner_height + 0.02,
                                                                                  abs=0.002)
    # A head turned, nodded and tilted moves the whole mesh; the geometric cues stay where they were.
    centre = face.landmarks.mean(axis=0)
    turned = smile_features(face.blendshapes, (face.landmarks - centre) @ rotation(25, 15, 10).T + centre)
    for cue in ("mouth_width", "corner_lift", "corner_height"):
        assert getattr(turned, cue) == pytest.approx(getattr(resting, cue), abs=1e-6), cue


def test_it_says_which_goals_a_table_falls_short_of():
    def row(correct, total):
        return {"n": total, "correct": correct, "accuracy": correct / total}

    table = {"all": row(27, 30), "not smiling": row(14, 15), "gender=female": row(13, 14), "ethnicity=a": row(3, 4)}
    assert goal_shortfalls(table) == ["all 0.90 < 0.92", "not smiling 0.93 < 0.97", "ethnicity=a 0.75"]
    assert goal_shortfalls({"all": row(29, 30), "not smiling": row(15, 15), "gender=male": row(15, 16)}) == []


def photo(person, expression, *cues, **groups):
    name = f"{person}_{expression}.jpg"
    image = LabelledImage(Path(name), name, {"face_id": person, "expression": expression, **groups})
    return image, expression == "smiling", SmileFeatures(*cues)


def test_it_counts_the_fewest_errors_any_single_image_rule_must_make():
    # 03's resting face scores at least as high on every cue as the smiles of 01 and 02: a rule that rises with
    # each cue reads all three alike, so calling 03's rest a smile (one error) is the cheapest way out.
    photos = [photo("01", "smiling", 0.3, 0.60, 0.01, 0.1, -0.33, gender="m"),
              photo("01", "neutral", 0.0, 0.5, 0.0, 0.0, -0.36),
              photo("02", "smiling", 0.2, 0.62, 0.00, 0.1, -0.34, gender="f"),
              photo("02", "neutral", 0.0, 0.5, 0.0, 0.0, -0.37),
              photo("03", "smiling", 0.9, 0.70, 0.05, 0.5, -0.28, gender="f"),
              photo("03", "neutral", 0.4, 0.65, 0.02, 0.1, -0.32)]
    bound = single_image_bound(photos)
    assert bound["conflicts"] == {"01 smiling": ["03 neutral"], "02 smiling": ["03 neutral"]}
    assert bound["fewest_errors"] == 1
    best = bound["best_without_false_happy"]  # or, reading no rest as a smile, miss both small smiles
    assert best["all"]["correct"] == 4 and best["smiling"]["correct"] == 1 and best["gender=m"]["correct"] == 0
    # A second resting face above only 02's smile: now two errors are unavoidable.
    photos.append(photo("04", "neutral", 0.25, 0.63, 0.01, 0.2, -0.33))
    assert single_image_bound(photos)["fewest_errors"] == 2


def test_it_shows_why_no_single_image_rule_meets_the_goals_here(london_report):
    bound = london_report["single_bound"]
    # 005's small smile scores no higher than 008's or 025's resting face on any cue.
    assert set(bound["conflicts"]["005 smiling"]) == {"008 neutral", "025 neutral"}
    assert bound["fewest_errors"] >= 1
    assert "ethnicity=east_asian 0.88" in goal_shortfalls(bound["best_without_false_happy"])
    # Narrower eyes would set 005's smile apart from those resting faces, but his own resting eyes are as narrow:
    # the smile narrows them less than the gap between the two people's eyes.
    [eyes] = london_report["single_bound_eyes"]
    assert eyes["smile"] == "005 smiling" and set(eyes["against"]) == {"008 neutral", "025 neutral"}
    widest_gap = min(eyes["against"].values()) - eyes["eye_ratio"]
    assert widest_gap > 0 and abs(eyes["own_rest"] - eyes["eye_ratio"]) < widest_gap / 2


def test_it_says_when_eye_narrowing_would_tell_only_whose_eyes_they_are():
    photos = [photo("01", "smiling", 0.3, 0.60, 0.01, 0.1, -0.33), photo("01", "neutral", 0.0, 0.5, 0.0, 0.0, -0.36),
              photo("03", "neutral", 0.4, 0.65, 0.02, 0.1, -0.32)]
    bound = single_image_bound(photos)

    def said(own_rest_ratio):
        ratios = {"01_smiling.jpg": 0.22, "01_neutral.jpg": own_rest_ratio, "03_neutral.jpg": 0.30}
        [conflict] = eyes_in_single_image_conflicts(photos, ratios, bound)
        return describe_eyes_in_conflict(conflict)

    assert said(0.23) == ("Eye narrowing would tell 01 smiling (eye aspect ratio 0.220) from 03 neutral (0.300); "
                          "01 at rest reads 0.230, so it would tell whose eyes they are, not the smile.")
    assert "whose eyes" not in said(0.31)  # wide eyes at rest: the narrowing is the smile's
    assert "whose eyes" not in said(0.27)  # narrower than 03's at rest, but the smile narrows them more


def test_it_gives_every_figure_its_count_and_a_wilson_interval(london_report):
    for protocol in ("single", "paired"):
        for row in london_report[protocol].values():
            low, high = row["ci95"]
            assert row["n"] > 0 and low <= row["accuracy"] <= high
    # A group of two photos, both right, is no proof: its interval says so.
    black = london_report["paired"]["ethnicity=black"]
    assert black["n"] == 2 and black["ci95"][0] < 0.4


def test_it_never_reads_a_resting_face_as_happy_however_its_lips_look(london_report):
    # 025's resting mouth scores 0.5 on the face model's mouthSmile: a false smile for a population threshold.
    person_025 = next(fold for fold in london_report["folds"] if fold["person"] == "025")
    assert person_025["neutral_correct"] and person_025["smiling_correct"]
    assert all(fold["neutral_correct"] for fold in london_report["folds"])


def test_it_pins_the_single_image_figures_below_the_goals(london_report):
    # One photo with nothing to compare it with cannot tell a resting face that looks like a smile from a small
    # smile (docs/vision.md, "Smiles"): these are floors against regressions, not the goals.
    single = london_report["single"]
    assert single["all"]["accuracy"] >= 0.76
    assert single["not smiling"]["accuracy"] >= 0.93


def test_it_tells_smiles_from_other_expressions_on_faces_outside_the_london_set(evaluation_report):
    others = evaluation_report["expressions"]["vision/testdata_labels.csv"]
    assert others["images"] == 7  # 4 smiling; surprise, anger and disgust
    assert others["single"]["all"]["correct"] == 7


def test_it_never_turns_happy_or_confused_on_faces_at_rest(zju_blinks):
    at_rest = zju_blinks["at_rest"]
    assert at_rest["clips"] == 40 and at_rest["face_frames"] > 4000
    assert at_rest["clips_with_happy"] == [] and at_rest["clips_with_confused"] == []
    assert at_rest["frames_single_smile"] == 0


def test_it_reaches_happy_in_the_smiling_part_of_a_clip(shared_testdata, analyzer):
    frames = analyze_file(shared_testdata / "pyfeat" / "single_face.mp4", analyzer)["frames"]
    first_happy = next(frame for frame in frames if frame["state"] == "happy")
    assert frames[0]["smile"] < 0.5  # neutral at the start
    assert 1.0 < first_happy["t"] < 2.0  # the smile starts at 0.6 s and must last a second


def test_it_never_infers_emotions_in_expression_free_mode(shared_testdata, analyzer):
    result = analyze_file(shared_testdata / "pyfeat" / "single_face.mp4", analyzer, expressions=False)
    states = {frame["state"] for frame in result["frames"]}
    assert states.isdisjoint({"happy", "confused"})
    assert all(frame["smile"] is None and frame["smile_rise"] is None and frame["confusion"] is None
               for frame in result["frames"])
    assert result["summary"]["face_frames"] == 72
