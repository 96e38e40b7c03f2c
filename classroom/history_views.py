"""The history pages: lists of sessions and one session's charts, for students and teachers alike.

Thin: who may see what is decided by sessions_app.visibility (sessions_visible_to, session_for_user) and
classroom.services.teacher_access; this module only shapes the rows for the templates. The charts are
drawn in the browser (static/js/session-charts.js) from the samples embedded in the page, so the page
needs no second request, and everything the charts say is in the page as text as well.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from sessions_app.models import MetricSample, Session
from sessions_app.personal_records import personal_alerts, personal_records_erase, personal_sessions
from sessions_app.visibility import lessons_visible_to, session_for_user, sessions_visible_to

from .history_display import (
    SampleRow,
    chart_specs,
    format_duration,
    lesson_rows,
    session_rows,
    session_time_zone,
    state_shares,
)
from .services import AccessDenied, student_display_name, teacher_access
from .states import state_info
from .views import http_error

SESSIONS_PER_PAGE = 25
LESSONS_PER_PAGE = 10


def _history_page(request: HttpRequest, sessions: QuerySet[Session]) -> Page:
    # get_page: a missing, malformed or too-large ?page= shows the first or last page instead of an error.
    return Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))


@login_required
@require_safe
def my_history(request: HttpRequest) -> HttpResponse:
    sessions = sessions_visible_to(request.user)
    page = _history_page(request, sessions)
    rows = session_rows(page)
    # Each row in its class's time zone, as the class's own pages show it; the page says which zone when all
    # rows share one, and each time says its zone when they do not.
    time_zones = {row.time_zone for row in rows}
    context = {
        "title": "History",
        "caption": "Sessions you may see, newest first",
        "page_obj": page,
        "rows": rows,
        # A student's own history would repeat their name on every row.
        "show_student": sessions.exclude(student=request.user).exists(),
        "show_class": True,
        "own_records": True,
        "mixed_time_zones": len(time_zones) > 1,
    }
    with timezone.override(time_zones.pop() if len(time_zones) == 1 else timezone.get_default_timezone_name()):
        return render(request, "classroom/history.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def erase_my_records(request: HttpRequest) -> HttpResponse:
    """Erasing one's own records (GDPR art. 17), after a confirmation: only the person's own, never anyone else's."""
    if request.method == "POST":
        counts = personal_records_erase(student=request.user)
        messages.success(request, f"Erased {counts['sessions']} sessions, {counts['samples']} samples and "
                                  f"{counts['alerts']} alerts. Your account and classes stay.")
        return redirect("my-history")
    counts = {
        "sessions": personal_sessions(student=request.user).count(),
        "samples": MetricSample.objects.filter(session__student=request.user).count(),
        "alerts": personal_alerts(student=request.user).count(),
    }
    return render(request, "classroom/erase_records.html", {"counts": counts})


@login_required
@require_safe
def class_history(request: HttpRequest, code: str) -> HttpResponse:
    try:
        classroom = teacher_access(user=request.user, code=code)
    except AccessDenied as denied:
        raise http_error(denied) from None
    page = _history_page(request, sessions_visible_to(request.user, classroom_code=classroom.join_code))
    lessons = lessons_visible_to(request.user, classroom_code=classroom.join_code).annotate(
        students=Count("sessions__student", distinct=True), alert_count=Count("alerts", distinct=True)
    ).order_by("-started_at", "-id")
    lessons_page = Paginator(lessons, LESSONS_PER_PAGE).get_page(request.GET.get("lessons_page"))
    context = {
        "title": f"Lessons and history of {classroom.name}",
        "caption": f"Sessions of {classroom.name}, newest first",
        "classroom": classroom,
        "lessons_page": lessons_page,
        "lesson_rows": lesson_rows(lessons_page),
        "page_obj": page,
        "rows": session_rows(page),
        "show_student": True,
        "show_class": False,
    }
    with timezone.override(classroom.time_zone):
        return render(request, "classroom/history.html", context)


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
    context = {
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
                state=state_info(sample["state"]),
            )
            for sample in samples
        ],
        "class_history_code": _class_history_code(request, session),
    }
    # A session of a class is shown in the class's time zone, as its lesson report is.
    with timezone.override(session_time_zone(session)):
        return render(request, "classroom/session.html", context)
