"""One frame in, the face signals out: MediaPipe's FaceLandmarker and what we derive from it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mediapipe.tasks.python.core.base_options import BaseOptions
from mediapipe.tasks.python.vision import FaceLandmarker, FaceLandmarkerOptions, RunningMode
from mediapipe.tasks.python.vision.core.image import Image, ImageFormat

from . import signals
from .model import load_model_bytes

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
        height, width = rgb.shape[:2]
        result = self.detect(rgb)
        if not result.face_landmarks:
            return FrameAnalysis(width=width, height=height, faces=0, face=None)
        scale = np.array([width, height, width], dtype=np.float64)
        meshes = [
            np.array([(point.x, point.y, point.z) for point in face], dtype=np.float64) * scale
            for face in result.face_landmarks
        ]
        main = max(range(len(meshes)), key=lambda index: np.ptp(meshes[index][:, 0]))
        face = _face_signals(
            rgb,
            meshes[main],
            {category.category_name: category.score for category in result.face_blendshapes[main]},
            result.facial_transformation_matrixes[main],
        )
        return FrameAnalysis(width=width, height=height, faces=len(meshes), face=face)


def _face_signals(
    rgb: np.ndarray, landmarks: np.ndarray, blendshapes: dict[str, float], transformation: np.ndarray
) -> FaceSignals:
    x_min, y_min = landmarks[:, :2].min(axis=0)
    x_max, y_max = landmarks[:, :2].max(axis=0)
    box = (int(x_min), int(y_min), int(round(x_max - x_min)), int(round(y_max - y_min)))
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
        quality=signals.face_quality(rgb, box, yaw, pitch),
    )
