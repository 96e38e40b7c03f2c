"""Run the engine over image and video files: the shared path of `analyze`, `evaluate` and the tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .decode import decode_frame
from .face import FaceAnalyzer, FrameAnalysis
from .tracker import STATES, Status, StudentTracker

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".y4m", ".mjpeg", ".mjpg"}
# Files on disk are the user's own: allow photos far larger than a webcam frame.
FILE_MAX_BYTES = 64 * 1024 * 1024


class MediaError(RuntimeError):
    """A file that cannot be opened as an image or a video."""


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def read_frames(path: Path) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, t in seconds, RGB frame) for every frame OpenCV decodes, in order; a photo is one frame at t=0."""
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    if not is_video(path):
        yield 0, 0.0, decode_frame(path.read_bytes(), max_bytes=FILE_MAX_BYTES)
        return
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise MediaError(f"{path}: OpenCV cannot open this video")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    index = 0
    last_t = -1.0
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            # The container's own timestamps: some AVIs repeat frames OpenCV skips, so index / fps would drift.
            t = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not t > last_t:
                t = index / fps if index / fps > last_t else last_t + 1.0 / fps
            last_t = t
            yield index, t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()


@dataclass
class FrameRecord:
    index: int
    t: float
    analysis: FrameAnalysis
    status: Status


def analyze_frames(
    frames: Iterator[tuple[int, float, np.ndarray]] | list[tuple[int, float, FrameAnalysis]],
    analyzer: FaceAnalyzer | None,
    tracker: StudentTracker,
) -> tuple[list[FrameRecord], float]:
    """Feed frames (or already computed analyses, with analyzer=None) through a tracker; returns the records
    and the mean milliseconds per frame spent in analysis and tracking."""
    records: list[FrameRecord] = []
    spent = 0.0
    for index, t, item in frames:
        started = time.perf_counter()
        analysis = analyzer.analyze(item) if analyzer is not None else item
        status = tracker.update(t, analysis)
        spent += time.perf_counter() - started
        records.append(FrameRecord(index=index, t=t, analysis=analysis, status=status))
    return records, (1000.0 * spent / len(records) if records else 0.0)


def frame_json(record: FrameRecord) -> dict[str, Any]:
    status = record.status
    return {
        "index": record.index,
        "t": round(record.t, 3),
        "faces": status.faces,
        "face": status.face,
        "ear": None if status.ear is None else round(status.ear, 4),
        "eyes_closed": status.eyes_closed,
        "blink": status.blink is not None,
        "state": status.state,
        "engagement": status.engagement,
        "yaw": None if status.yaw is None else round(status.yaw, 1),
        "pitch": None if status.pitch is None else round(status.pitch, 1),
        "roll": None if status.roll is None else round(status.roll, 1),
        "gaze_x": None if status.gaze_x is None else round(status.gaze_x, 3),
        "gaze_y": None if status.gaze_y is None else round(status.gaze_y, 3),
        "smile": None if status.smile is None else round(status.smile, 3),
        "smile_rise": None if status.smile_rise is None else round(status.smile_rise, 2),
        "confusion": None if status.confusion is None else round(status.confusion, 3),
        "quality": status.quality,
    }


def summarize(source: str, records: list[FrameRecord], tracker: StudentTracker, ms_per_frame: float) -> dict[str, Any]:
    face_ears = [record.status.ear for record in records if record.status.ear is not None]
    duration_s = records[-1].t - records[0].t if len(records) > 1 else 0.0
    if len(records) > 1:
        duration_s += duration_s / (len(records) - 1)  # the last frame lasts one frame interval too
    return {
        "source": source,
        "frames": [frame_json(record) for record in records],
        "blinks": [
            {
                "start_frame": records[blink.start_frame].index,
                "end_frame": records[blink.end_frame].index,
                "start_t": round(blink.start_t, 3),
                "end_t": round(blink.end_t, 3),
            }
            for blink in tracker.blinks
        ],
        "summary": {
            "frames": len(records),
            "face_frames": len(face_ears),
            "blinks": tracker.blink_count,
            "blink_rate_per_min": round(tracker.blink_count * 60.0 / duration_s, 1) if duration_s > 0 else 0.0,
            "mean_ear": round(float(np.mean(face_ears)), 4) if face_ears else None,
            "perclos": round(tracker.eyes_shut_s / tracker.observed_s, 3) if tracker.observed_s > 0 else 0.0,
            "time_in_state": {state: round(tracker.time_in_state[state], 2) for state in STATES},
            "ms_per_frame": round(ms_per_frame, 2),
        },
    }


def analyze_file(path: Path, analyzer: FaceAnalyzer, *, expressions: bool = True) -> dict[str, Any]:
    tracker = StudentTracker(expressions=expressions)
    records, ms_per_frame = analyze_frames(read_frames(path), analyzer, tracker)
    if not records:
        raise MediaError(f"{path}: no frame could be decoded")
    return summarize(str(path), records, tracker, ms_per_frame)
