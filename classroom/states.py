"""The states a page shows, with their words and icons: defined here once, for the templates and the scripts.

The tracker's states come from vision.tracker.STATES; the others are what a page or a record shows around
them (paused, not connected, ...). The pages get the same table as JSON (page_definitions, rendered by
base.html with json_script), so static/js/states.js never repeats a label or an icon.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from sessions_app.models import PAUSED
from vision.tracker import EXPERIMENTAL_STATES, SMILE_RISE_HAPPY
from vision.tracker import STATES as TRACKER_STATES

from .groups import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_NOT_FOUND,
    CLOSE_REPLACED,
    CLOSE_SILENT,
    CLOSE_UNAVAILABLE,
)


@dataclass(frozen=True)
class StateInfo:
    """How a page shows a state: the word, the icon and a line of help; its colour is the `state-<name>` class."""

    name: str
    label: str
    icon: str | None
    help: str
    # Not validated on labelled data (vision.tracker.EXPERIMENTAL_STATES): every page that shows it says so.
    experimental: bool = False


STATES: dict[str, StateInfo] = {
    info.name: replace(info, experimental=info.name in EXPERIMENTAL_STATES)
    for info in (
        StateInfo("focused", "Focused", "eye", "Face in view, looking at the screen."),
        StateInfo("happy", "Happy", "smile", "Smiling, and looking at the screen. Talking can show as smiling."),
        StateInfo(
            "confused", "Confused", "circle-question-mark",
            "Brows drawn together for a while. Experimental: not validated on labelled data.",
        ),
        StateInfo("distracted", "Distracted", "eye-off", "Looking away from the screen."),
        StateInfo("drowsy", "Drowsy", "moon", "Eyes closed for long, or often."),
        StateInfo("absent", "Absent", "user-x", "No face in view."),
        # Not the tracker's: a paused stretch (recorded as such), what a page shows before the first feedback
        # or for a student whose page is closed, and time no sample stands for.
        StateInfo(PAUSED, "Paused", "circle-pause", "The student paused their camera; nothing was measured."),
        StateInfo("waiting", "Waiting", "hourglass", "No feedback yet."),
        StateInfo("offline", "Not connected", "wifi-off", "The student's page is not open."),
        StateInfo("not-recorded", "Not recorded", None, "Connected, but nothing was recorded (a dropped socket)."),
    )
}

# The states that are expressions: never shown for an expression-free class.
EXPRESSION_STATES = ("happy", "confused")
# What a record holds time in, in the order reports list it: the tracker's states, then paused.
RECORDED_STATES = (*TRACKER_STATES, PAUSED)
NOT_RECORDED = STATES["not-recorded"]


def state_info(name: str) -> StateInfo:
    # A state only an old client sent (time_in_state from client totals) still shows, by its own name.
    return STATES.get(name) or StateInfo(name, name.replace("_", " ").capitalize(), None, "")


# The WebSocket close codes the pages know by name (docs/protocol.md), and those that refuse for good: a page
# does not retry after a refusal (the person has to do something), and does after any other close.
CLOSE_CODES = {
    "not_authenticated": CLOSE_NOT_AUTHENTICATED,
    "forbidden": CLOSE_FORBIDDEN,
    "not_found": CLOSE_NOT_FOUND,
    "replaced": CLOSE_REPLACED,
    "unavailable": CLOSE_UNAVAILABLE,
    "silent": CLOSE_SILENT,
}
# Not "unavailable": the database or the server process comes back, and the page retries with its backoff.
REFUSALS = ("not_authenticated", "forbidden", "not_found", "replaced")


def page_definitions() -> dict:
    """What every page's scripts share with the server: the states, the WebSocket close codes, and the smile over
    a student's resting face at which they read as happy."""
    return {
        "states": {name: asdict(info) for name, info in STATES.items()},
        "closeCodes": CLOSE_CODES,
        "refusals": list(REFUSALS),
        "smileRiseHappy": SMILE_RISE_HAPPY,
    }
