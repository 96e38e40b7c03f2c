"""The states, their words and icons, and the close codes are defined once in Python and handed to the pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classroom.groups import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_NOT_FOUND,
    CLOSE_REPLACED,
    CLOSE_SILENT,
    CLOSE_UNAVAILABLE,
)
from classroom.states import STATES, page_definitions
from vision.tracker import SMILE_RISE_HAPPY
from vision.tracker import STATES as TRACKER_STATES

pytestmark = pytest.mark.django_db
STATIC_JS = Path(__file__).resolve().parent.parent / "static" / "js"


def test_it_has_words_and_an_icon_for_every_state_the_tracker_reports():
    assert set(TRACKER_STATES) <= set(STATES)
    assert all(STATES[state].icon and STATES[state].label for state in TRACKER_STATES)


def test_it_marks_confused_and_only_confused_as_experimental():
    assert [name for name, info in STATES.items() if info.experimental] == ["confused"]


def test_it_hands_every_page_the_states_and_close_codes(client):
    page = client.get("/accounts/login/").content.decode()
    found = re.search(r'<script id="smartsession-definitions" type="application/json">(.*?)</script>', page, re.S)
    definitions = json.loads(found.group(1))
    assert definitions == json.loads(json.dumps(page_definitions()))
    assert definitions["states"]["confused"]["experimental"] is True
    assert sorted(definitions["closeCodes"].values()) == [
        CLOSE_NOT_AUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_SILENT, CLOSE_REPLACED, CLOSE_UNAVAILABLE
    ]
    assert set(definitions["refusals"]) <= set(definitions["closeCodes"])
    # The page retries after 4503 (a restart, the database away) and after giving up on a silent socket (4408),
    # never after a refusal.
    assert "replaced" in definitions["refusals"]
    assert "unavailable" not in definitions["refusals"] and "silent" not in definitions["refusals"]
    assert definitions["smileRiseHappy"] == SMILE_RISE_HAPPY  # the detail panel's "happy at"


def test_it_repeats_no_state_label_or_close_code_in_the_scripts():
    # Code only: a comment may name a state in words.
    scripts = {path.name: re.sub(r"^\s*//.*$", "", path.read_text(), flags=re.M) for path in STATIC_JS.rglob("*.js")}
    for name, source in scripts.items():
        for info in STATES.values():
            assert f'"{info.label}"' not in source, f"{name} repeats the label {info.label!r}"
        for code in (CLOSE_NOT_AUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_REPLACED, CLOSE_UNAVAILABLE,
                     CLOSE_SILENT):
            assert str(code) not in source, f"{name} repeats the close code {code}"
