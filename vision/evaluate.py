"""Score the engine on labelled data laid out like ../shared/testdata (see its README)."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .face import FaceAnalyzer, FrameAnalysis
from .media import analyze_frames, read_frames
from .tracker import StudentTracker

# Images with no human face (hard negatives included) and images with at least one, as the data README says.
NON_FACE_IMAGES = (
    *(f"nonface/{name}" for name in (
        "bled-2608425_640.jpg", "bright-4642061_640.jpg", "butterfly-142506_640.jpg", "cardinal-2872966_640.jpg",
        "flower-2071522_640.jpg", "flowers-3215188_640.jpg", "forest-5524569_640.jpg", "fox-715588_640.jpg",
        "hydrangea-3673120_640.jpg", "lavenders-1537694_640.jpg",
    )),
    "skimage/coffee.png", "skimage/chelsea.png", "skimage/rocket.jpg", "skimage/motorcycle_left.png",
    "skimage/hubble_deep_field.jpg", "dlib_faces/dogs.jpg", "pyfeat/free-mountain-vector-01.jpg",
)
FACE_IMAGES = (
    "pyfeat/single_face.jpg", "pyfeat/0-f1-su-ph.jpg", "pyfeat/0-f15-hao-ph.jpg", "pyfeat/15-f13-anc-ph.jpg",
    "pyfeat/45-m7-di-ph.jpg", "skimage/astronaut.png", "dlib_faces/Tom_Cruise_avp_2014_4.jpg",
)
# Subsampling the ~30 fps ZJU clips shows how blink detection holds up at lower camera rates.
BLINK_FRAME_STEPS = {"30 fps": 1, "15 fps": 2, "10 fps": 3, "5 fps": 6}
TEXTBOOK_EAR_THRESHOLD = 0.2
BLENDSHAPE_BLINK_THRESHOLD = 0.5


@dataclass(frozen=True)
class Scores:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 3), "recall": round(self.recall, 3), "f1": round(self.f1, 3),
            "tp": self.true_positives, "fp": self.false_positives, "fn": self.false_negatives,
        }


def match_spans(detected: list[tuple[int, int]], labelled: list[tuple[int, int]], slack: int = 1) -> int:
    """Detected spans that overlap a labelled span (with `slack` frames), each labelled span matched once."""
    used: set[int] = set()
    for start, end in detected:
        for number, (label_start, label_end) in enumerate(labelled):
            if number not in used and start <= label_end + slack and end >= label_start - slack:
                used.add(number)
                break
    return len(used)


def _score(pairs: list[tuple[list[tuple[int, int]], list[tuple[int, int]]]]) -> Scores:
    tp = fp = fn = 0
    for detected, labelled in pairs:
        matched = match_spans(detected, labelled)
        tp, fp, fn = tp + matched, fp + len(detected) - matched, fn + len(labelled) - matched
    return Scores(tp, fp, fn)


def zju_labelled_blinks(clip_dir: Path) -> list[tuple[int, int]]:
    """Labelled blink spans in OpenCV frame indices, through the clip's framemap."""
    tag = next(clip_dir.glob("*.tag"))
    frame_map = {}
    with open(next(clip_dir.glob("*_framemap.csv")), newline="") as handle:
        for row in csv.DictReader(handle):
            frame_map[int(row["ann_frame"])] = int(row["cv2_frame_index"])
    body = tag.read_text().split("#start", 1)[1].split("#end", 1)[0]
    spans: dict[int, list[int]] = defaultdict(list)
    for line in body.strip().splitlines():
        fields = line.split(":")
        frame, blink_id = int(fields[0]), int(fields[1])
        if blink_id != -1 and frame in frame_map:
            spans[blink_id].append(frame_map[frame])
    return [(min(frames), max(frames)) for _, frames in sorted(spans.items())]


def _threshold_spans(values: list[tuple[int, float | None]], closed) -> list[tuple[int, int]]:
    spans, start = [], None
    for index, value in values:
        if value is not None and closed(value):
            start = index if start is None else start
        elif start is not None:
            spans.append((start, index))
            start = None
    return spans


def evaluate_blinks(data_dir: Path, analyzer: FaceAnalyzer) -> dict[str, Any]:
    clips = sorted(
        (path for path in (data_dir / "zju_eyeblink").iterdir() if path.is_dir() and any(path.glob("*.avi"))),
        key=lambda path: int(path.name) if path.name.isdigit() else path.name,
    )
    ours: dict[str, list] = {name: [] for name in BLINK_FRAME_STEPS}
    textbook, blendshape, per_clip = [], [], []
    for clip in clips:
        labelled = zju_labelled_blinks(clip)
        analyses = [(index, t, analyzer.analyze(rgb)) for index, t, rgb in read_frames(next(clip.glob("*.avi")))]
        for rate, step in BLINK_FRAME_STEPS.items():
            detected = _tracked_blinks(analyses[::step])
            ours[rate].append((detected, labelled))
            if step == 1:
                per_clip.append({"clip": clip.name, "labelled": len(labelled), "detected": len(detected),
                                 "matched": match_spans(detected, labelled)})
        ears = [(index, analysis.face.ear if analysis.face else None) for index, _, analysis in analyses]
        blink_scores = [
            (index, (analysis.face.blendshapes["eyeBlinkLeft"] + analysis.face.blendshapes["eyeBlinkRight"]) / 2
             if analysis.face else None)
            for index, _, analysis in analyses
        ]
        textbook.append((_threshold_spans(ears, lambda ear: ear < TEXTBOOK_EAR_THRESHOLD), labelled))
        blendshape.append((_threshold_spans(blink_scores, lambda score: score > BLENDSHAPE_BLINK_THRESHOLD), labelled))
    return {
        "clips": len(clips),
        "labelled_blinks": sum(item["labelled"] for item in per_clip),
        "ours": {rate: _score(pairs).as_dict() for rate, pairs in ours.items()},
        "textbook_ear_0.2": _score(textbook).as_dict(),
        "blendshape_eyeblink_0.5": _score(blendshape).as_dict(),
        "per_clip": per_clip,
    }


def _tracked_blinks(analyses: list[tuple[int, float, FrameAnalysis]]) -> list[tuple[int, int]]:
    tracker = StudentTracker()
    records, _ = analyze_frames(analyses, None, tracker)
    return [(records[blink.start_frame].index, records[blink.end_frame].index) for blink in tracker.blinks]


def _analyze_image(analyzer: FaceAnalyzer, path: Path) -> FrameAnalysis:
    _, _, rgb = next(read_frames(path))
    return analyzer.analyze(rgb)


def evaluate_head_pose(data_dir: Path, analyzer: FaceAnalyzer) -> dict[str, Any]:
    errors: dict[str, list[float]] = {"yaw": [], "pitch": [], "roll": []}
    missed = []
    with open(data_dir / "aflw2000" / "poses_deg.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            face = _analyze_image(analyzer, data_dir / "aflw2000" / row["image"]).face
            if face is None:
                missed.append(row["image"])
                continue
            for axis in errors:
                errors[axis].append(abs(getattr(face, axis) - float(row[f"{axis}_deg"])))
    return {
        "images": len(errors["yaw"]) + len(missed),
        "faces_found": len(errors["yaw"]),
        "missed": missed,
        "mae_deg": {axis: round(sum(values) / len(values), 2) if values else None for axis, values in errors.items()},
    }


def evaluate_london(data_dir: Path, analyzer: FaceAnalyzer) -> dict[str, Any]:
    """Smiling-vs-neutral accuracy and face detection, overall and by the self-reported ethnicity and gender."""
    groups: dict[str, dict[str, list[bool]]] = defaultdict(lambda: {"face": [], "smile": []})
    with open(data_dir / "london_faces" / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            face = _analyze_image(analyzer, data_dir / "london_faces" / row["image"]).face
            found = face is not None
            correct = found and (face.smile >= 0.5) == (row["expression"] == "smiling")
            for key in ("all", f"ethnicity={row['ethnicity']}", f"gender={row['gender']}"):
                groups[key]["face"].append(found)
                groups[key]["smile"].append(correct)
    return {
        key: {
            "images": len(value["face"]),
            "face_rate": round(sum(value["face"]) / len(value["face"]), 3),
            "smile_accuracy": round(sum(value["smile"]) / len(value["smile"]), 3),
        }
        for key, value in sorted(groups.items(), key=lambda item: (item[0] != "all", item[0]))
    }


def evaluate_detection(data_dir: Path, analyzer: FaceAnalyzer) -> dict[str, Any]:
    false_faces = [name for name in NON_FACE_IMAGES if _analyze_image(analyzer, data_dir / name).faces > 0]
    missed = [name for name in FACE_IMAGES if _analyze_image(analyzer, data_dir / name).faces == 0]
    multi = _analyze_image(analyzer, data_dir / "pyfeat" / "multi_face.jpg").faces
    return {
        "face_images": len(FACE_IMAGES),
        "face_found_rate": round(1 - len(missed) / len(FACE_IMAGES), 3),
        "missed": missed,
        "non_face_images": len(NON_FACE_IMAGES),
        "false_face_rate": round(len(false_faces) / len(NON_FACE_IMAGES), 3),
        "false_faces": false_faces,
        "multi_face_count": multi,
    }


def evaluate_all(data_dir: Path, analyzer: FaceAnalyzer) -> dict[str, Any]:
    return {
        "blinks": evaluate_blinks(data_dir, analyzer),
        "head_pose": evaluate_head_pose(data_dir, analyzer),
        "london": evaluate_london(data_dir, analyzer),
        "detection": evaluate_detection(data_dir, analyzer),
    }


def format_report(report: dict[str, Any]) -> str:
    blinks = report["blinks"]
    lines = [f"Blinks on zju_eyeblink ({blinks['clips']} clips, {blinks['labelled_blinks']} labelled blinks)",
             f"  {'method':<34}{'precision':>10}{'recall':>8}{'F1':>8}"]
    rows = [(f"ours at {rate}", scores) for rate, scores in blinks["ours"].items()]
    rows += [("textbook EAR < 0.2 (30 fps)", blinks["textbook_ear_0.2"]),
             ("model eyeBlink > 0.5 (30 fps)", blinks["blendshape_eyeblink_0.5"])]
    lines += [f"  {name:<34}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>8.3f}" for name, s in rows]
    pose = report["head_pose"]
    mae = pose["mae_deg"]
    lines += ["", f"Head pose on aflw2000 ({pose['faces_found']} of {pose['images']} faces found)",
              f"  MAE yaw {mae['yaw']} deg, pitch {mae['pitch']} deg, roll {mae['roll']} deg"]
    lines += ["", "London faces: face found and smiling-vs-neutral accuracy",
              f"  {'group':<28}{'images':>7}{'face':>7}{'smile':>7}"]
    lines += [f"  {group:<28}{v['images']:>7}{v['face_rate']:>7.2f}{v['smile_accuracy']:>7.2f}"
              for group, v in report["london"].items()]
    detection = report["detection"]
    lines += ["", "Face detection",
              f"  face images: {detection['face_found_rate']:.2f} found of {detection['face_images']}"
              + (f" (missed {', '.join(detection['missed'])})" if detection["missed"] else ""),
              f"  non-face images: {detection['false_face_rate']:.2f} false faces of {detection['non_face_images']}"
              + (f" ({', '.join(detection['false_faces'])})" if detection["false_faces"] else ""),
              f"  pyfeat/multi_face.jpg: {detection['multi_face_count']} faces"]
    return "\n".join(lines)

