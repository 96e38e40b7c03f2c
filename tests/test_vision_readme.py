"""The README's vision numbers are what `python -m vision evaluate` prints on the shared data, never typed by hand.

After a change that moves them: `.venv/bin/python -m vision evaluate --readme README.md`.
"""

from pathlib import Path

import pytest

from vision.cli import README_BEGIN, README_END, readme_block
from vision.evaluate import format_report

pytestmark = pytest.mark.shared_data
README = Path(__file__).resolve().parent.parent / "README.md"


def test_it_shows_in_the_readme_exactly_what_evaluate_prints(evaluation_report):
    readme = README.read_text()
    start, end = readme.index(README_BEGIN), readme.index(README_END) + len(README_END)
    assert readme[start:end] == readme_block(format_report(evaluation_report)), (
        "README.md's vision numbers are out of date: run .venv/bin/python -m vision evaluate --readme README.md"
    )
