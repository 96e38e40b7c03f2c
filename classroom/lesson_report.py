"""A lesson's report: attendance, each student's figures, the class timeline and the alerts, from the record.

Read-only and shaped for the report page and its two CSV files (classroom/lesson_views.py). Who may see
what is decided by sessions_app.visibility (lesson_sessions_for_user, lesson_alerts_for_user): a student
gets their own row and alerts only; the teacher gets every student, who never came, and the class timeline.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from sessions_app.models import PAUSED, Alert, Lesson, MetricSample, Session
from sessions_app.services import AnyUser, class_engagement_timeline, sessions_totals_so_far
from sessions_app.visibility import lesson_alerts_for_user, lesson_sessions_for_user, sees_whole_lesson

from .models import Membership
from .services import student_display_name
from .states import RECORDED_STATES

# About this many points on the report's timeline, whatever the lesson's length; never finer than 10 s.
TIMELINE_POINTS = 150
MIN_BUCKET_S = 10


@dataclass
class StudentFigures:
    """One student in one lesson: attendance and figures summed over their sessions in it."""

    student: AbstractBaseUser
    name: str
    sessions: int = 0
    first_joined: datetime | None = None
    last_left: datetime | None = None  # None while they stream, or if they never came
    streaming_now: bool = False
    connected_s: float = 0.0
    time_in_state: dict[str, float] = field(default_factory=dict)  # "paused" included
    blinks: int = 0
    frames: int = 0
    alerts: int = 0
    _engagement_weighted: float = 0.0
    _engagement_seconds: float = 0.0

    @property
    def attended(self) -> bool:
        return self.sessions > 0

    @property
    def paused_s(self) -> float:
        return self.time_in_state.get(PAUSED, 0.0)

    @property
    def recorded_s(self) -> float:
        return math.fsum(self.time_in_state.values())

    @property
    def not_recorded_s(self) -> float:
        """Connected, but no sample stands for it (a dropped socket, a server restart)."""
        return max(0.0, self.connected_s - self.recorded_s)

    @property
    def blink_rate_per_min(self) -> float | None:
        """Blinks per minute of unpaused time: pausing neither lowers nor raises it."""
        minutes = (self.connected_s - self.paused_s) / 60
        return round(self.blinks / minutes, 1) if minutes > 0 and self.attended else None

    @property
    def mean_engagement(self) -> float | None:
        if self._engagement_seconds > 0:
            return round(self._engagement_weighted / self._engagement_seconds, 1)
        return None

    def add_session(self, session: Session, totals: dict[str, Any]) -> None:
        self.sessions += 1
        self.first_joined = min(filter(None, [self.first_joined, session.started_at]))
        if session.status == Session.Status.ACTIVE:
            # Up to its newest sample, as far as the record goes: the seconds since then are not known yet.
            self.streaming_now = True
            end = totals["until"] or session.started_at
        else:
            end = session.ended_at
        if not self.streaming_now:
            self.last_left = max(filter(None, [self.last_left, session.ended_at]))
        else:
            self.last_left = None
        self.connected_s += max(0.0, (end - session.started_at).total_seconds())
        for state, seconds in (totals["time_in_state"] or {}).items():
            self.time_in_state[state] = self.time_in_state.get(state, 0.0) + float(seconds)
        self.blinks += totals["blink_count"] or 0
        self.frames += totals["frames_analysed"] or 0
        if totals["mean_engagement"] is not None:
            # Weighted by the measured (unpaused) seconds each session stands for.
            seconds = sum(value for state, value in (totals["time_in_state"] or {}).items() if state != PAUSED)
            weight = seconds if seconds > 0 else 1.0
            self._engagement_weighted += totals["mean_engagement"] * weight
            self._engagement_seconds += weight


@dataclass(frozen=True)
class LessonReport:
    lesson: Lesson
    students: list[StudentFigures]  # by name; those who came first
    alerts: list[Alert]  # in time order
    timeline: list[dict[str, Any]]  # the whole class's engagement: empty unless shows_everyone
    bucket_s: int
    shows_everyone: bool  # the teacher's view: every member, including who never came

    @property
    def attended(self) -> list[StudentFigures]:
        return [figures for figures in self.students if figures.attended]

    @property
    def absent(self) -> list[StudentFigures]:
        return [figures for figures in self.students if not figures.attended]


def timeline_bucket_s(lesson: Lesson) -> int:
    seconds = lesson.duration.total_seconds()
    return max(MIN_BUCKET_S, math.ceil(seconds / TIMELINE_POINTS / MIN_BUCKET_S) * MIN_BUCKET_S)


def lesson_report(*, lesson: Lesson, user: AnyUser) -> LessonReport:
    """The report of `lesson` as `user` may see it (a lesson they may read: sessions_app.visibility.lesson_for_user)."""
    now = timezone.now()
    sessions = list(lesson_sessions_for_user(user=user, lesson=lesson).select_related("student").order_by("started_at"))
    alerts = list(lesson_alerts_for_user(user=user, lesson=lesson))
    shows_everyone = sees_whole_lesson(user=user, lesson=lesson)
    figures: dict[int, StudentFigures] = {}

    def of(student: AbstractBaseUser) -> StudentFigures:
        if student.pk not in figures:
            figures[student.pk] = StudentFigures(student=student, name=student_display_name(student))
        return figures[student.pk]

    totals = sessions_totals_so_far(sessions)
    for session in sessions:
        of(session.student).add_session(session, totals[session.pk])
    alert_counts: dict[int, int] = defaultdict(int)
    for alert in alerts:
        alert_counts[alert.student_id] += 1
        of(alert.student)
    for student_id, count in alert_counts.items():
        figures[student_id].alerts = count
    if shows_everyone and lesson.classroom is not None:
        # Who never came: the members of the class by the lesson's end (or now), with no session in it.
        members = Membership.objects.filter(
            classroom=lesson.classroom, joined_at__lte=lesson.ended_at or now
        ).select_related("student")
        for membership in members:
            of(membership.student)
    bucket_s = timeline_bucket_s(lesson)
    return LessonReport(
        lesson=lesson,
        students=sorted(figures.values(), key=lambda item: (not item.attended, item.name.casefold(), item.student.pk)),
        alerts=alerts,
        # The class's mean is about every student in it: the teacher's to see, not a student's.
        timeline=class_engagement_timeline(lesson_id=lesson.pk, bucket_s=bucket_s) if shows_everyone else [],
        bucket_s=bucket_s,
        shows_everyone=shows_everyone,
    )


# ---- CSV -------------------------------------------------------------------------------------------

STATE_COLUMNS = [f"{state}_s" for state in RECORDED_STATES]
REPORT_COLUMNS = [
    "class", "class_code", "lesson_id", "lesson_started_at", "lesson_ended_at",
    "student_username", "student_name", "attended", "first_joined_at", "last_left_at", "connected_s", "sessions",
    *STATE_COLUMNS, "not_recorded_s", "blinks", "blink_rate_per_min", "mean_engagement", "frames_analysed", "alerts",
]
SAMPLE_COLUMNS = [
    "class", "class_code", "lesson_id", "student_username", "student_name", "session_id",
    "time", "state", "engagement", "ear", "blinks", "blink_rate_per_min", "perclos", "confidence", "frames",
]


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _class_cells(lesson: Lesson) -> list[str]:
    classroom = lesson.classroom
    return [classroom.name if classroom else "", classroom.join_code if classroom else ""]


def report_rows(report: LessonReport) -> Iterator[list[str]]:
    """A row per student, with the student and the class in every row; times ISO 8601 with their offset."""
    lesson = report.lesson
    yield REPORT_COLUMNS
    for figures in report.students:
        yield [
            *_class_cells(lesson), str(lesson.pk), _iso(lesson.started_at), _iso(lesson.ended_at),
            figures.student.get_username(), figures.name, "yes" if figures.attended else "no",
            _iso(figures.first_joined), _iso(figures.last_left), _number(figures.connected_s), str(figures.sessions),
            *[_number(figures.time_in_state.get(state, 0.0)) for state in RECORDED_STATES],
            _number(figures.not_recorded_s), str(figures.blinks), _number(figures.blink_rate_per_min),
            _number(figures.mean_engagement), str(figures.frames), str(figures.alerts),
        ]


def sample_rows(*, lesson: Lesson, user: AnyUser) -> Iterator[list[str]]:
    """Every sample of the lesson's sessions that `user` may read, oldest first."""
    yield SAMPLE_COLUMNS
    sessions = lesson_sessions_for_user(user=user, lesson=lesson)
    samples = (
        MetricSample.objects.filter(session__in=sessions)
        .select_related("session__student")
        .order_by("time", "id")
    )
    names: dict[int, str] = {}
    for sample in samples.iterator(chunk_size=2000):
        student = sample.session.student
        if student.pk not in names:
            names[student.pk] = student_display_name(student)
        yield [
            *_class_cells(lesson), str(lesson.pk), student.get_username(), names[student.pk], str(sample.session_id),
            _iso(sample.time), sample.state, "" if sample.engagement is None else str(sample.engagement),
            _number(sample.ear, 3), str(sample.blinks), _number(sample.blink_rate_per_min),
            _number(sample.perclos, 3), sample.confidence, str(sample.frames),
        ]
