"""The history pages: lists of sessions and one session's charts, for students and teachers alike.

Thin: who may see what is decided by sessions_app.services (sessions_visible_to, session_for_user) and
classroom.services.teacher_access; this module only shapes the rows for the templates. The charts are
drawn in the browser (static/js/session-charts.js) from the samples embedded in the page, so the page
needs no second request, and everything the charts say is in the page as text as well.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from sessions_app.models import Session
from sessions_app.services import session_for_user, sessions_visible_to

from .services import AccessDenied, student_display_name, teacher_access
from .views import http_error

SESSIONS_PER_PAGE = 25


@dataclass(frozen=True)
class StateView:
    """How a page shows a state: the word, the icon and the `state-<css_name>` colour class."""

    name: str
    label: str
    icon: str | None
    css_name: str


# Server-rendered twin of STATES in static/js/states.js (the tracker's states, in vision.tracker.STATES order).
KNOWN_STATES = {
    view.name: view
    for view in (
        StateView("focused", "Focused", "eye", "focused"),
        StateView("happy", "Happy", "smile", "happy"),
        StateView("confused", "Confused", "circle-question-mark", "confused"),
        StateView("distracted", "Distracted", "eye-off", "distracted"),
        StateView("drowsy", "Drowsy", "moon", "drowsy"),
        StateView("absent", "Absent", "user-x", "absent"),
    )
}
# Time that no sample stands for: the recorder was not running (services.sample_interval_cap).
NOT_RECORDED = StateView("not-recorded", "Not recorded", None, "waiting")


def state_view(state: str) -> StateView:
    # A state only an old client sent (time_in_state from client totals) still shows, by its own name.
    return KNOWN_STATES.get(state) or StateView(state, state.replace("_", " ").capitalize(), None, "waiting")


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
    dominant_state: StateView | None


def session_rows(sessions: Iterable[Session]) -> list[SessionRow]:
    return [
        SessionRow(
            session=session,
            student_name=student_display_name(session.student),
            duration=format_duration(session.duration.total_seconds()),
            dominant_state=state_view(session.dominant_state) if session.dominant_state else None,
        )
        for session in sessions
    ]


def _history_page(request: HttpRequest, sessions: QuerySet[Session]) -> Page:
    # get_page: a missing, malformed or too-large ?page= shows the first or last page instead of an error.
    return Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))


@login_required
@require_safe
def my_history(request: HttpRequest) -> HttpResponse:
    sessions = sessions_visible_to(request.user)
    page = _history_page(request, sessions)
    return render(
        request,
        "classroom/history.html",
        {
            "title": "History",
            "caption": "Sessions you may see, newest first",
            "page_obj": page,
            "rows": session_rows(page),
            # A student's own history would repeat their name on every row.
            "show_student": sessions.exclude(student=request.user).exists(),
            "show_class": True,
        },
    )


@login_required
@require_safe
def class_history(request: HttpRequest, code: str) -> HttpResponse:
    try:
        classroom = teacher_access(user=request.user, code=code)
    except AccessDenied as denied:
        raise http_error(denied) from None
    page = _history_page(request, sessions_visible_to(request.user, classroom_code=classroom.join_code))
    return render(
        request,
        "classroom/history.html",
        {
            "title": f"History of {classroom.name}",
            "caption": f"Sessions of {classroom.name}, newest first",
            "classroom": classroom,
            "page_obj": page,
            "rows": session_rows(page),
            "show_student": True,
            "show_class": False,
        },
    )


@dataclass(frozen=True)
class StateShare:
    state: StateView
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
    """Time in each state, most first, as a share of the session; a gap in the recording shows as "Not recorded"."""
    seconds_by_state = {state: float(seconds) for state, seconds in session.time_in_state.items() if seconds > 0}
    recorded = math.fsum(seconds_by_state.values())
    # Nothing recorded (an active session's totals are not computed yet): no bars rather than 100% "Not recorded".
    if recorded <= 0:
        return []
    total = max(session.duration.total_seconds(), recorded)
    views = [(state_view(state), seconds) for state, seconds in seconds_by_state.items()]
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
    def values(metric: str) -> list[float]:
        return [sample[metric] for sample in samples if sample[metric] is not None]

    return [
        ChartSpec("engagement", "Engagement", "", _summary(values("engagement"), digits=0, scale=" (out of 100)")),
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
            + " Each point counts the minute before it.",
        ),
    ]


@dataclass(frozen=True)
class SampleRow:
    time: datetime
    engagement: int
    ear: float | None
    blink_rate_per_min: float
    state: StateView


def _class_history_code(request: HttpRequest, session: Session) -> str | None:
    """The class's code when `request.user` may open its history (teacher_access decides), for a link back."""
    if session.classroom is None:
        return None
    try:
        return teacher_access(user=request.user, code=session.classroom.join_code).join_code
    except AccessDenied:
        return None


@login_required
@require_safe
def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        session = session_for_user(user=request.user, session_id=session_id)
    except Session.DoesNotExist:
        raise Http404("No such session.") from None
    samples = list(
        session.samples.order_by("time", "id").values("time", "engagement", "ear", "blink_rate_per_min", "state")
    )
    chart_samples = [
        {
            "t": sample["time"].timestamp(),
            "engagement": sample["engagement"],
            "ear": sample["ear"],
            "blink_rate_per_min": sample["blink_rate_per_min"],
            "state": sample["state"],
        }
        for sample in samples
    ]
    return render(
        request,
        "classroom/session.html",
        {
            "session": session,
            "student_name": student_display_name(session.student),
            "is_own": session.student_id == request.user.pk,
            "duration": format_duration(session.duration.total_seconds()),
            "perclos_percent": None if session.perclos is None else f"{100 * session.perclos:.0f}%",
            "state_shares": state_shares(session),
            "charts": chart_specs(chart_samples) if samples else [],
            "chart_samples": chart_samples,
            "sample_rows": [
                SampleRow(
                    time=sample["time"],
                    engagement=sample["engagement"],
                    ear=sample["ear"],
                    blink_rate_per_min=sample["blink_rate_per_min"],
                    state=state_view(sample["state"]),
                )
                for sample in samples
            ],
            "class_history_code": _class_history_code(request, session),
        },
    )
