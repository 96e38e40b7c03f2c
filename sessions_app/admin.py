"""Sessions in the admin: a record to look at, never to edit.

Nobody may add or change a session or a sample here (what was measured stays as measured); a
superuser may delete one, for instance to honour an erasure request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from .models import TOTAL_FIELDS, MetricSample, Session

CHART_WIDTH = 640
CHART_HEIGHT = 160
# Open eyes read about 0.25-0.35; the axis reaches a little past that, or the highest EAR seen.
CHART_EAR_TOP = 0.4
ENGAGEMENT_COLOUR = "#2563eb"
EAR_COLOUR = "#ea580c"


def format_duration(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _polylines(runs: Sequence[Sequence[tuple[float, float]]], colour: str):
    lines = [" ".join(f"{x:.1f},{y:.1f}" for x, y in run) for run in runs if len(run) > 1]
    return format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>',
        ((colour, points) for points in lines),
    )


def engagement_chart_svg(samples: Sequence[MetricSample]) -> str:
    """Engagement (0-100) and EAR over time as an inline SVG; EAR lines break where no face was seen."""
    if len(samples) < 2:
        return format_html("<p>{}</p>", "Too few samples for a chart.")
    start, span = samples[0].time, (samples[-1].time - samples[0].time).total_seconds() or 1.0
    ear_top = max([CHART_EAR_TOP, *(sample.ear for sample in samples if sample.ear is not None)])

    def x(sample: MetricSample) -> float:
        return (sample.time - start).total_seconds() / span * CHART_WIDTH

    def y(share: float) -> float:
        return CHART_HEIGHT - share * CHART_HEIGHT

    engagement = [[(x(sample), y(sample.engagement / 100)) for sample in samples]]
    ear_runs: list[list[tuple[float, float]]] = [[]]
    for sample in samples:
        if sample.ear is None:
            ear_runs.append([])
        else:
            ear_runs[-1].append((x(sample), y(sample.ear / ear_top)))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'role="img" aria-label="Engagement and EAR over time" style="background:#f8fafc;border:1px solid #cbd5e1">'
        "{engagement}{ear}</svg>"
        '<p><span style="color:{ec}">&#9644; engagement 0-100</span> &nbsp; '
        '<span style="color:{ac}">&#9644; EAR 0-{top}</span> &nbsp; {first} to {last} UTC</p>',
        w=CHART_WIDTH,
        h=CHART_HEIGHT,
        engagement=_polylines(engagement, ENGAGEMENT_COLOUR),
        ear=_polylines(ear_runs, EAR_COLOUR),
        ec=ENGAGEMENT_COLOUR,
        ac=EAR_COLOUR,
        top=f"{ear_top:.2f}",
        first=f"{samples[0].time:%H:%M:%S}",
        last=f"{samples[-1].time:%H:%M:%S}",
    )


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
class SessionAdmin(admin.ModelAdmin):
    list_display = (
        "student",
        "classroom",
        "started_at",
        "duration",
        "blink_count",
        "blink_rate_per_min",
        "mean_engagement",
        "dominant_state",
        "status",
    )
    list_filter = ("classroom", "status", "started_at")
    date_hierarchy = "started_at"
    search_fields = ("student__username",)
    list_select_related = ("student", "classroom")
    fieldsets = (
        (None, {"fields": ("student", "classroom", "status", "started_at", "ended_at", "duration")}),
        ("Totals", {"fields": (*TOTAL_FIELDS, "dominant_state")}),
        ("Over time", {"fields": ("chart",)}),
    )
    readonly_fields = ("duration", "dominant_state", "chart")
    inlines = [MetricSampleInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Session | None = None) -> bool:
        # View only: the change page shows every field read-only and offers no Save.
        return False

    @admin.display(description="duration")
    def duration(self, session: Session) -> str:
        return format_duration(session.duration)

    @admin.display(description="dominant state")
    def dominant_state(self, session: Session) -> str:
        return session.dominant_state or "-"

    @admin.display(description="engagement and EAR")
    def chart(self, session: Session) -> str:
        return engagement_chart_svg(list(session.samples.order_by("time", "id")))
