"""Per-frame signals computed from MediaPipe's face mesh: small pure functions on NumPy arrays.

Coordinates are image pixels (x right, y down). "Left" and "right" are the student's own, so the student's
right eye is on the image's left. Angles follow AFLW2000: pitch > 0 looks up, yaw > 0 turns toward the
image's left, roll > 0 tilts the head clockwise as the camera sees it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

# The six eye points of Soukupová & Čech (2016), p1..p6, on MediaPipe's 468-point mesh:
# p1/p4 the corners, p2/p3 the upper lid, p6/p5 the lower lid below them.
RIGHT_EYE_EAR_POINTS = (33, 160, 158, 133, 153, 144)
LEFT_EYE_EAR_POINTS = (362, 385, 387, 263, 373, 380)
# Eye corners in image-left to image-right order, and the iris centres of the 478-point model.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
RIGHT_IRIS_CENTER = 468
LEFT_IRIS_CENTER = 473

MOUTH_CORNERS = (61, 291)
UPPER_LIP_INNER = 13
LOWER_LIP_INNER = 14
INNER_LIP_CONTOUR = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
# Smile calibration, from the shared London faces (15 people, neutral and smiling): neutral corner lifts stay
# under 0.04 interocular distances and neutral lip gaps under 0.0012; smiles showing teeth part the lips to 0.007-0.08.
SMILE_LIFT_GAIN = 5.0
LIPS_PARTED_AREA = 0.01
JAW_CLOSED = 0.15

# Confusion: brow lowering is the strongest cue of effortful attention/puzzlement (AU4, Grafsgaard et al.
# 2013 on tutoring sessions), inner-brow raise (AU1), squint (AU7) and lip press (AU24) add to it.
CONFUSION_WEIGHTS = {"browDown": 0.4, "browInnerUp": 0.2, "eyeSquint": 0.2, "mouthPress": 0.2}
# Blendshape activations rarely pass ~0.6 even on posed expressions; this gain maps a clear expression near 1.
CONFUSION_GAIN = 2.0


def eye_aspect_ratio(points: np.ndarray) -> float:
    """EAR of one eye from its six points p1..p6 (rows of x, y): (|p2-p6| + |p3-p5|) / (2 |p1-p4|)."""
    # Plain floats: for six points NumPy's per-call overhead would cost more than the arithmetic.
    p1, p2, p3, p4, p5, p6 = (point[:2] for point in np.asarray(points).tolist())
    width = math.dist(p1, p4)
    if width == 0.0:
        return 0.0
    return (math.dist(p2, p6) + math.dist(p3, p5)) / (2.0 * width)


def eye_aspect_ratios(landmarks: np.ndarray) -> tuple[float, float]:
    """(left, right) EAR of the student's eyes from the full mesh in pixels."""
    left = eye_aspect_ratio(landmarks[list(LEFT_EYE_EAR_POINTS)])
    right = eye_aspect_ratio(landmarks[list(RIGHT_EYE_EAR_POINTS)])
    return left, right


def _iris_offset(landmarks: np.ndarray, corners: tuple[int, int], iris: int) -> tuple[float, float]:
    """Iris centre relative to the eye centre, along and across the corner line, in half eye widths."""
    (start_x, start_y), (end_x, end_y), (iris_x, iris_y) = landmarks[[corners[0], corners[1], iris], :2].tolist()
    axis_x, axis_y = end_x - start_x, end_y - start_y
    width = math.hypot(axis_x, axis_y)
    if width == 0.0:
        return 0.0, 0.0
    offset_x, offset_y = iris_x - (start_x + end_x) / 2.0, iris_y - (start_y + end_y) / 2.0
    # Along the eye line, and across it (pointing down the image when the eye line is level).
    along = (offset_x * axis_x + offset_y * axis_y) / width
    across = (-offset_x * axis_y + offset_y * axis_x) / width
    return along / (width / 2.0), across / (width / 2.0)


def iris_gaze(landmarks: np.ndarray) -> tuple[float, float]:
    """Gaze (x, y) in -1..1 from both irises: x > 0 toward the image's left, y > 0 up, like yaw and pitch.

    Each value is the iris centre's offset from the eye centre in half eye widths, averaged over both eyes.
    Vertical offsets are small (the lids follow the eye), so y is doubled to use the same range.
    """
    right_along, right_across = _iris_offset(landmarks, RIGHT_EYE_CORNERS, RIGHT_IRIS_CENTER)
    left_along, left_across = _iris_offset(landmarks, LEFT_EYE_CORNERS, LEFT_IRIS_CENTER)
    gaze_x = -(right_along + left_along) / 2.0
    gaze_y = -(right_across + left_across)
    return _clip(gaze_x, -1.0, 1.0), _clip(gaze_y, -1.0, 1.0)


def head_pose(transformation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from MediaPipe's 4x4 facial transformation matrix, AFLW2000 signs.

    The matrix maps the canonical face into camera space; its transpose decomposed the way 3DDFA decomposes
    AFLW2000's own rotations (yaw = asin R20, pitch = atan2(R21, R22), roll = atan2(R10, R00)) gives angles
    that match AFLW2000 with yaw negated (checked on the shared aflw2000 images: MAE about 5, 5 and 2 degrees).
    """
    rotation = np.asarray(transformation, dtype=float)[:3, :3].T
    yaw = -math.degrees(math.asin(_clip(float(rotation[2, 0]), -1.0, 1.0)))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return yaw, pitch, roll


def _pair(blendshapes: Mapping[str, float], name: str) -> float:
    return (blendshapes.get(name + "Left", 0.0) + blendshapes.get(name + "Right", 0.0)) / 2.0


def _interocular(landmarks: np.ndarray) -> tuple[float, float, float]:
    """The outer eye corners' distance and the unit vector down the face, perpendicular to the eye line."""
    (right_x, right_y), (left_x, left_y) = landmarks[[RIGHT_EYE_CORNERS[0], LEFT_EYE_CORNERS[1]], :2].tolist()
    distance = math.hypot(left_x - right_x, left_y - right_y) or 1.0
    return distance, -(left_y - right_y) / distance, (left_x - right_x) / distance


def mouth_corner_lift(landmarks: np.ndarray) -> float:
    """How far the mouth corners sit above the centre of the lips, in interocular distances (AU12 lifts them).

    Measured in the face's own frame, so a tilted head does not read as a smile.
    """
    interocular, down_x, down_y = _interocular(landmarks)
    (upper_x, upper_y), (lower_x, lower_y), (left_x, left_y), (right_x, right_y) = landmarks[
        [UPPER_LIP_INNER, LOWER_LIP_INNER, MOUTH_CORNERS[0], MOUTH_CORNERS[1]], :2
    ].tolist()
    lift_x = (upper_x + lower_x - left_x - right_x) / 2.0
    lift_y = (upper_y + lower_y - left_y - right_y) / 2.0
    return (lift_x * down_x + lift_y * down_y) / interocular


def lip_gap_area(landmarks: np.ndarray) -> float:
    """Area inside the inner lip contour, in squared interocular distances (0 with the lips together)."""
    interocular, _, _ = _interocular(landmarks)
    points = landmarks[list(INNER_LIP_CONTOUR), :2].tolist()
    twice_area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]))
    return abs(twice_area) / 2.0 / (interocular * interocular)


def smile_score(blendshapes: Mapping[str, float], landmarks: np.ndarray) -> float:
    """0..1: the larger of a corner smile and a toothy smile.

    Corner smile: mean mouthSmile activation + SMILE_LIFT_GAIN x mouth_corner_lift. The blendshape alone misses
    subtle closed-mouth smiles (accuracy 0.8 on the shared London faces at 0.5); the corners' lift adds them.
    Toothy smile: lips parted (lip_gap_area / LIPS_PARTED_AREA) while the jaw stays closed (jawOpen below
    JAW_CLOSED); the blendshape model scores some broad smiles showing teeth near zero. Talking opens the jaw.
    """
    corner_smile = _pair(blendshapes, "mouthSmile") + SMILE_LIFT_GAIN * mouth_corner_lift(landmarks)
    parted = _clip(lip_gap_area(landmarks) / LIPS_PARTED_AREA, 0.0, 1.0)
    jaw_closed = 1.0 - _clip(blendshapes.get("jawOpen", 0.0) / JAW_CLOSED, 0.0, 1.0)
    return _clip(max(corner_smile, parted * jaw_closed), 0.0, 1.0)


def confusion_score(blendshapes: Mapping[str, float]) -> float:
    """0..1: CONFUSION_GAIN x (0.4 browDown + 0.2 browInnerUp + 0.2 eyeSquint + 0.2 mouthPress), clipped.

    browDown, eyeSquint and mouthPress are means of the left and right activations.
    """
    weighted = (
        CONFUSION_WEIGHTS["browDown"] * _pair(blendshapes, "browDown")
        + CONFUSION_WEIGHTS["browInnerUp"] * blendshapes.get("browInnerUp", 0.0)
        + CONFUSION_WEIGHTS["eyeSquint"] * _pair(blendshapes, "eyeSquint")
        + CONFUSION_WEIGHTS["mouthPress"] * _pair(blendshapes, "mouthPress")
    )
    return _clip(CONFUSION_GAIN * weighted, 0.0, 1.0)


@dataclass(frozen=True)
class Quality:
    """How far the frame's signals can be trusted."""

    face_px: float  # width of the face's landmark box in pixels
    brightness: float  # mean luma of the face box, 0..255
    frontal: float  # cos(yaw) * cos(pitch): 1 facing the camera, 0 in profile


def box_brightness(rgb: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Mean luma (0..255) of the face box in an RGB picture."""
    x, y, width, height = box
    # Every fourth row is plenty for a mean; whole rows keep the view contiguous, so OpenCV reads it in place.
    patch = rgb[max(y, 0) : y + height : 4, max(x, 0) : x + width]
    if not patch.size:
        return 0.0
    red, green, blue, _ = cv2.mean(patch)
    return 0.299 * red + 0.587 * green + 0.114 * blue


def face_quality(box: tuple[int, int, int, int], yaw: float, pitch: float, brightness: float) -> Quality:
    frontal = max(0.0, math.cos(math.radians(yaw)) * math.cos(math.radians(pitch)))
    return Quality(face_px=float(box[2]), brightness=brightness, frontal=frontal)


def _clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value
