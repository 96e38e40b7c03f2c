"""Lessons, sessions and alerts in the admin: a record to look at, never to edit.

Nobody may add or change a session, a sample or an alert here (what was measured stays as measured); a
superuser may delete one, for instance to honour an erasure request. A session's charts are the pages'
own (its session page, linked from here), not a second drawing of them.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .models import PAUSED, TOTAL_FIELDS, Alert, Lesson, MetricSample, Session


def format_duration(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _rounded(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # View only: the change page shows every field read-only and offers no Save.
        return False


class MetricSampleInline(admin.TabularInline):
    model = MetricSample
    extra = 0
    can_delete = False
    fields = ("time", "state", "engagement", "ear", "blinks", "blink_rate_per_min", "perclos", "confidence", "frames")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Session | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Session | None = None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = (
        "student",
        "classroom",
        "started_at",
        "duration",
        "blink_count",
        "blink_rate",
        "engagement",
        "dominant_state",
        "status",
    )
    list_filter = ("classroom", "status", "started_at")
    date_hierarchy = "started_at"
    search_fields = ("student__username",)
    list_select_related = ("student", "classroom")
    fieldsets = (
        (None, {"fields": ("student", "classroom", "lesson", "status", "started_at", "ended_at", "duration", "charts")}),
        (
            "Totals",
            {
                "fields": (
                    "frames_analysed", "blink_count", "blink_rate", "ear_mean", "ear_min", "engagement",
                    "perclos_rounded", "dominant_state", "time_in_state_table",
                )
            },
        ),
    )
    readonly_fields = (
        "lesson", "duration", "dominant_state", "charts", "blink_rate", "ear_mean", "ear_min", "engagement",
        "perclos_rounded", "time_in_state_table", *TOTAL_FIELDS,
    )
    raw_id_fields = ("lesson",)
    inlines = [MetricSampleInline]

    @admin.display(description="duration")
    def duration(self, session: Session) -> str:
        return format_duration(session.duration)

    @admin.display(description="dominant state")
    def dominant_state(self, session: Session) -> str:
        return session.dominant_state or "-"

    @admin.display(description="blink rate (a minute)", ordering="blink_rate_per_min")
    def blink_rate(self, session: Session) -> str:
        return _rounded(session.blink_rate_per_min, 1)

    @admin.display(description="mean engagement (0-100)", ordering="mean_engagement")
    def engagement(self, session: Session) -> str:
        return _rounded(session.mean_engagement, 0)

    @admin.display(description="mean EAR")
    def ear_mean(self, session: Session) -> str:
        return _rounded(session.mean_ear, 3)

    @admin.display(description="lowest EAR")
    def ear_min(self, session: Session) -> str:
        return _rounded(session.min_ear, 3)

    @admin.display(description="PERCLOS")
    def perclos_rounded(self, session: Session) -> str:
        return _rounded(session.perclos, 2)

    @admin.display(description="time in each state")
    def time_in_state_table(self, session: Session) -> str:
        """Seconds and share of the session per state, most first; paused is a state of its own."""
        if not session.time_in_state:
            return "-"
        total = max(session.duration.total_seconds(), sum(session.time_in_state.values())) or 1.0
        rows = sorted(session.time_in_state.items(), key=lambda item: -item[1])
        return format_html(
            '<table class="time-in-state"><thead><tr><th>state</th><th>seconds</th><th>share</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}%</td></tr>",
                (
                    (state + (" (nothing measured)" if state == PAUSED else ""), f"{seconds:.0f}", f"{100 * seconds / total:.0f}")
                    for state, seconds in rows
                ),
            ),
        )

    @admin.display(description="charts")
    def charts(self, session: Session) -> str:
        # The session page draws engagement, EAR and blink rate with the pages' uPlot charts; staff may open it.
        return format_html(
            '<a href="{}">Engagement, EAR and blink rate over time, on the session\'s page</a>',
            reverse("session-page", args=[session.pk]),
        )


class AlertInline(admin.TabularInline):
    model = Alert
    extra = 0
    can_delete = False
    fields = ("time", "student", "kind", "reason", "session")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Lesson | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Lesson | None = None) -> bool:
        return False


@admin.register(Lesson)
class LessonAdmin(ReadOnlyAdmin):
    list_display = ("classroom", "started_at", "ended_at", "duration", "opened_by", "end_reason")
    list_filter = ("classroom", "end_reason", "started_at")
    date_hierarchy = "started_at"
    search_fields = ("classroom__name", "classroom__join_code")
    list_select_related = ("classroom", "opened_by")
    fields = ("classroom", "started_at", "ended_at", "duration", "opened_by", "end_reason", "report")
    readonly_fields = fields
    inlines = [AlertInline]

    @admin.display(description="duration")
    def duration(self, lesson: Lesson) -> str:
        return format_duration(lesson.duration)

    @admin.display(description="report")
    def report(self, lesson: Lesson) -> str:
        return format_html('<a href="{}">The lesson\'s report</a>', reverse("lesson-page", args=[lesson.pk]))


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("time", "student", "kind", "reason", "lesson")
    list_filter = ("kind", "time")
    date_hierarchy = "time"
    search_fields = ("student__username", "reason")
    list_select_related = ("student", "lesson__classroom")
    readonly_fields = ("time", "student", "kind", "reason", "lesson", "session")
