"""One frame in, the face signals out: MediaPipe's FaceLandmarker and what we derive from it."""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field

import cv2
import numpy as np
from mediapipe.tasks.python.core.base_options import BaseOptions
from mediapipe.tasks.python.vision import FaceLandmarker, FaceLandmarkerOptions, RunningMode
from mediapipe.tasks.python.vision.core.image import Image, ImageFormat

from . import signals
from .model import load_model_bytes
from .quiet import native_chatter_silenced

# Enough to notice a second person in view; each found face costs one more landmark-model run.
MAX_FACES = 4
MIN_DETECTION_CONFIDENCE = 0.5
# The landmark model's own "is this a face" score. At 0.5 it accepts a jellyfish (shared nonface/bright-4642061);
# 0.7 rejects it while every real face in the shared data is kept, so 0.75 leaves margin on both sides.
MIN_PRESENCE_CONFIDENCE = 0.75


@dataclass(frozen=True)
class FaceSignals:
    """Signals of the main (largest) face in a frame."""

    landmarks: np.ndarray = field(repr=False)  # (478, 3): x, y in pixels, z in the same scale as x
    box: tuple[int, int, int, int]  # x, y, width, height of the landmarks in pixels
    ear_left: float
    ear_right: float
    gaze_x: float
    gaze_y: float
    yaw: float
    pitch: float
    roll: float
    smile: float
    confusion: float
    blendshapes: dict[str, float] = field(repr=False)
    quality: signals.Quality
    transformation: np.ndarray = field(repr=False)  # the model's 4x4 facial transformation matrix

    @property
    def ear(self) -> float:
        return (self.ear_left + self.ear_right) / 2.0


@dataclass(frozen=True)
class FrameAnalysis:
    width: int
    height: int
    faces: int
    face: FaceSignals | None


class FaceAnalyzer:
    """Wraps one FaceLandmarker. Not thread-safe: give each worker thread its own (about 24 MB each)."""

    def __init__(self, model: bytes | None = None, *, max_faces: int = MAX_FACES) -> None:
        options = FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=model if model is not None else load_model_bytes()),
            running_mode=RunningMode.IMAGE,
            num_faces=max_faces,
            min_face_detection_confidence=MIN_DETECTION_CONFIDENCE,
            min_face_presence_confidence=MIN_PRESENCE_CONFIDENCE,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        with native_chatter_silenced():
            self._landmarker = FaceLandmarker.create_from_options(options)

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def detect(self, rgb: np.ndarray):
        """Bare model inference on an HxWx3 uint8 RGB array (what `bench` compares our whole cost with)."""
        return self._landmarker.detect(Image(image_format=ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))

    def analyze(self, rgb: np.ndarray) -> FrameAnalysis:
        return self.analysis_from_result(rgb, self.detect(rgb))

    @staticmethod
    def analysis_from_result(rgb: np.ndarray, result) -> FrameAnalysis:
        """Our part of the work on the model's result: the signals of the main face."""
        height, width = rgb.shape[:2]
        if not result.face_landmarks:
            return FrameAnalysis(width=width, height=height, faces=0, face=None)
        # Only the largest face is analysed; its width is read from two cheek points before any conversion.
        main = max(range(len(result.face_landmarks)), key=lambda index: _face_width(result.face_landmarks[index]))
        landmarks = _to_pixels(result.face_landmarks[main], width, height)
        box = landmark_box(landmarks)
        face = face_signals(
            landmarks,
            {category.category_name: category.score for category in result.face_blendshapes[main]},
            result.facial_transformation_matrixes[main],
            box=box,
            brightness=signals.box_brightness(rgb, box),
        )
        return FrameAnalysis(width=width, height=height, faces=len(result.face_landmarks), face=face)


# The mesh's left and right cheek contour points: their distance is the face's width.
CHEEK_POINTS = (234, 454)
_XYZ = operator.attrgetter("x", "y", "z")


def _face_width(face) -> float:
    return abs(face[CHEEK_POINTS[1]].x - face[CHEEK_POINTS[0]].x)


def _to_pixels(face, width: int, height: int) -> np.ndarray:
    """(478, 3) array of x, y in pixels and z on the x scale; fromiter skips building a tuple list."""
    flat = np.fromiter(itertools.chain.from_iterable(map(_XYZ, face)), dtype=np.float64, count=3 * len(face))
    return flat.reshape(-1, 3) * np.array([width, height, width], dtype=np.float64)


def landmark_box(landmarks: np.ndarray) -> tuple[int, int, int, int]:
    """x, y, width, height in pixels of the box around the landmarks."""
    return cv2.boundingRect(landmarks[:, :2].astype(np.float32))


def face_signals(
    landmarks: np.ndarray,
    blendshapes: dict[str, float],
    transformation: np.ndarray,
    *,
    box: tuple[int, int, int, int],
    brightness: float,
) -> FaceSignals:
    """Every signal of one face from the model's outputs: what a frame gives on the server, or what the student's
    device measured with the same model (vision.measurements). `brightness` is the face box's mean luma."""
    ear_left, ear_right = signals.eye_aspect_ratios(landmarks)
    gaze_x, gaze_y = signals.iris_gaze(landmarks)
    yaw, pitch, roll = signals.head_pose(transformation)
    return FaceSignals(
        landmarks=landmarks,
        box=box,
        ear_left=ear_left,
        ear_right=ear_right,
        gaze_x=gaze_x,
        gaze_y=gaze_y,
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        smile=signals.smile_score(blendshapes, landmarks),
        confusion=signals.confusion_score(blendshapes),
        blendshapes=blendshapes,
        quality=signals.face_quality(box, yaw, pitch, brightness),
        transformation=np.asarray(transformation, dtype=np.float64),
    )
