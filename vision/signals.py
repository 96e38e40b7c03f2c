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
# Forehead and chin on the mesh's midline: with the eye line they give the face's own up-down axis in 3-D.
FOREHEAD = 10
CHIN = 152
NOSE_TIP = 1
# A smile (AU12, lip corner puller) raises the face model's mouthSmile, widens the mouth and lifts its corners;
# most smiles also raise the upper lip (mouthUpperUp rose in all 15 smiles of the shared London faces). The
# corners' lift is measured against two anchors: the lips' centre, which rides up with the corners in a closed-lip
# smile, and the nose tip, which the mouth barely moves (against it the corners rose in 13 of the 15 London smiles,
# by 0.03 to 0.04 interocular distances in the two smallest, 005's and 024's, where the lift against the lips'
# centre was 0.005 to 0.01). Against a student's own resting face, each cue's rise is counted in units of how far
# it moves without a smile, measured on the shared clips that are not the London faces: in the 40 ZJU clips (10
# people sitting still and blinking, 320x240) the 3-D corner lift moves up to 0.036 interocular distances above the
# clip's median, the corners' height over the nose up to 0.042, the upper-lip raise up to 0.20, and the mouth width
# up to 14% in single frames (12% at the 99th percentile; its unit is 12.5%). mouthSmile moves up to 0.099 there,
# but those faces rest near 0, where the model is steady; between 0.2 and 0.4, where some resting faces sit (full
# lips, a mouth that turns up at rest), its frame-to-frame change reaches 0.2 (90th percentile, pyfeat's
# WolfgangLanger_Pexels.mp4), so its unit is 0.2.
REST_EXCURSION_MOUTH_SMILE = 0.2
REST_EXCURSION_MOUTH_WIDTH = 0.125
REST_EXCURSION_CORNER_LIFT = 0.035
REST_EXCURSION_UPPER_LIP = 0.2
REST_EXCURSION_CORNER_HEIGHT = 0.042
# One frame alone, with no resting face to compare with, reads as a smile at the face model's own midpoint.
SMILE_THRESHOLD = 0.5
# Not used: MediaPipe's cheekSquint (AU6, the cheek raise of a real smile) stays at 0.000 on every face of the
# shared data, smiling or not; and eye narrowing, because the eye aspect ratio also falls with blinks,
# drowsiness and looking down, which the tracker reads from the eyes.

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


@dataclass(frozen=True)
class SmileFeatures:
    """What a smile changes in one frame, each measured so that it holds across faces and head poses."""

    mouth_smile: float  # the face model's mouthSmile activation, mean of left and right, 0..1
    mouth_width: float  # mouth corners' distance over the outer eye corners' distance, in 3-D
    corner_lift: float  # corners above the lips' centre along the face's own up axis, in interocular distances
    upper_lip_raise: float  # the face model's mouthUpperUp activation, mean of left and right, 0..1
    corner_height: float  # corners' height over the nose tip along the face's up axis, in interocular distances


def smile_features(blendshapes: Mapping[str, float], landmarks: np.ndarray) -> SmileFeatures:
    """The smile cues of one frame, from its blendshapes and its (478, 3) landmarks.

    Distances are taken in 3-D, and the corners' lift (over the lips' centre) and height (over the nose tip)
    along the face's own up axis (forehead to chin, made perpendicular to the eye line), so a head tilted up or
    down does not read as a lift: measured in the image instead, the lift of the same resting face moves by about
    0.1 interocular distances between a camera at eye level and one below the chin (shared ZJU clips), three
    times a smile's usual lift.
    """
    points = np.asarray(landmarks, dtype=float)
    right_eye, left_eye = points[RIGHT_EYE_CORNERS[0]], points[LEFT_EYE_CORNERS[1]]
    eye_line = left_eye - right_eye
    interocular = float(np.linalg.norm(eye_line)) or 1.0
    across = eye_line / interocular
    down = points[CHIN] - points[FOREHEAD]
    down = down - float(down @ across) * across
    down /= float(np.linalg.norm(down)) or 1.0
    lips_centre = (points[UPPER_LIP_INNER] + points[LOWER_LIP_INNER]) / 2.0
    corners = points[list(MOUTH_CORNERS)]
    lift = float((lips_centre - corners.mean(axis=0)) @ down) / interocular
    width = float(np.linalg.norm(corners[1] - corners[0])) / interocular
    height = float((points[NOSE_TIP] - corners.mean(axis=0)) @ down) / interocular
    return SmileFeatures(mouth_smile=_pair(blendshapes, "mouthSmile"), mouth_width=width, corner_lift=lift,
                          upper_lip_raise=_pair(blendshapes, "mouthUpperUp"), corner_height=height)


def smile_score(blendshapes: Mapping[str, float]) -> float:
    """0..1 from one frame alone: the face model's own mouthSmile activation (mean of left and right).

    With no resting face to compare with, nothing of ours is added: a population threshold on lip shape reads
    some resting faces as smiles (full lips, a mouth that turns up at rest) and misses small smiles on others.
    The tracker decides "happy" from smile_rise over the student's own resting face instead.
    """
    return _clip(_pair(blendshapes, "mouthSmile"), 0.0, 1.0)


def smile_rise(features: SmileFeatures, resting: SmileFeatures) -> float:
    """How far a frame's smile cues stand above a resting face, summed in units of how far each moves at rest.

    1.0 is a rise as large as one cue's largest movement without a smile, on one cue or spread over several.
    """
    width_ratio = features.mouth_width / resting.mouth_width if resting.mouth_width > 0 else 1.0
    return (
        (features.mouth_smile - resting.mouth_smile) / REST_EXCURSION_MOUTH_SMILE
        + (width_ratio - 1.0) / REST_EXCURSION_MOUTH_WIDTH
        + (features.corner_lift - resting.corner_lift) / REST_EXCURSION_CORNER_LIFT
        + (features.upper_lip_raise - resting.upper_lip_raise) / REST_EXCURSION_UPPER_LIP
        + (features.corner_height - resting.corner_height) / REST_EXCURSION_CORNER_HEIGHT
    )


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
