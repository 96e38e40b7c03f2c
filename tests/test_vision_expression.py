"""Smiles on real faces, and the expression-free mode."""

import pytest

from vision.media import analyze_file

pytestmark = pytest.mark.shared_data


def test_it_tells_smiling_from_neutral_faces_90_percent_of_the_time(london_report):
    assert london_report["all"]["images"] == 30
    assert london_report["all"]["smile_accuracy"] >= 0.9


def test_it_reports_accuracy_by_ethnicity_and_gender(london_report):
    groups = set(london_report)
    assert {"ethnicity=black", "ethnicity=east_asian", "ethnicity=white", "gender=female", "gender=male"} <= groups
    assert all(0.0 <= row["smile_accuracy"] <= 1.0 for row in london_report.values())


def test_it_reaches_happy_in_the_smiling_part_of_a_clip(shared_testdata, analyzer):
    frames = analyze_file(shared_testdata / "pyfeat" / "single_face.mp4", analyzer)["frames"]
    first_happy = next(frame for frame in frames if frame["state"] == "happy")
    assert frames[0]["smile"] < 0.5  # neutral at the start
    assert first_happy["t"] > 0.5


def test_it_never_infers_emotions_in_expression_free_mode(shared_testdata, analyzer):
    result = analyze_file(shared_testdata / "pyfeat" / "single_face.mp4", analyzer, expressions=False)
    states = {frame["state"] for frame in result["frames"]}
    assert states.isdisjoint({"happy", "confused"})
    assert all(frame["smile"] is None and frame["confusion"] is None for frame in result["frames"])
    assert result["summary"]["face_frames"] == 72
