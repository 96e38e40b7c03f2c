"""When a teacher should be told about one student: plain rules over the stream of statuses.

Kinds: a state held too long (distracted, drowsy, absent), the face lost, the camera stopped.
Each kind is repeated at most once a minute per student, so a dashboard is never flooded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A teacher wants to hear about a pattern, not a moment: ten seconds of it.
HOLD_S = 10.0
REPEAT_S = 60.0
# A socket that stays open, not paused, with no frame for this long has a stopped or blocked camera.
CAMERA_SILENT_S = 5.0
HELD_STATES = {
    "distracted": "distracted for {seconds:.0f} s",
    "drowsy": "drowsy for {seconds:.0f} s",
    "absent": "away from the camera for {seconds:.0f} s",
}


@dataclass(frozen=True)
class Alert:
    kind: str  # distracted | drowsy | absent | face_lost | camera_stopped
    reason: str
    t: float  # stream time, seconds

    def to_dict(self) -> dict:
        return {"kind": self.kind, "reason": self.reason}


@dataclass
class AlertPolicy:
    _state: str | None = None
    _state_since: float = 0.0
    _had_face: bool = False
    _last_sent: dict[str, float] = field(default_factory=dict)

    def _once_a_minute(self, kind: str, now: float, reason: str) -> list[Alert]:
        last = self._last_sent.get(kind)
        if last is not None and now - last < REPEAT_S:
            return []
        self._last_sent[kind] = now
        return [Alert(kind=kind, reason=reason, t=now)]

    def restart(self) -> None:
        """After a pause or a reconnect: states are timed from the next frame, not across the time away (which
        the student chose, or the network took). How recently each alert was sent is kept."""
        self._state, self._state_since, self._had_face = None, 0.0, False

    def on_status(self, now: float, state: str, face: bool) -> list[Alert]:
        """One analysed frame's state; returns the alerts it raises."""
        alerts: list[Alert] = []
        if state != self._state:
            self._state, self._state_since = state, now
        if self._had_face and not face:
            alerts += self._once_a_minute("face_lost", now, "face lost from view")
        self._had_face = face
        held = now - self._state_since
        if state in HELD_STATES and held > HOLD_S:
            alerts += self._once_a_minute(state, now, HELD_STATES[state].format(seconds=held))
        return alerts

    def on_silence(self, now: float, silent_for: float) -> list[Alert]:
        """Called while no frame arrives on an open, unpaused socket."""
        if silent_for < CAMERA_SILENT_S:
            return []
        return self._once_a_minute("camera_stopped", now, f"no picture from the camera for {silent_for:.0f} s")
