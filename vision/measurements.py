"""Face measurements made on the student's own device, as the server receives them.

In a class with on-device analysis the student's browser runs the same FaceLandmarker on the camera picture and
sends, per frame, the model's outputs instead of the picture: the largest face's 478 landmarks, its 52
blendshape scores and its facial transformation matrix, plus the face box's brightness. This module reads that
message, refuses anything malformed with a FrameError that says why, and turns it into the FrameAnalysis a frame
would have given, through the same vision.face.face_signals: one code path after the landmarks.

A client can forge its own measurements: fine for its own feedback and engagement figures, which it could bend by
looking away anyway; never a basis for grading (docs/protocol.md says so).

The message, little-endian (docs/protocol.md, "On-device measurements"):

    offset  size  field
    0       4     magic b"SSM1"
    4       8     float64  capture time, milliseconds (the page's performance.now() clock)
    12      2     uint16   image width, pixels
    14      2     uint16   image height, pixels
    16      1     uint8    faces in view, at most vision.face.MAX_FACES
    17      1     uint8    mean luma of the largest face's box, 0-255
    18      2     reserved, 0
    -- only when faces >= 1, the largest face --
    20      2868  478 x (x, y, z) uint16: x and y in image widths and heights, quantised over LANDMARK_XY_RANGE;
                  z on the scale of x, quantised over LANDMARK_Z_RANGE
    2888    52    uint8    blendshape scores in MediaPipe's order (BLENDSHAPE_NAMES), score x 255
    2940    64    16 float32  facial transformation matrix, row-major

3004 bytes with a face, 20 without: a fifth of a 640x360 JPEG at quality 0.7.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from .decode import FrameError, MIN_FACE_FRAME_SIDE
from .face import MAX_FACES, FaceSignals, FrameAnalysis, face_signals, landmark_box

MAGIC = b"SSM1"
HEADER = struct.Struct("<4sdHHBBH")
LANDMARKS = 478
BLENDSHAPES = 52
# Landmarks run a little outside the picture when the face touches its edge; z stays well within +-1 widths.
LANDMARK_XY_RANGE = (-0.5, 1.5)
LANDMARK_Z_RANGE = (-1.0, 1.0)
LANDMARK_BYTES = LANDMARKS * 3 * 2
BLENDSHAPE_BYTES = BLENDSHAPES
MATRIX_BYTES = 16 * 4
FACE_BYTES = LANDMARK_BYTES + BLENDSHAPE_BYTES + MATRIX_BYTES
MESSAGE_BYTES_WITHOUT_FACE = HEADER.size
MESSAGE_BYTES_WITH_FACE = HEADER.size + FACE_BYTES
MAX_SIDE = 4096
# The model's matrix turns its canonical face into the one it sees: a rotation (and a translation). Its axes are
# of unit length and at right angles to within 1e-6 (255 faces of the shared clips and AFLW2000 images), and
# right-handed; a matrix that stretches, shears or mirrors the face was not made by the model. The tolerances are
# far wider than that, so a client that rounds the numbers (even to float16, 1e-3) is never refused.
AXIS_LENGTH_RANGE = (0.9, 1.1)
# The largest |cosine| between two axes: 0.02 is about a degree from a right angle.
MAX_AXIS_SKEW = 0.02
MAX_TRANSLATION = 1000.0

# MediaPipe FaceLandmarker's blendshape categories, in the order the model outputs them (index 0 to 51).
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft",
    "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft",
    "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft",
    "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)


class BadMeasurement(FrameError):
    code = "bad_measurement"


def is_measurement(data: bytes | bytearray | memoryview) -> bool:
    """A binary message that is a measurement, not an encoded picture (JPEG, PNG and WebP start otherwise)."""
    return bytes(data[:4]) == MAGIC


def measurement_time(data: bytes | bytearray | memoryview) -> float | None:
    """The capture time (ms) from the header alone, for the stream's clock before the whole message is read;
    None when the message is too short to hold one (read_measurement then says what is wrong)."""
    if len(data) < HEADER.size:
        return None
    return HEADER.unpack_from(data)[1]


def read_measurement(data: bytes | bytearray | memoryview) -> tuple[float, FrameAnalysis]:
    """(capture time in ms, the analysis) from one message; BadMeasurement saying what is wrong otherwise."""
    size = len(data)
    if size not in (MESSAGE_BYTES_WITHOUT_FACE, MESSAGE_BYTES_WITH_FACE):
        raise BadMeasurement(
            f"A measurement is {MESSAGE_BYTES_WITHOUT_FACE} bytes without a face or {MESSAGE_BYTES_WITH_FACE} with "
            f"one, not {size}."
        )
    magic, capture_ms, width, height, faces, brightness, reserved = HEADER.unpack_from(data)
    if magic != MAGIC or reserved != 0:
        raise BadMeasurement("This is not a SmartSession measurement (SSM1).")
    if not math.isfinite(capture_ms):
        raise BadMeasurement("The capture time is not a number.")
    if not (MIN_FACE_FRAME_SIDE <= width <= MAX_SIDE and MIN_FACE_FRAME_SIDE <= height <= MAX_SIDE):
        raise BadMeasurement(
            f"The image size {width}x{height} is outside {MIN_FACE_FRAME_SIDE}-{MAX_SIDE} pixels a side."
        )
    has_face = size == MESSAGE_BYTES_WITH_FACE
    if faces > MAX_FACES:
        raise BadMeasurement(f"The message says {faces} faces; the face model finds at most {MAX_FACES}.")
    if has_face != (faces > 0):
        raise BadMeasurement(f"The message says {faces} faces but {'carries' if has_face else 'lacks'} a face.")
    if not has_face:
        return capture_ms, FrameAnalysis(width=width, height=height, faces=0, face=None)
    return capture_ms, FrameAnalysis(width=width, height=height, faces=faces,
                                     face=_face(memoryview(data)[HEADER.size:], width, height, brightness))


def _dequantise(raw: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    low, high = value_range
    return raw.astype(np.float64) * ((high - low) / 65535.0) + low


def _face(body: memoryview, width: int, height: int, brightness: int) -> FaceSignals:
    quantised = np.frombuffer(body, dtype="<u2", count=LANDMARKS * 3).reshape(LANDMARKS, 3)
    landmarks = np.empty((LANDMARKS, 3), dtype=np.float64)
    landmarks[:, :2] = _dequantise(quantised[:, :2], LANDMARK_XY_RANGE)
    landmarks[:, 2] = _dequantise(quantised[:, 2], LANDMARK_Z_RANGE)
    landmarks *= np.array([width, height, width], dtype=np.float64)

    scores = np.frombuffer(body, dtype=np.uint8, count=BLENDSHAPES, offset=LANDMARK_BYTES) / 255.0
    blendshapes = dict(zip(BLENDSHAPE_NAMES, scores.tolist()))

    matrix = np.frombuffer(body, dtype="<f4", count=16, offset=LANDMARK_BYTES + BLENDSHAPE_BYTES)
    if not np.isfinite(matrix).all():
        raise BadMeasurement("The transformation matrix holds a value that is not a number.")
    matrix = matrix.astype(np.float64).reshape(4, 4)
    _check_rotation(matrix[:3, :3])
    if np.abs(matrix[:3, 3]).max() > MAX_TRANSLATION:
        raise BadMeasurement("The transformation matrix moves the face implausibly far.")

    return face_signals(landmarks, blendshapes, matrix, box=landmark_box(landmarks), brightness=float(brightness))


def _check_rotation(rotation: np.ndarray) -> None:
    axes = np.linalg.norm(rotation, axis=0)
    if not ((axes >= AXIS_LENGTH_RANGE[0]) & (axes <= AXIS_LENGTH_RANGE[1])).all():
        raise BadMeasurement(
            f"The transformation matrix is not a rotation: its axes are {', '.join(f'{a:.3g}' for a in axes)} long, "
            f"not {AXIS_LENGTH_RANGE[0]} to {AXIS_LENGTH_RANGE[1]}."
        )
    unit = rotation / axes
    skew = float(np.abs(unit.T @ unit - np.eye(3)).max())
    if skew > MAX_AXIS_SKEW:
        raise BadMeasurement(f"The transformation matrix is not a rotation: its axes are not at right angles "
                             f"(off by {skew:.3g}, at most {MAX_AXIS_SKEW}).")
    if np.linalg.det(unit) <= 0:
        raise BadMeasurement("The transformation matrix is not a rotation: it mirrors the face (its determinant is "
                             "negative).")


def quantise_landmarks(normalised: np.ndarray) -> np.ndarray:
    """(478, 3) normalised landmarks (x, y in image sizes, z on x's scale) to the message's uint16 triples."""
    out = np.empty(normalised.shape, dtype="<u2")
    for columns, (low, high) in (((0, 1), LANDMARK_XY_RANGE), ((2,), LANDMARK_Z_RANGE)):
        scaled = (normalised[:, list(columns)] - low) / (high - low) * 65535.0
        out[:, list(columns)] = np.clip(np.rint(scaled), 0, 65535)
    return out


def measurement_of(analysis: FrameAnalysis, capture_ms: float) -> bytes:
    """The message a device would send for what the server's own model saw in a frame."""
    face = analysis.face
    if face is None:
        return write_measurement(capture_ms=capture_ms, width=analysis.width, height=analysis.height, faces=0,
                                 brightness=0)
    scale = np.array([analysis.width, analysis.height, analysis.width], dtype=np.float64)
    return write_measurement(capture_ms=capture_ms, width=analysis.width, height=analysis.height,
                             faces=analysis.faces, brightness=face.quality.brightness, landmarks=face.landmarks / scale,
                             blendshapes=face.blendshapes, matrix=face.transformation)


def write_measurement(*, capture_ms: float, width: int, height: int, faces: int, brightness: float,
                      landmarks: np.ndarray | None = None, blendshapes: dict[str, float] | None = None,
                      matrix: np.ndarray | None = None) -> bytes:
    """The message a device sends (the browser writes the same bytes in static/js); for tests and the load
    generator, which replay measurements made by the Python model on real clips."""
    header = HEADER.pack(MAGIC, capture_ms, width, height, faces, int(round(min(max(brightness, 0), 255))), 0)
    if landmarks is None:
        return header
    scores = np.array([blendshapes.get(name, 0.0) for name in BLENDSHAPE_NAMES])
    return b"".join((
        header,
        quantise_landmarks(landmarks).tobytes(),
        np.clip(np.rint(scores * 255.0), 0, 255).astype(np.uint8).tobytes(),
        np.asarray(matrix, dtype="<f4").reshape(16).tobytes(),
    ))
