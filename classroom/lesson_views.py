"""Lessons on the pages: the teacher starts and ends one on the dashboard; the report and its two CSV files.

Thin: the rules are sessions_app.services' (lesson_start, lesson_end, lesson_for_user) and the figures are
classroom.lesson_report's. Times are shown in the class's time zone; the CSV files and the API keep ISO 8601
with the offset.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Generator

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from sessions_app.models import Lesson
from sessions_app.services import lesson_end as end_lesson
from sessions_app.visibility import lesson_for_user
from sessions_app.services import lesson_start as start_lesson
from sessions_app.spreadsheet import csv_writer

from .forms import LessonEndForm
from .history_display import class_engagement_chart, format_duration
from .lesson_report import lesson_report, report_rows, sample_rows
from .services import AccessDenied, teacher_access
from .states import EXPRESSION_STATES, RECORDED_STATES, state_info
from .views import taught_classroom


@login_required
@require_POST
def lesson_start(request: HttpRequest, code: str) -> HttpResponse:
    classroom = taught_classroom(request, code)
    lesson, created = start_lesson(classroom=classroom, teacher=request.user)
    with timezone.override(classroom.time_zone):
        since = timezone.localtime(lesson.started_at).strftime("%H:%M")
    if created:
        messages.success(request, f"Lesson started at {since}. Students who stream now are in it.")
    else:
        messages.info(request, f"A lesson was already in progress (since {since}); it goes on.")
    return redirect("dashboard", code=classroom.join_code)


@login_required
@require_POST
def lesson_end(request: HttpRequest, code: str) -> HttpResponse:
    classroom = taught_classroom(request, code)
    form = LessonEndForm(request.POST)
    lesson = Lesson.objects.filter(pk=form.cleaned_data["lesson"], classroom=classroom).first() if form.is_valid() else None
    if lesson is None:
        # The dashboard names the lesson it shows, so a click never ends a different one than the teacher saw.
        raise Http404("No such lesson in this class.")
    if lesson.ended_at is not None:
        messages.info(request, "That lesson had already ended.")
        return redirect("dashboard", code=classroom.join_code)
    end_lesson(lesson_id=lesson.pk)
    messages.success(request, "Lesson ended. Here is its report.")
    return redirect("lesson-page", lesson_id=lesson.pk)


def _lesson_or_404(request: HttpRequest, lesson_id: int) -> Lesson:
    try:
        return lesson_for_user(user=request.user, lesson_id=lesson_id)
    except Lesson.DoesNotExist:
        raise Http404("No such lesson.") from None


def _class_links(request: HttpRequest, lesson: Lesson) -> str | None:
    """The class's code when the user may open its dashboard and history (teacher_access), for links back."""
    if lesson.classroom is None:
        return None
    try:
        return teacher_access(user=request.user, code=lesson.classroom.join_code).join_code
    except AccessDenied:
        return None


def _time_zone(lesson: Lesson) -> str:
    return lesson.classroom.time_zone if lesson.classroom is not None else timezone.get_default_timezone_name()


@login_required
@require_safe
def lesson_page(request: HttpRequest, lesson_id: int) -> HttpResponse:
    lesson = _lesson_or_404(request, lesson_id)
    report = lesson_report(lesson=lesson, user=request.user)
    expressions = lesson.classroom is None or lesson.classroom.expressions
    states = [state for state in RECORDED_STATES if expressions or state not in EXPRESSION_STATES]
    # Columns for every state that is possible in this class, plus any state the record holds anyway.
    for figures in report.students:
        states += [state for state in figures.time_in_state if state not in states]
    timeline = [{"t": point["t"], "engagement": point["engagement"]} for point in report.timeline]
    names = {figures.student.pk: figures.name for figures in report.students}  # every alert's student is one
    with timezone.override(_time_zone(lesson)):
        return render(
            request,
            "classroom/lesson.html",
            {
                "lesson": lesson,
                "report": report,
                "duration": format_duration(lesson.duration.total_seconds()),
                "states": [state_info(state) for state in states],
                "rows": [
                    {
                        "figures": figures,
                        "connected": format_duration(figures.connected_s),
                        "seconds": [format_duration(figures.time_in_state.get(state, 0.0)) for state in states],
                    }
                    for figures in report.students
                ],
                "alerts": [{"alert": alert, "student_name": names[alert.student_id]} for alert in report.alerts],
                "charts": [class_engagement_chart(timeline)] if timeline else [],
                "chart_samples": timeline,
                "class_code": _class_links(request, lesson),
            },
        )


class _Echo:
    """A file-like object whose write returns what it is given, for csv.writer into a streaming response."""

    def write(self, value: str) -> str:
        return value


# Excel opens a CSV file without it as the local 8-bit code page, and garbles every accented name.
BYTE_ORDER_MARK = "\ufeff"
# Rows read from the database per trip to the sync thread while a CSV file streams.
CSV_ROWS_PER_CHUNK = 500


def _csv_response(rows: Generator[list[str], None, None], filename: str) -> StreamingHttpResponse:
    """A CSV download streamed from `rows` (read in the sync thread a chunk at a time, as Daphne sends them).

    The response's iterator is asynchronous: given a sync one, Django under ASGI reads the whole file into memory
    before it sends a byte.
    """
    writer = csv_writer(_Echo())

    def next_chunk() -> str:
        return "".join(writer.writerow(row) for row in itertools.islice(rows, CSV_ROWS_PER_CHUNK))

    async def chunks() -> AsyncIterator[str]:
        try:
            yield BYTE_ORDER_MARK
            while chunk := await sync_to_async(next_chunk)():
                yield chunk
        finally:
            # A download cut short: the rows' database cursor is closed in the thread that opened it.
            await sync_to_async(rows.close)()

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_safe
def lesson_report_csv(request: HttpRequest, lesson_id: int) -> StreamingHttpResponse:
    lesson = _lesson_or_404(request, lesson_id)
    report = lesson_report(lesson=lesson, user=request.user)
    return _csv_response(report_rows(report), f"lesson-{lesson.pk}-students.csv")


@login_required
@require_safe
def lesson_samples_csv(request: HttpRequest, lesson_id: int) -> StreamingHttpResponse:
    lesson = _lesson_or_404(request, lesson_id)
    return _csv_response(sample_rows(lesson=lesson, user=request.user), f"lesson-{lesson.pk}-samples.csv")

