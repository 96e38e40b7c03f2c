"""A teacher's settings for one class: expression-free mode, analysis on devices or the server, the time zone,
and per-student accommodations. Each change reaches the streams in progress through services.py."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from .forms import AccommodationForm, AnalysisForm, ExpressionsOnForm, SwitchForm, TimeZoneForm
from .models import Classroom, Membership, time_zone_names
from .services import (
    classroom_set_analysis,
    classroom_set_expressions,
    classroom_set_time_zone,
    membership_set_attention_rules,
    student_display_name,
)
from .states import STATES
from .views import DEVICE_MIN_FPS, taught_classroom


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def class_settings(request: HttpRequest, code: str) -> HttpResponse:
    classroom = taught_classroom(request, code)
    if request.method == "POST":
        if "student" in request.POST:
            return _set_accommodation(request, classroom)
        if "time_zone" in request.POST:
            return _set_time_zone(request, classroom)
        if "analysis" in request.POST:
            return _set_analysis(request, classroom)
        return _set_expressions(request, classroom)
    return _settings_page(request, classroom, time_zone_form=TimeZoneForm(initial={"time_zone": classroom.time_zone}))


def _settings_page(request: HttpRequest, classroom: Classroom, *, time_zone_form: TimeZoneForm, status: int = 200):
    memberships = classroom.memberships.select_related("student")
    return render(
        request,
        "classroom/class_settings.html",
        {
            "classroom": classroom,
            "members": [(membership, student_display_name(membership.student)) for membership in memberships],
            "time_zone_form": time_zone_form,
            "time_zone_names": sorted(time_zone_names()),
            "analysis_form": AnalysisForm(initial={
                "analysis": AnalysisForm.DEVICE if classroom.on_device else AnalysisForm.SERVER,
                "frame_fallback": classroom.frame_fallback,
            }),
            "device_min_fps": DEVICE_MIN_FPS,
            "max_fps": settings.SMARTSESSION_MAX_FPS,
            "confused": STATES["confused"],
        },
        status=status,
    )


def _unreadable_setting() -> HttpResponse:
    return HttpResponse("The setting could not be read; reload the page and try again.", status=400)


def _set_accommodation(request: HttpRequest, classroom: Classroom) -> HttpResponse:
    form = AccommodationForm(request.POST)
    if not form.is_valid():
        return _unreadable_setting()
    try:
        membership = membership_set_attention_rules(
            classroom=classroom, student_id=form.cleaned_data["student"], enabled=form.cleaned_data["enabled"]
        )
    except Membership.DoesNotExist:
        raise Http404("This student is not in this class.") from None
    state = "on" if membership.attention_rules else "off"
    messages.success(request, f"Gaze and head-pose rules are {state} for {student_display_name(membership.student)}.")
    return redirect("class-settings", code=classroom.join_code)


def _set_time_zone(request: HttpRequest, classroom: Classroom) -> HttpResponse:
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        # The field is far down the page: focus it, so the teacher sees its error (and a screen reader reads it).
        form.fields["time_zone"].widget.attrs["autofocus"] = True
        return _settings_page(request, classroom, time_zone_form=form, status=400)
    classroom_set_time_zone(classroom=classroom, time_zone=form.cleaned_data["time_zone"])
    messages.success(request, f"Times on {classroom.name}'s pages are now shown in {classroom.time_zone}.")
    return redirect("class-settings", code=classroom.join_code)


def _set_analysis(request: HttpRequest, classroom: Classroom) -> HttpResponse:
    form = AnalysisForm(request.POST)
    if not form.is_valid():
        return _unreadable_setting()
    on_device = form.cleaned_data["analysis"] == AnalysisForm.DEVICE
    classroom_set_analysis(classroom=classroom, on_device=on_device, frame_fallback=form.cleaned_data["frame_fallback"])
    if not on_device:
        where = "on the server, from camera pictures"
    elif classroom.frame_fallback:
        where = "on the students' devices, with pictures to the server from devices that cannot"
    else:
        where = "on the students' devices only"
    messages.success(request, f"Faces in {classroom.name} are now analysed {where}.")
    return redirect("class-settings", code=classroom.join_code)


def _set_expressions(request: HttpRequest, classroom: Classroom) -> HttpResponse:
    form = SwitchForm(request.POST)
    if not form.is_valid():
        return _unreadable_setting()
    expression_free = form.cleaned_data["enabled"]
    if not expression_free and not ExpressionsOnForm(request.POST).is_valid():
        # Reading expressions only after the teacher has read what it means, and confirmed.
        messages.info(request, "Read what reading expressions means, then confirm, or keep expression-free mode.")
        return redirect("class-expressions", code=classroom.join_code)
    classroom_set_expressions(classroom=classroom, expressions=not expression_free)
    state = "on" if expression_free else "off"
    messages.success(request, f"Expression-free mode is {state} for {classroom.name}.")
    return redirect("class-settings", code=classroom.join_code)


@login_required
@require_safe
def class_expressions(request: HttpRequest, code: str) -> HttpResponse:
    """What reading expressions means, and where the law forbids it, before a teacher turns it on."""
    classroom = taught_classroom(request, code)
    return render(
        request,
        "classroom/class_expressions.html",
        {"classroom": classroom, "form": ExpressionsOnForm(), "happy": STATES["happy"], "confused": STATES["confused"]},
    )
