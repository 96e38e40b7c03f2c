"""`python -m vision`: the JSON contract of analyze, and evaluate/bench printing their tables."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.shared_data
REPO_ROOT = Path(__file__).resolve().parent.parent
FRAME_KEYS = {"index", "t", "faces", "face", "ear", "eyes_closed", "blink", "state", "engagement", "yaw", "pitch",
              "roll", "gaze_x", "gaze_y", "smile", "smile_rise", "confusion", "quality"}
SUMMARY_KEYS = {"frames", "face_frames", "blinks", "blink_rate_per_min", "mean_ear", "perclos", "time_in_state",
                "ms_per_frame"}


def vision_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vision", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


@pytest.fixture(scope="module")
def analyzed_pair(shared_testdata):
    clip = shared_testdata / "zju_eyeblink" / "1" / "000001M_FBN.avi"
    photo = shared_testdata / "pyfeat" / "multi_face.jpg"
    result = vision_cli("analyze", str(clip), str(photo), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_it_gives_one_object_per_path_in_a_list(analyzed_pair, shared_testdata):
    assert [item["source"] for item in analyzed_pair] == [
        str(shared_testdata / "zju_eyeblink" / "1" / "000001M_FBN.avi"),
        str(shared_testdata / "pyfeat" / "multi_face.jpg"),
    ]
    for item in analyzed_pair:
        assert set(item) == {"source", "frames", "blinks", "summary"}
        assert set(item["summary"]) == SUMMARY_KEYS
        assert all(set(frame) == FRAME_KEYS for frame in item["frames"])


def test_it_numbers_frames_in_opencv_decode_order_with_video_time(analyzed_pair):
    frames = analyzed_pair[0]["frames"]
    assert [frame["index"] for frame in frames] == list(range(138))  # the zju summary: 138 decoded frames
    times = [frame["t"] for frame in frames]
    assert times == sorted(times) and 4.5 < times[-1] < 5.0


def test_it_lists_blinks_and_flags_the_frame_where_each_ends(analyzed_pair):
    clip = analyzed_pair[0]
    assert clip["summary"]["blinks"] == len(clip["blinks"]) == 3  # labelled: 3 blinks
    ends = [frame["index"] for frame in clip["frames"] if frame["blink"]]
    assert ends == [blink["end_frame"] for blink in clip["blinks"]]
    for blink in clip["blinks"]:
        assert blink["start_frame"] < blink["end_frame"] and blink["start_t"] < blink["end_t"]
    assert 33 < clip["summary"]["blink_rate_per_min"] < 40  # 3 blinks in 4.9 s


def test_it_reports_a_photo_as_a_single_frame(analyzed_pair):
    photo = analyzed_pair[1]
    assert photo["summary"]["frames"] == 1
    assert photo["frames"][0]["faces"] >= 2
    assert photo["frames"][0]["t"] == 0.0


def test_it_prints_a_human_summary_without_json(shared_testdata):
    result = vision_cli("analyze", str(shared_testdata / "pyfeat" / "single_face.jpg"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 frames, face in 1" in result.stdout


def test_it_says_clearly_when_a_file_is_missing(tmp_path):
    result = vision_cli("analyze", str(tmp_path / "nothing.mp4"))
    assert result.returncode == 1
    assert "no such file" in result.stderr


@pytest.fixture(scope="module")
def own_data(tmp_path_factory, shared_testdata) -> Path:
    """A school's own folder in the shared data's layout with most parts missing: a labels.csv with face counts
    (one listed photo not there), and a sub-folder with one consenting person's neutral and smiling photo."""
    folder = tmp_path_factory.mktemp("own_data")
    people = folder / "our_class"
    people.mkdir()
    shutil.copy(shared_testdata / "london_faces" / "neutral_front" / "002_03.jpg", people / "ana_resting.jpg")
    shutil.copy(shared_testdata / "london_faces" / "smiling_front" / "002_08.jpg", people / "ana_smiling.jpg")
    (people / "labels.csv").write_text(
        "image,face_id,expression,gender\nana_resting.jpg,ana,neutral,female\nana_smiling.jpg,ana,smiling,female\n"
    )
    shutil.copy(shared_testdata / "nonface" / "fox-715588_640.jpg", folder / "fox.jpg")
    shutil.copy(shared_testdata / "skimage" / "astronaut.png", folder / "astronaut.png")
    (folder / "labels.csv").write_text("image,faces,expression\nfox.jpg,0,\nastronaut.png,1,smiling\ngone.jpg,1,\n")
    return folder


def test_it_evaluates_a_folder_with_only_some_parts_from_its_labels_files(own_data):
    result = vision_cli("evaluate", str(own_data), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["blinks"] is None and report["head_pose"] is None
    assert report["detection"]["face_found"] == report["detection"]["face_images"] == 1
    assert report["detection"]["non_face_images"] == 1 and report["detection"]["false_faces"] == []
    pair = report["expressions"]["our_class/labels.csv"]
    assert pair["people"] == 1
    assert pair["paired"]["all"] == {"n": 2, "correct": 2, "accuracy": 1.0, "ci95": [0.342, 1.0]}
    assert report["expressions"]["labels.csv"]["single"]["smiling"]["correct"] == 1
    assert set(report["skipped"]) == {
        "blinks: no clip folder with a video, a .tag and a *_framemap.csv",
        "head pose: no <folder>/poses_deg.csv",
        "labels.csv: 1 listed images not found",
    }


def test_it_reads_head_pose_from_every_poses_file_in_the_folder(shared_testdata, tmp_path):
    aflw = shared_testdata / "aflw2000"
    header, first, second = (aflw / "poses_deg.csv").read_text().splitlines()[:3]
    for folder, row in (("room_a", first), ("room_b", second)):
        (tmp_path / folder).mkdir()
        image = row.split(",")[0]
        shutil.copy(aflw / image, tmp_path / folder / image)
        (tmp_path / folder / "poses_deg.csv").write_text(f"{header}\n{row}\n")

    result = vision_cli("evaluate", str(tmp_path), "--json")

    assert result.returncode == 0, result.stderr[-2000:]
    pose = json.loads(result.stdout)["head_pose"]
    assert pose["set"] == "room_a, room_b"
    assert pose["images"] == 2 and pose["not_found_on_disk"] == [], pose


def test_it_writes_its_report_into_a_readme_block(own_data, tmp_path):
    from vision.cli import README_BEGIN, README_END

    readme = tmp_path / "README.md"
    readme.write_text(f"# Ours\n\n{README_BEGIN}\nold numbers\n{README_END}\n\nMore text.\n")
    result = vision_cli("evaluate", str(own_data), "--readme", str(readme))
    assert result.returncode == 0, result.stderr[-2000:]
    written = readme.read_text()
    assert "old numbers" not in written and written.endswith(f"{README_END}\n\nMore text.\n")
    assert f"{README_BEGIN}\n```\n{result.stdout.rstrip()}\n```\n{README_END}" in written
    assert "Confused: experimental" in result.stdout and "Skipped" in result.stdout


def test_it_refuses_a_readme_without_the_block(own_data, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# No block here\n")
    result = vision_cli("evaluate", str(own_data), "--readme", str(readme))
    assert result.returncode == 1
    assert "no block to replace" in result.stderr
    assert readme.read_text() == "# No block here\n"


def test_it_names_the_file_and_line_of_a_label_it_cannot_read(tmp_path):
    (tmp_path / "labels.csv").write_text("image,faces\nfox.jpg,two\n")
    result = vision_cli("evaluate", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / 'labels.csv'}, line 2: faces must be a whole number, not 'two'" in result.stderr


def test_it_benchmarks_and_prints_the_ratio_to_bare_inference():
    result = vision_cli("bench", "--frames", "3", "--rounds", "1", "--workers", "2", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    for size in ("640x480", "320x240"):
        row = report["sizes"][size]
        assert row["inference_ms"] > 0 and row["decode_ms"] > 0
        assert row["ratio_whole_to_inference"] == pytest.approx(row["whole_ms"] / row["inference_ms"], rel=0.01)


def test_it_marks_confused_as_experimental_in_its_summary():
    from vision.cli import _human_summary

    result = {
        "source": "clip.mp4",
        "summary": {"frames": 30, "face_frames": 30, "blinks": 0, "blink_rate_per_min": 0.0, "mean_ear": 0.3,
                    "perclos": 0.0, "time_in_state": {"focused": 1.0, "confused": 2.0}, "ms_per_frame": 10.0},
        "frames": [{"state": "confused", "engagement": 90, "faces": 1}],
    }
    summary = _human_summary(result)
    assert "last state confused (experimental)" in summary
    assert "focused 1.0 s, confused (experimental) 2.0 s" in summary
