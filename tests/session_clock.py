"""A fixed morning for session tests, so recorded times and expected totals read as plain seconds."""

from datetime import UTC, datetime, timedelta

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NINE + timedelta(seconds=seconds)
