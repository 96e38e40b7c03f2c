"""Per-student state over time: blinks, PERCLOS, a learned neutral pose, the state with reasons, engagement.

Fed (timestamp in seconds, FrameAnalysis) and driven by the timestamps, never by frame counts, so it
behaves the same at 2 fps and at 30 fps. One tracker per student stream; not thread-safe.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .blinks import Blink, BlinkDetector
from .face import FrameAnalysis
from .rolling import RollingMedian
from .signals import SmileFeatures, smile_features, smile_rise

STATES = ("focused", "happy", "confused", "distracted", "drowsy", "absent")
# States whose rule has no labelled data behind it yet: show them as experimental wherever people see them.
EXPERIMENTAL_STATES = ("confused",)

# A face missing this long makes the student absent; a shorter gap is a dropped frame or a quick stretch.
ABSENT_AFTER_S = 2.0
# "A glance away is not distraction; about 2 s is." Coming back counts after a second of looking again.
AWAY_AFTER_S = 2.0
BACK_AFTER_S = 1.0
# Head turned beyond these from the student's own neutral pose, or eyes turned beyond GAZE_AWAY, is looking away.
# A laptop screen spans about +-20 degrees of yaw at arm's length; notes on the desk sit about 25 degrees lower.
YAW_AWAY_DEG = 25.0
PITCH_AWAY_DEG = 20.0
GAZE_AWAY = 0.6
# The neutral pose is the median of the first NEUTRAL_LEARN_S seconds of face frames, then follows slowly
# (time constant NEUTRAL_ADAPT_S) using only frames near it, so a camera placed to the side reads as neutral.
NEUTRAL_LEARN_S = 3.0
NEUTRAL_ADAPT_S = 120.0
# PERCLOS counts the eye as closed below PERCLOS_RATIO of its open baseline: EAR of a shut eye on the mesh is
# about 0.3 of the open value, so half the baseline is roughly the classic P80 (lid over 80% of the pupil).
PERCLOS_RATIO = 0.5
PERCLOS_WINDOW_S = 60.0
# Drowsy: eyes shut for 2 s at a stretch, or shut PERCLOS_DROWSY of the last minute (0.15 is the usual
# alarm level for drivers; a classroom allows more) once at least PERCLOS_MIN_OBSERVED_S were seen.
EYES_SHUT_DROWSY_S = 2.0
PERCLOS_DROWSY = 0.3
PERCLOS_MIN_OBSERVED_S = 20.0
BLINK_RATE_WINDOW_S = 60.0
# Expressions need to last a little to count, so a twitch is not a mood.
HAPPY_AFTER_S = 1.0
CONFUSED_AFTER_S = 2.0
EXPRESSION_OFF_S = 1.0
# Happy is a clear rise of the smile cues over this student's own resting face, not a population threshold on
# lip shape (which reads some resting mouths as smiles): signals.smile_rise of at least the largest excursion
# seen at rest. The resting face starts at the first readable frame and then follows the student. The cues a
# smile only raises follow down within seconds (a lower reading is nearer rest, and a student who joined smiling
# is read right once they relax), up only with NEUTRAL_ADAPT_S, so a long smile does not become the rest.
SMILE_RISE_HAPPY = 1.0
REST_FALL_S = 2.0
RISING_ONLY_CUES = ("mouth_smile", "mouth_width", "corner_lift", "upper_lip_raise")
# The mouth corners' height over the nose also falls without a smile: speech opens the jaw, which drags the corners
# down. So neither a lower nor a higher reading is nearer rest, and its resting value is the median of the last
# CORNER_HEIGHT_REST_S, as for the eyes' baseline. Once the student has been at rest for longer than they spoke,
# a sentence does not move it, and a new posture becomes the rest within half of it. A smile held for as long as
# the rest before it in the window becomes its rest too: a small smile that only this cue lifts over the
# threshold then fades.
CORNER_HEIGHT_REST_S = 30.0
CONFUSION_THRESHOLD = 0.5
# Quality below these makes the frame's eye and expression readings untrustworthy.
MIN_FACE_PX = 60.0
MIN_BRIGHTNESS = 40.0
MIN_FRONTAL = math.cos(math.radians(50.0)) * math.cos(math.radians(10.0))
# Engagement moves toward its target with this time constant, so one odd frame cannot swing it.
ENGAGEMENT_SMOOTHING_S = 2.0
# Frames further apart than this count as a gap: their time is not credited to PERCLOS or any state.
MAX_FRAME_GAP_S = 1.0


class _Debounced:
    """A condition that turns on after holding for on_s and off after being absent for off_s."""

    def __init__(self, on_s: float, off_s: float) -> None:
        self.on_s, self.off_s = on_s, off_s
        self.active = False
        self._since: float | None = None  # when the raw condition last changed toward the other side
        self.held_since: float | None = None  # when the raw condition started holding

    def update(self, t: float, condition: bool) -> bool:
        if condition:
            if self.held_since is None:
                self.held_since = t
            if not self.active and t - self.held_since >= self.on_s:
                self.active = True
            self._since = None
        else:
            self.held_since = None
            if self.active:
                if self._since is None:
                    self._since = t
                if t - self._since >= self.off_s:
                    self.active = False
                    self._since = None
        return self.active

    def held_for(self, t: float) -> float:
        return t - self.held_since if self.held_since is not None else 0.0


@dataclass
class _NeutralPose:
    yaw: float = 0.0
    pitch: float = 0.0
    gaze_x: float = 0.0
    gaze_y: float = 0.0
    learned: bool = False
    samples: list[tuple[float, float, float, float]] = field(default_factory=list)
    first_t: float | None = None

    def update(self, t: float, dt: float, yaw: float, pitch: float, gaze_x: float, gaze_y: float) -> None:
        if not self.learned:
            self.first_t = t if self.first_t is None else self.first_t
            self.samples.append((yaw, pitch, gaze_x, gaze_y))
            columns = list(zip(*self.samples))
            self.yaw, self.pitch, self.gaze_x, self.gaze_y = (_median(column) for column in columns)
            if t - self.first_t >= NEUTRAL_LEARN_S:
                self.learned = True
                self.samples.clear()
            return
        if abs(yaw - self.yaw) < YAW_AWAY_DEG and abs(pitch - self.pitch) < PITCH_AWAY_DEG:
            weight = 1.0 - math.exp(-dt / NEUTRAL_ADAPT_S)
            self.yaw += weight * (yaw - self.yaw)
            self.pitch += weight * (pitch - self.pitch)
            self.gaze_x += weight * (gaze_x - self.gaze_x)
            self.gaze_y += weight * (gaze_y - self.gaze_y)


class _RestingFace:
    """This student's resting smile cues (see SMILE_RISE_HAPPY and CORNER_HEIGHT_REST_S)."""

    def __init__(self) -> None:
        self.features: SmileFeatures | None = None
        self._corner_heights = RollingMedian(CORNER_HEIGHT_REST_S)

    def rise(self, t: float, dt: float, features: SmileFeatures) -> float:
        """The frame's rise over the resting face as it stood before this frame; then follow the frame."""
        resting = self.features
        self._corner_heights.add(t, features.corner_height)
        if resting is None:
            self.features = features
            return 0.0
        followed = {cue: _follow_rest(getattr(resting, cue), getattr(features, cue), dt) for cue in RISING_ONLY_CUES}
        self.features = SmileFeatures(**followed, corner_height=self._corner_heights.median)
        return smile_rise(features, resting)


def _follow_rest(resting: float, now: float, dt: float) -> float:
    """Down toward a lower reading within seconds, up toward a higher one only slowly."""
    return resting + (1.0 - math.exp(-dt / (REST_FALL_S if now < resting else NEUTRAL_ADAPT_S))) * (now - resting)


def _median(values: tuple[float, ...]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


@dataclass(frozen=True)
class Status:
    """What the tracker says after one frame. `to_dict()` is small and JSON-safe."""

    t: float
    state: str
    engagement: int
    confidence: str  # "ok" or "uncertain"
    reasons: tuple[str, ...]
    face: bool
    faces: int
    ear: float | None
    eyes_closed: bool
    blink: Blink | None  # the blink that ended on this frame
    blinks: int
    blink_rate_per_min: float
    perclos: float
    gaze_x: float | None
    gaze_y: float | None
    yaw: float | None
    pitch: float | None
    roll: float | None
    smile: float | None
    smile_rise: float | None  # the smile cues over this student's resting face; happy at SMILE_RISE_HAPPY
    confusion: float | None
    quality: dict[str, float] | None

    def to_dict(self) -> dict[str, Any]:
        def rounded(value: float | None, digits: int = 3) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "state": self.state,
            "engagement": self.engagement,
            "confidence": self.confidence,
            "reasons": list(self.reasons),
            "face": self.face,
            "faces": self.faces,
            "ear": rounded(self.ear),
            "eyes_closed": self.eyes_closed,
            "blink": self.blink is not None,
            "blinks": self.blinks,
            "blink_rate_per_min": round(self.blink_rate_per_min, 1),
            "perclos": round(self.perclos, 3),
            "gaze": {"x": rounded(self.gaze_x), "y": rounded(self.gaze_y)},
            "head": {"yaw": rounded(self.yaw, 1), "pitch": rounded(self.pitch, 1), "roll": rounded(self.roll, 1)},
            "expression": None if self.smile is None else {
                "smile": rounded(self.smile), "smile_rise": rounded(self.smile_rise, 2),
                "confusion": rounded(self.confusion),
            },
            "quality": self.quality,
        }


class StudentTracker:
    """One student's stream. `expressions=False` never infers emotions (EU AI Act art. 5(1)(f) forbids it in
    education): happy and confused are never produced and no smile or confusion leaves the tracker.
    `attention_rules=False` turns off the gaze and head-pose rules for a student who needs that
    (head-tracking users, nystagmus): they are never marked distracted for where they look."""

    def __init__(self, *, expressions: bool = True, attention_rules: bool = True) -> None:
        self.expressions = expressions
        self.attention_rules = attention_rules
        self._eyes = BlinkDetector()
        self._neutral = _NeutralPose()
        self._resting_face = _RestingFace()
        self._away = _Debounced(AWAY_AFTER_S, BACK_AFTER_S)
        # What the student last looked away by: still the reason while distraction holds after they look back.
        self._away_reason = "looking away"
        self._absent = _Debounced(ABSENT_AFTER_S, 0.0)
        self._happy = _Debounced(HAPPY_AFTER_S, EXPRESSION_OFF_S)
        self._confused = _Debounced(CONFUSED_AFTER_S, EXPRESSION_OFF_S)
        self._shut = _Debounced(EYES_SHUT_DROWSY_S, 0.0)
        self._perclos_frames: deque[tuple[float, float, bool]] = deque()  # (t, duration, closed)
        self._perclos_closed_s = 0.0
        self._perclos_total_s = 0.0
        self._blink_times: deque[float] = deque()
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._engagement: float | None = None
        self.blinks: list[Blink] = []
        self._frame = 0
        self._last_state = "absent"  # until a face is seen, nobody is there
        # Whole-stream totals, for summaries: seconds observed with a readable face, with eyes shut, per state.
        self.observed_s = 0.0
        self.eyes_shut_s = 0.0
        self.time_in_state: dict[str, float] = dict.fromkeys(STATES, 0.0)

    @property
    def blink_count(self) -> int:
        return len(self.blinks)

    @property
    def resting_smile(self) -> SmileFeatures | None:
        """This student's resting smile cues as they stand now; None before the first readable face."""
        return self._resting_face.features

    def update(self, t: float, analysis: FrameAnalysis) -> Status:
        if self._last_t is not None and t < self._last_t:
            raise ValueError(f"timestamps must not go backwards ({t:.3f} s after {self._last_t:.3f} s)")
        dt = 0.0 if self._last_t is None else min(t - self._last_t, MAX_FRAME_GAP_S)
        self._first_t = t if self._first_t is None else self._first_t
        self._last_t = t
        frame = self._frame
        self._frame += 1
        reasons: list[str] = []
        face = analysis.face

        absent = self._absent.update(t, face is None)
        if face is None:
            self._eyes.update(t, None, frame)
            self._shut.update(t, False)
            self._happy.update(t, False)
            self._confused.update(t, False)
            missing_for = self._absent.held_for(t)
            if absent:
                reasons.append(f"no face in view for {missing_for:.0f} s")
            return self._status(t, dt, analysis, reasons, state=self._last_state if not absent else "absent",
                                confident=True, eyes_closed=False, blink=None, smile_rise=None)

        quality = face.quality
        problems = []
        if quality.face_px < MIN_FACE_PX:
            problems.append("face too small to read: move closer to the camera")
        if quality.brightness < MIN_BRIGHTNESS:
            problems.append("the room looks too dark to read the face")
        if quality.frontal < MIN_FRONTAL:
            problems.append("head turned too far from the camera to read the eyes")
        confident = not problems

        if analysis.faces > 1:
            reasons.append(f"{analysis.faces} faces in view")

        blink = None
        eyes_closed = False
        if confident:
            eye_state = self._eyes.update(t, face.ear, frame)
            eyes_closed = eye_state.closed
            blink = eye_state.blink
            if blink is not None:
                self.blinks.append(blink)
                self._blink_times.append(t)
            self._record_perclos(t, dt, face.ear < PERCLOS_RATIO * eye_state.baseline)
        shut = self._shut.update(t, confident and face.ear < PERCLOS_RATIO * self._eyes.baseline)

        self._neutral.update(t, dt, face.yaw, face.pitch, face.gaze_x, face.gaze_y)
        away_now, away_reason = self._looking_away(face)
        if away_now:
            self._away_reason = away_reason
        looking_away = self._away.update(t, away_now)
        if looking_away:
            reasons.append(f"{self._away_reason} for {max(self._away.held_for(t), AWAY_AFTER_S):.0f} s")

        perclos = self._perclos()
        drowsy = shut or (
            self._perclos_total_s >= PERCLOS_MIN_OBSERVED_S and perclos >= PERCLOS_DROWSY
        )
        if shut:
            reasons.append(f"eyes closed for {self._shut.held_for(t):.0f} s")
        elif drowsy:
            reasons.append(f"eyes closed {perclos:.0%} of the last minute")

        happy = confused = False
        rise = None
        if self.expressions and not face.blendshapes:
            # A frame analysed without expressions (they may be computed at a lower rate) changes neither.
            happy, confused = self._happy.active, self._confused.active
        elif self.expressions:
            if confident:
                rise = self._resting_face.rise(t, dt, smile_features(face.blendshapes, face.landmarks))
            happy = self._happy.update(t, rise is not None and rise >= SMILE_RISE_HAPPY)
            confused = self._confused.update(t, confident and face.confusion >= CONFUSION_THRESHOLD)
            if happy:
                reasons.append("smiling")
            elif confused:
                reasons.append("brows lowered, looks puzzled")

        if drowsy:
            state = "drowsy"
        elif looking_away:
            state = "distracted"
        elif happy:
            state = "happy"
        elif confused:
            state = "confused"
        elif not confident and self._last_state in STATES:
            state = self._last_state if self._last_state != "absent" else "focused"
        else:
            state = "focused"
        if state == "focused" and confident:
            reasons.append("face in view, looking at the screen")
        reasons.extend(problems)
        return self._status(t, dt, analysis, reasons, state=state, confident=confident,
                            eyes_closed=eyes_closed, blink=blink, smile_rise=rise)

    def _looking_away(self, face) -> tuple[bool, str]:
        if not self.attention_rules:
            return False, ""
        neutral = self._neutral
        yaw_off = face.yaw - neutral.yaw
        pitch_off = face.pitch - neutral.pitch
        if abs(yaw_off) > YAW_AWAY_DEG:
            return True, "head turned " + ("left" if yaw_off > 0 else "right")
        if abs(pitch_off) > PITCH_AWAY_DEG:
            return True, "looking " + ("up" if pitch_off > 0 else "down")
        if abs(face.gaze_x - neutral.gaze_x) > GAZE_AWAY:
            return True, "looking away"
        return False, ""

    def _record_perclos(self, t: float, dt: float, closed: bool) -> None:
        self.observed_s += dt
        self.eyes_shut_s += dt if closed else 0.0
        self._perclos_frames.append((t, dt, closed))
        self._perclos_total_s += dt
        self._perclos_closed_s += dt if closed else 0.0
        while self._perclos_frames and self._perclos_frames[0][0] < t - PERCLOS_WINDOW_S:
            _, old_dt, old_closed = self._perclos_frames.popleft()
            self._perclos_total_s -= old_dt
            self._perclos_closed_s -= old_dt if old_closed else 0.0

    def _perclos(self) -> float:
        if self._perclos_total_s <= 0.0:
            return 0.0
        return max(0.0, min(1.0, self._perclos_closed_s / self._perclos_total_s))

    def _blink_rate(self, t: float) -> float:
        while self._blink_times and self._blink_times[0] < t - BLINK_RATE_WINDOW_S:
            self._blink_times.popleft()
        observed = min(t - self._first_t, BLINK_RATE_WINDOW_S)
        # Under five seconds a rate per minute is mostly noise; report the count scaled once there is some data.
        return len(self._blink_times) * 60.0 / observed if observed >= 5.0 else 0.0

    def _engagement_target(self, face, state: str, perclos: float) -> float:
        """Documented in docs/vision.md: presence x attention x alertness, each 0..1."""
        if face is None or state == "absent":
            return 0.0
        attention = 1.0
        if self.attention_rules:
            yaw_off = abs(face.yaw - self._neutral.yaw) / (2 * YAW_AWAY_DEG)
            pitch_off = abs(face.pitch - self._neutral.pitch) / (2 * PITCH_AWAY_DEG)
            gaze_off = abs(face.gaze_x - self._neutral.gaze_x) / (2 * GAZE_AWAY)
            attention = max(0.0, 1.0 - max(yaw_off, pitch_off, gaze_off))
        alertness = max(0.0, 1.0 - perclos / (2 * PERCLOS_DROWSY))
        if self._shut.active:
            alertness = min(alertness, 0.2)
        return attention * alertness

    def _status(self, t, dt, analysis: FrameAnalysis, reasons, *, state, confident, eyes_closed, blink,
                smile_rise) -> Status:
        face = analysis.face
        # The time since the previous frame is credited to the state that frame was in.
        self.time_in_state[self._last_state] += dt
        perclos = self._perclos()
        target = 100.0 * self._engagement_target(face, state, perclos)
        if self._engagement is None:
            self._engagement = target
        else:
            weight = 1.0 - math.exp(-dt / ENGAGEMENT_SMOOTHING_S) if dt > 0 else 0.0
            self._engagement += weight * (target - self._engagement)
        self._last_state = state
        show_expressions = self.expressions and face is not None
        return Status(
            t=t,
            state=state,
            engagement=int(round(self._engagement)),
            confidence="ok" if confident else "uncertain",
            reasons=tuple(reasons),
            face=face is not None,
            faces=analysis.faces,
            ear=face.ear if face is not None else None,
            eyes_closed=eyes_closed,
            blink=blink,
            blinks=self.blink_count,
            blink_rate_per_min=self._blink_rate(t),
            perclos=perclos,
            gaze_x=face.gaze_x if face is not None else None,
            gaze_y=face.gaze_y if face is not None else None,
            yaw=face.yaw if face is not None else None,
            pitch=face.pitch if face is not None else None,
            roll=face.roll if face is not None else None,
            smile=face.smile if show_expressions else None,
            smile_rise=smile_rise if show_expressions else None,
            confusion=face.confusion if show_expressions else None,
            quality=None if face is None else {
                "face_px": round(face.quality.face_px),
                "brightness": round(face.quality.brightness, 1),
                "frontal": round(face.quality.frontal, 2),
            },
        )
