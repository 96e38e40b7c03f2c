"""What each simulated student shows its camera, second by second: stretches of the demo clip, an empty room, a pause.

The demo clip (clip/WolfgangLanger_Pexels.mp4, see clip/SOURCE.txt) is one woman, 19.7 s. Which of its frames produce
which state was read from our own engine (`python -m vision analyze clip.mp4 --json`), and
tests/test_simulated_behaviours.py replays every script through it, so a change in the engine that breaks a
behaviour fails there. Frame numbers below are the clip's own (0-based, 23.976 fps).

A student plays its opening once, then its loop forever. The opening comes first because the tracker learns
each student's open eyes and neutral head pose in their first seconds (vision.tracker.NEUTRAL_LEARN_S).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# The clip's own rate: a stretch plays in real time whatever rate the student sends at, as a webcam does.
CLIP_FPS = 23.976
CLIP_FRAMES = 472


class FrameRef(NamedTuple):
    """One picture a simulated camera shows: a frame of the clip (mirrored or not), or the empty room."""

    index: int  # -1: the empty room
    mirrored: bool = False


EMPTY_ROOM = FrameRef(-1)


@dataclass(frozen=True)
class Shot:
    """Clip frames first..last for `seconds`, played forwards then backwards (a cut would jerk the landmarks)."""

    first: int
    last: int
    seconds: float
    mirrored: bool = False

    def frame_at(self, offset_s: float) -> FrameRef:
        span = self.last - self.first
        if span == 0:
            return FrameRef(self.first, self.mirrored)
        step = int(offset_s * CLIP_FPS) % (2 * span)
        return FrameRef(self.first + (step if step <= span else 2 * span - step), self.mirrored)

    def frames(self) -> list[FrameRef]:
        return [FrameRef(index, self.mirrored) for index in range(self.first, self.last + 1)]


@dataclass(frozen=True)
class EmptyRoom:
    """Nobody in front of the camera: the clip's background with no one in it."""

    seconds: float

    def frame_at(self, offset_s: float) -> FrameRef:
        return EMPTY_ROOM

    def frames(self) -> list[FrameRef]:
        return [EMPTY_ROOM]


@dataclass(frozen=True)
class Pause:
    """The student presses Pause: the page sends {"type": "pause"} and no frames, then {"type": "resume"}."""

    seconds: float

    def frame_at(self, offset_s: float) -> None:
        return None

    def frames(self) -> list[FrameRef]:
        return []


Step = Shot | EmptyRoom | Pause


@dataclass(frozen=True)
class Behaviour:
    name: str
    shows: str  # what the teacher should see most of the time: a state, or "paused"
    description: str
    opening: tuple[Step, ...]
    loop: tuple[Step, ...]

    @property
    def loop_seconds(self) -> float:
        return sum(step.seconds for step in self.loop)

    def step_at(self, elapsed_s: float, *, phase_s: float = 0.0) -> tuple[Step, float]:
        """The step playing `elapsed_s` after the student started, and how far into it (seconds)."""
        for step in self.opening:
            if elapsed_s < step.seconds:
                return step, elapsed_s
            elapsed_s -= step.seconds
        into_loop = (elapsed_s + phase_s) % self.loop_seconds
        for step in self.loop:
            if into_loop < step.seconds:
                return step, into_loop
            into_loop -= step.seconds
        return self.loop[-1], self.loop[-1].seconds  # float rounding at the very end of the loop

    def frame_at(self, elapsed_s: float, *, phase_s: float = 0.0) -> FrameRef | None:
        """The picture at `elapsed_s`, or None while paused."""
        step, offset = self.step_at(elapsed_s, phase_s=phase_s)
        return step.frame_at(offset)

    def frames(self) -> set[FrameRef]:
        """Every picture this behaviour can show, so they are encoded once, before the sockets open."""
        return {frame for step in (*self.opening, *self.loop) for frame in step.frames()}


# Stretches of the clip, by what our engine reads in them.
# 275-283: lips together, looking at the camera; the one stretch the engine reads as no smile (smile < 0.5).
STILL_AND_ATTENTIVE = (275, 283)
# 300-415: a broad smile, facing the camera, eyes open (after 415 she laughs with her eyes shut, which reads as drowsy).
BROAD_SMILE = (300, 415)
# 144-200: eyes open, head turned about 15 degrees to her right; mirrored, the same face turns 15 degrees to the
# left, 30 degrees from where she first sat, past the tracker's 25 degrees (vision.tracker.YAW_AWAY_DEG).
TURNED_A_LITTLE = (144, 200)
# 150-290: eyes wide open (EAR about 0.3), for an open-eye baseline.
EYES_OPEN = (150, 290)
# 18-95: looking down with her eyes shut (EAR under 0.04).
EYES_SHUT = (18, 95)

BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour(
        name="attentive",
        shows="focused",
        description="faces the screen, lips together",
        opening=(),
        loop=(Shot(*STILL_AND_ATTENTIVE, seconds=10.0),),
    ),
    Behaviour(
        name="smiling",
        shows="happy",
        description="sits with her lips together, then keeps smiling broadly for 7 s of every 10 (happy, in a class "
                    "that reads expressions; focused in expression-free mode)",
        # Happy is a rise over her own resting face, which the tracker learns from her first frames.
        opening=(Shot(*STILL_AND_ATTENTIVE, seconds=3.0),),
        loop=(Shot(*BROAD_SMILE, seconds=7.0), Shot(*STILL_AND_ATTENTIVE, seconds=3.0)),
    ),
    Behaviour(
        name="looking_away",
        shows="distracted",
        description="sits down, then keeps turning her head away (the clip mirrored) for 6 s of every 9",
        opening=(Shot(*TURNED_A_LITTLE, seconds=3.5),),
        loop=(Shot(*TURNED_A_LITTLE, seconds=6.0, mirrored=True), Shot(*TURNED_A_LITTLE, seconds=3.0)),
    ),
    Behaviour(
        name="absent",
        shows="absent",
        description="leaves the camera for 8 s of every 11 (the empty room)",
        opening=(Shot(*EYES_OPEN, seconds=3.0),),
        loop=(EmptyRoom(seconds=8.0), Shot(*EYES_OPEN, seconds=3.0)),
    ),
    Behaviour(
        name="pausing",
        shows="paused",
        description="pauses the camera for 8 s of every 12",
        opening=(Shot(*STILL_AND_ATTENTIVE, seconds=3.0),),
        loop=(Pause(seconds=8.0), Shot(*STILL_AND_ATTENTIVE, seconds=4.0)),
    ),
    Behaviour(
        name="dozing",
        shows="drowsy",
        description="keeps closing her eyes for 4 s of every 10",
        opening=(Shot(*EYES_OPEN, seconds=4.0),),
        loop=(Shot(*EYES_SHUT, seconds=4.0), Shot(*EYES_OPEN, seconds=6.0)),
    ),
)


# For measuring capacity: pauses and empty rooms would lighten the load, so here every student faces the camera
# all the time, playing the whole clip back and forth.
WHOLE_CLIP = Behaviour(
    name="whole_clip",
    shows="",
    description="plays the whole clip, back and forth, never pausing (for measuring capacity)",
    opening=(),
    loop=(Shot(0, CLIP_FRAMES - 1, seconds=2 * (CLIP_FRAMES - 1) / CLIP_FPS),),
)
BY_NAME = {behaviour.name: behaviour for behaviour in (*BEHAVIOURS, WHOLE_CLIP)}


def behaviour_for(student_number: int, *, only: Behaviour | None = None) -> tuple[Behaviour, float]:
    """The behaviour of the simulated student numbered from 0, and its loop's phase (seconds).

    Students take the behaviours in turn (or all play `only`), so any class of six or more shows all of them;
    later rounds start their loops at other points, so the students that behave alike do not do it in step.
    """
    pool = (only,) if only is not None else BEHAVIOURS
    behaviour = pool[student_number % len(pool)]
    round_number = student_number // len(pool)
    return behaviour, (round_number * 1.7) % behaviour.loop_seconds
