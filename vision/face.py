"""One frame in, the face signals out: MediaPipe's FaceLandmarker and what we derive from it."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

import cv2
import numpy as np
from mediapipe.tasks.python.components.containers.landmark_c import MpNormalizedLandmarkC
from mediapipe.tasks.python.core.base_options import BaseOptions
from mediapipe.tasks.python.vision import FaceLandmarker, FaceLandmarkerOptions, RunningMode
from mediapipe.tasks.python.vision.core.image import Image, ImageFormat
from mediapipe.tasks.python.vision.face_landmarker import MpFaceLandmarkerResultC

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


# MediaPipe's C landmark (x, y, z floats first, then visibility, presence and a name) read as three floats.
_LANDMARK_XYZ = np.dtype({"names": ["xyz"], "formats": [(np.float32, 3)],
                          "offsets": [MpNormalizedLandmarkC.x.offset], "itemsize": ctypes.sizeof(MpNormalizedLandmarkC)})
assert (MpNormalizedLandmarkC.y.offset, MpNormalizedLandmarkC.z.offset) == (4, 8), "x, y, z must be packed floats"


@dataclass(frozen=True)
class ModelResult:
    """What the landmarker found, per face: its landmarks as a (478, 3) array of normalised x, y, z, its
    blendshape scores by name and its 4x4 facial transformation matrix."""

    landmarks: list[np.ndarray]
    blendshapes: list[dict[str, float]]
    transformations: list[np.ndarray]

    @classmethod
    def from_c(cls, result: MpFaceLandmarkerResultC) -> ModelResult:
        """Copies out of MediaPipe's C result, which is freed after. FaceLandmarker.detect makes a Python object of
        every landmark instead (478 a face), with the GIL held: under load, a third of a server's GIL time."""
        landmarks = []
        for index in range(result.face_landmarks_count):
            face = result.face_landmarks[index]
            if not face.landmarks_count:
                landmarks.append(np.empty((0, 3)))
                continue
            size = face.landmarks_count * _LANDMARK_XYZ.itemsize
            memory = (ctypes.c_char * size).from_address(ctypes.addressof(face.landmarks.contents))
            landmarks.append(np.frombuffer(memory, dtype=_LANDMARK_XYZ)["xyz"].astype(np.float64))
        blendshapes = []
        for index in range(result.face_blendshapes_count):
            categories = result.face_blendshapes[index]
            blendshapes.append({
                category.category_name.decode(): category.score
                for category in categories.categories[:categories.categories_count]
            })
        transformations = [result.facial_transformation_matrixes[index].to_numpy()
                           for index in range(result.facial_transformation_matrixes_count)]
        return cls(landmarks, blendshapes, transformations)


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

    def detect(self, rgb: np.ndarray) -> ModelResult:
        """Bare model inference on an HxWx3 uint8 RGB array (what `bench` compares our whole cost with).

        FaceLandmarker.detect's own call into MediaPipe's C library (mediapipe is pinned), with the result read as
        arrays (ModelResult.from_c); tests/test_vision_face.py checks it against FaceLandmarker.detect."""
        image = Image(image_format=ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        landmarker = self._landmarker
        result = MpFaceLandmarkerResultC()
        landmarker._lib.MpFaceLandmarkerDetectImage(landmarker._handle, image._image_ptr, None, ctypes.byref(result))
        try:
            return ModelResult.from_c(result)
        finally:
            landmarker._lib.MpFaceLandmarkerCloseResult(ctypes.byref(result))

    def analyze(self, rgb: np.ndarray) -> FrameAnalysis:
        return self.analysis_from_result(rgb, self.detect(rgb))

    @staticmethod
    def analysis_from_result(rgb: np.ndarray, result: ModelResult) -> FrameAnalysis:
        """Our part of the work on the model's result: the signals of the main face."""
        height, width = rgb.shape[:2]
        if not result.landmarks:
            return FrameAnalysis(width=width, height=height, faces=0, face=None)
        # Only the largest face is analysed: the widest between its two cheek points.
        main = max(range(len(result.landmarks)), key=lambda index: _face_width(result.landmarks[index]))
        landmarks = result.landmarks[main] * np.array([width, height, width], dtype=np.float64)
        box = landmark_box(landmarks)
        face = face_signals(
            landmarks,
            result.blendshapes[main],
            result.transformations[main],
            box=box,
            brightness=signals.box_brightness(rgb, box),
        )
        return FrameAnalysis(width=width, height=height, faces=len(result.landmarks), face=face)


# The mesh's left and right cheek contour points: their distance is the face's width.
CHEEK_POINTS = (234, 454)


def _face_width(normalised: np.ndarray) -> float:
    return abs(normalised[CHEEK_POINTS[1], 0] - normalised[CHEEK_POINTS[0], 0])


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
        smile=signals.smile_score(blendshapes),
        confusion=signals.confusion_score(blendshapes),
        blendshapes=blendshapes,
        quality=signals.face_quality(box, yaw, pitch, brightness),
        transformation=np.asarray(transformation, dtype=np.float64),
    )
