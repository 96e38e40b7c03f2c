"""docs/vision.md's numbers are what `python -m vision evaluate` prints on the shared data, never typed by hand.

After a change that moves them: `.venv/bin/python -m vision evaluate --readme docs/vision.md`.
"""

from pathlib import Path

import pytest

from vision.cli import README_BEGIN, README_END, readme_block
from vision.evaluate import format_report

pytestmark = pytest.mark.shared_data
VISION_DOC = Path(__file__).resolve().parent.parent / "docs" / "vision.md"


def test_it_shows_in_the_vision_doc_exactly_what_evaluate_prints(evaluation_report):
    document = VISION_DOC.read_text()
    start, end = document.index(README_BEGIN), document.index(README_END) + len(README_END)
    assert document[start:end] == readme_block(format_report(evaluation_report)), (
        "docs/vision.md's numbers are out of date: run .venv/bin/python -m vision evaluate --readme docs/vision.md"
    )
