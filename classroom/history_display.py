"""How the history pages show sessions: durations in words, state labels and icons, shares and chart captions.

Presentation only (no rules, no queries): classroom/history_views.py passes what it shapes to the templates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from sessions_app.models import Lesson, Session

from .services import student_display_name
from .states import NOT_RECORDED, StateInfo, state_info


def format_duration(seconds: float) -> str:
    """42 s, 4 min 10 s, 10 min, 1 h 5 min."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


@dataclass(frozen=True)
class SessionRow:
    session: Session
    student_name: str
    duration: str
    dominant_state: StateInfo | None
    time_zone: str  # its class's, as every page of that class shows times


def session_time_zone(session: Session) -> str:
    return session.classroom.time_zone if session.classroom is not None else timezone.get_default_timezone_name()


def session_rows(sessions: Iterable[Session]) -> list[SessionRow]:
    return [
        SessionRow(
            session=session,
            student_name=student_display_name(session.student),
            duration=format_duration(session.duration.total_seconds()),
            dominant_state=state_info(session.dominant_state) if session.dominant_state else None,
            time_zone=session_time_zone(session),
        )
        for session in sessions
    ]


@dataclass(frozen=True)
class StateShare:
    state: StateInfo
    duration: str
    percent: float

    @property
    def percent_text(self) -> str:
        return "<1%" if 0 < self.percent < 0.5 else f"{self.percent:.0f}%"

    @property
    def bar_width(self) -> str:
        # Formatted here, not by a template filter, so a locale's decimal comma never reaches the CSS.
        return f"{self.percent:.1f}%"


def state_shares(session: Session) -> list[StateShare]:
    """Time in each state (paused included), most first, as a share of the session; a gap in the recording
    shows as "Not recorded"."""
    seconds_by_state = {state: float(seconds) for state, seconds in session.time_in_state.items() if seconds > 0}
    recorded = math.fsum(seconds_by_state.values())
    # Nothing recorded (an active session's totals are not computed yet): no bars rather than 100% "Not recorded".
    if recorded <= 0:
        return []
    total = max(session.duration.total_seconds(), recorded)
    views = [(state_info(state), seconds) for state, seconds in seconds_by_state.items()]
    views.sort(key=lambda item: -item[1])
    if total - recorded >= 1:
        views.append((NOT_RECORDED, total - recorded))
    return [
        StateShare(state=view, duration=format_duration(seconds), percent=100 * seconds / total)
        for view, seconds in views
    ]


@dataclass(frozen=True)
class ChartSpec:
    """One chart of the session page, with the text that stands in for it."""

    metric: str  # the key in each embedded sample
    title: str
    unit: str
    summary: str  # mean, lowest and highest, for the caption and the chart's aria-label


def _summary(values: list[float], *, digits: int, scale: str = "") -> str:
    if not values:
        return "No values were recorded."
    mean = math.fsum(values) / len(values)
    return f"Mean {mean:.{digits}f}, lowest {min(values):.{digits}f}, highest {max(values):.{digits}f}{scale}."


def chart_specs(samples: list[dict]) -> list[ChartSpec]:
    """A session's charts, from its samples (dicts with "t" and each metric)."""

    def values(metric: str) -> list[float]:
        return [sample[metric] for sample in samples if sample[metric] is not None]

    return [
        ChartSpec(
            "engagement",
            "Engagement",
            "",
            _summary(values("engagement"), digits=0, scale=" (out of 100)")
            + " Gaps are times paused or with nothing recorded.",
        ),
        ChartSpec(
            "ear",
            "Eye aspect ratio (EAR)",
            "",
            _summary(values("ear"), digits=3) + " Lower means more closed eyes; gaps are times with no face in view.",
        ),
        ChartSpec(
            "blink_rate_per_min",
            "Blink rate",
            "/min",
            _summary(values("blink_rate_per_min"), digits=1, scale=" blinks a minute")
            + " Each point counts the minute before it, paused time included; the session's blink rate above is"
            " over its unpaused time only, so it can stand higher.",
        ),
    ]


def class_engagement_chart(points: list[dict]) -> ChartSpec:
    """A lesson's class engagement timeline (points with "t" and "engagement")."""
    values = [point["engagement"] for point in points if point["engagement"] is not None]
    return ChartSpec(
        "engagement",
        "Class engagement",
        "",
        _summary(values, digits=0, scale=" (out of 100)")
        + " Each point is the mean of the students measured then; paused students are left out.",
    )


@dataclass(frozen=True)
class SampleRow:
    time: datetime
    engagement: int | None
    ear: float | None
    blink_rate_per_min: float | None
    state: StateInfo


@dataclass(frozen=True)
class LessonRow:
    lesson: Lesson
    duration: str
    students: int  # who streamed in it
    alerts: int


def lesson_rows(lessons: Iterable[Lesson]) -> list[LessonRow]:
    """Lessons annotated with `students` and `alert_count` (classroom.history_views.class_history)."""
    return [
        LessonRow(
            lesson=lesson,
            duration=format_duration(lesson.duration.total_seconds()),
            students=lesson.students,
            alerts=lesson.alert_count,
        )
        for lesson in lessons
    ]
