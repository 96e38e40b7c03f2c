"""The pages: joining a class, the student's class page, and the teacher's classes and dashboard.

Thin: every rule is in services.py (the same functions the WebSocket consumers call). The live parts run
in the browser (static/js/student.js, dashboard.js) over the sockets in consumers.py.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from sessions_app.services import class_engagement_timeline

from .forms import AccommodationForm, ClassroomCreateForm, JoinForm, SwitchForm
from .join_limit import limit_join_guesses
from .models import Classroom, Membership
from .roles import is_teacher
from .services import (
    AccessDenied,
    classroom_create,
    classroom_join,
    classroom_set_expressions,
    membership_consent,
    membership_set_attention_rules,
    membership_withdraw_consent,
    student_access,
    student_display_name,
    teacher_access,
)

# The dashboard's class timeline: how far back it starts, and the width of one point.
TIMELINE_MINUTES = 10
TIMELINE_BUCKET_S = 10
# What the student page's canvas.toBlob uses: about 15 KB for a 640x360 face, and no visible loss for landmarks.
JPEG_QUALITY = 0.7


def http_error(denied: AccessDenied) -> Exception:
    """The page's answer to a refusal: 404 for no such class, 403 otherwise.

    login_required runs first, so "not authenticated" cannot reach a page.
    """
    return Http404(denied.message) if denied.error_code == "not_found" else PermissionDenied(denied.message)


def teacher_required(view):
    @wraps(view)
    @login_required
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_teacher(request.user):
            raise PermissionDenied("Only teachers can see this page. An administrator gives the teacher role.")
        return view(request, *args, **kwargs)

    return checked


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "home.html")
    if is_teacher(request.user):
        return redirect("teacher-classes")
    memberships = Membership.objects.filter(student=request.user).select_related("classroom", "classroom__teacher")
    return render(request, "classroom/my_classes.html", {"memberships": memberships, "form": JoinForm()})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@limit_join_guesses
def join(request: HttpRequest) -> HttpResponse:
    form = JoinForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    if request.method == "POST" and form.is_valid():
        try:
            membership = classroom_join(student=request.user, code=form.cleaned_data["code"])
        except Classroom.DoesNotExist:
            form.add_error("code", "There is no class with this code. Check it with your teacher.")
        except PermissionDenied as refused:
            form.add_error("code", str(refused))
        else:
            return redirect("student-class", code=membership.classroom.join_code)
    return render(request, "classroom/join.html", {"form": form})


@login_required
@require_safe
def student_class(request: HttpRequest, code: str) -> HttpResponse:
    membership = _membership_for_page(request, code)
    classroom = membership.classroom
    context = {
        "classroom": classroom,
        "membership": membership,
        "teacher_name": student_display_name(classroom.teacher),
        "max_fps": settings.SMARTSESSION_MAX_FPS,
    }
    if membership.consented_at is None:
        return render(request, "classroom/consent.html", context)
    context["config"] = {
        "wsPath": f"/ws/student/{classroom.join_code}/",
        "frameWidth": settings.SMARTSESSION_FRAME_WIDTH,
        "maxFps": settings.SMARTSESSION_MAX_FPS,
        "jpegQuality": JPEG_QUALITY,
        "expressions": classroom.expressions,
        "loginUrl": reverse("login"),
        "withdrawUrl": reverse("class-consent-withdraw", args=[classroom.join_code]),
        "historyUrl": reverse("my-history"),
    }
    return render(request, "classroom/student.html", context)


def _membership_for_page(request: HttpRequest, code: str) -> Membership:
    """The member's membership, consented or not: the class page shows the consent step itself."""
    try:
        return student_access(user=request.user, code=code, require_consent=False)
    except AccessDenied as denied:
        raise http_error(denied) from None


@login_required
@require_POST
def consent(request: HttpRequest, code: str) -> HttpResponse:
    membership = membership_consent(membership=_membership_for_page(request, code))
    return redirect("student-class", code=membership.classroom.join_code)


@login_required
@require_POST
def withdraw_consent(request: HttpRequest, code: str) -> HttpResponse:
    membership = membership_withdraw_consent(membership=_membership_for_page(request, code))
    messages.info(request, f"You withdrew your consent for {membership.classroom.name}. Nothing is analysed any more.")
    return redirect("home")


@teacher_required
@require_http_methods(["GET", "HEAD", "POST"])
def teacher_classes(request: HttpRequest) -> HttpResponse:
    form = ClassroomCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        classroom = classroom_create(
            teacher=request.user, name=form.cleaned_data["name"], expressions=not form.cleaned_data["expression_free"]
        )
        messages.success(request, f"Created {classroom.name}. Students join it with the code {classroom.join_code}.")
        return redirect("teacher-classes")
    classes = Classroom.objects.filter(teacher=request.user).annotate(members=Count("memberships"))
    return render(request, "classroom/teacher_classes.html", {"classes": classes, "form": form})


def _taught_classroom(request: HttpRequest, code: str) -> Classroom:
    try:
        return teacher_access(user=request.user, code=code)
    except AccessDenied as denied:
        raise http_error(denied) from None


@login_required
@require_safe
def dashboard(request: HttpRequest, code: str) -> HttpResponse:
    classroom = _taught_classroom(request, code)
    members = [
        {
            "id": membership.student_id,
            "username": membership.student.get_username(),
            "display_name": student_display_name(membership.student),
            "attention_rules": membership.attention_rules,
        }
        for membership in classroom.memberships.select_related("student")
    ]
    config = {
        "wsPath": f"/ws/teacher/{classroom.join_code}/",
        "classroom": {"code": classroom.join_code, "name": classroom.name, "expressions": classroom.expressions},
        "members": members,
        "timeline": class_engagement_timeline(
            classroom_id=classroom.pk,
            since=timezone.now() - timedelta(minutes=TIMELINE_MINUTES),
            bucket_s=TIMELINE_BUCKET_S,
        ),
        "historyUrl": reverse("class-history", args=[classroom.join_code]),
        "settingsUrl": reverse("class-settings", args=[classroom.join_code]),
    }
    return render(request, "classroom/dashboard.html", {"classroom": classroom, "config": config})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def class_settings(request: HttpRequest, code: str) -> HttpResponse:
    classroom = _taught_classroom(request, code)
    if request.method == "POST":
        if "student" in request.POST:
            form = AccommodationForm(request.POST)
            if form.is_valid():
                try:
                    membership = membership_set_attention_rules(
                        classroom=classroom,
                        student_id=form.cleaned_data["student"],
                        enabled=form.cleaned_data["enabled"],
                    )
                except Membership.DoesNotExist:
                    raise Http404("This student is not in this class.") from None
                state = "on" if membership.attention_rules else "off"
                messages.success(
                    request, f"Gaze and head-pose rules are {state} for {student_display_name(membership.student)}."
                )
        else:
            form = SwitchForm(request.POST)
            if form.is_valid():
                classroom_set_expressions(classroom=classroom, expressions=not form.cleaned_data["enabled"])
                state = "on" if not classroom.expressions else "off"
                messages.success(request, f"Expression-free mode is {state} for {classroom.name}.")
        if not form.is_valid():
            return HttpResponse("The setting could not be read; reload the page and try again.", status=400)
        return redirect("class-settings", code=classroom.join_code)
    memberships = classroom.memberships.select_related("student")
    return render(
        request,
        "classroom/class_settings.html",
        {
            "classroom": classroom,
            "members": [(membership, student_display_name(membership.student)) for membership in memberships],
        },
    )
