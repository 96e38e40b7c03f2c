"""The pages: joining a class, the student's class page, and the teacher's classes and dashboard (a class's
settings are in settings_views.py).

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
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from sessions_app.models import Alert, Lesson
from smartsession.csp import allow_webassembly
from vision.face import MIN_DETECTION_CONFIDENCE, MIN_PRESENCE_CONFIDENCE
from vision.measurements import BLENDSHAPE_NAMES, LANDMARK_XY_RANGE, LANDMARK_Z_RANGE
from sessions_app.serializers import LessonSerializer
from sessions_app.services import class_engagement_timeline, lesson_current

from .forms import ClassroomCreateForm, JoinForm
from .join_limit import limit_join_guesses
from .models import Classroom, Membership
from .roles import is_teacher
from .services import (
    AccessDenied,
    classroom_create,
    classroom_join,
    membership_consent,
    membership_withdraw_consent,
    student_access,
    student_display_name,
    teacher_access,
)

# The dashboard's class timeline: how far back it starts, and the width of one point.
TIMELINE_MINUTES = 10
TIMELINE_BUCKET_S = 10
# The lesson's newest alerts a reloaded dashboard shows (the report has them all).
DASHBOARD_ALERTS = 50
# What the student page's canvas.toBlob uses: about 15 KB for a 640x360 face, and no visible loss for landmarks.
JPEG_QUALITY = 0.7
# On-device analysis: a second face is worth noticing ("2 faces in view"); more only cost the device time.
DEVICE_MAX_FACES = 2
# Below this rate, sustained, blinks are missed (docs/vision.md: at 5 fps a fifth of them already are):
# the device is too slow, and the page falls back to frames if the class allows it.
DEVICE_MIN_FPS = 5
# A download of the runtime or the model that receives nothing for this long has stalled (a captive portal, a
# dropped Wi-Fi): the page stops waiting and says so, instead of showing the same percentage for ever. A slow
# download that keeps arriving is never cut; what cannot be aborted (the runtime's 156 KB module, its start) gets this
# long, and twice it, in all.
DEVICE_DOWNLOAD_STALL_S = 30
TASKS_VISION = "vendor/tasks-vision"


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
    if request.user.is_superuser:
        return redirect("all-classes")
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
        "analysis": _analysis_config(classroom),
    }
    response = render(request, "classroom/student.html", context)
    # Only a page that runs the face model itself may compile WebAssembly.
    return allow_webassembly(response) if classroom.on_device else response


def _analysis_config(classroom: Classroom) -> dict:
    """Where the class's faces are analysed, and for on-device analysis what the page loads and sends: the
    runtime and the model from this server, the server's own model settings, and the measurement message's
    layout (vision.measurements), so the page repeats none of them."""
    if not classroom.on_device:
        return {"onDevice": False, "frameFallback": classroom.frame_fallback}
    return {
        "onDevice": True,
        "frameFallback": classroom.frame_fallback,
        "minFps": DEVICE_MIN_FPS,
        "downloadStallMs": DEVICE_DOWNLOAD_STALL_S * 1000,
        "runtime": {
            "module": static(f"{TASKS_VISION}/vision_bundle.mjs"),
            "simd": {
                "wasmLoaderPath": static(f"{TASKS_VISION}/wasm/vision_wasm_internal.js"),
                "wasmBinaryPath": static(f"{TASKS_VISION}/wasm/vision_wasm_internal.wasm"),
            },
            "noSimd": {
                "wasmLoaderPath": static(f"{TASKS_VISION}/wasm/vision_wasm_nosimd_internal.js"),
                "wasmBinaryPath": static(f"{TASKS_VISION}/wasm/vision_wasm_nosimd_internal.wasm"),
            },
            "model": reverse("face-model"),
        },
        "landmarker": {
            "numFaces": DEVICE_MAX_FACES,
            "minFaceDetectionConfidence": MIN_DETECTION_CONFIDENCE,
            "minFacePresenceConfidence": MIN_PRESENCE_CONFIDENCE,
        },
        "message": {
            "blendshapes": list(BLENDSHAPE_NAMES),
            "xyRange": list(LANDMARK_XY_RANGE),
            "zRange": list(LANDMARK_Z_RANGE),
        },
    }


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
        # Always expression-free at first: turning expressions on is a choice made on the settings page, which
        # says what it means and where the law forbids it.
        classroom = classroom_create(teacher=request.user, name=form.cleaned_data["name"])
        messages.success(request, f"Created {classroom.name}. Students join it with the code {classroom.join_code}.")
        return redirect("teacher-classes")
    classes = Classroom.objects.filter(teacher=request.user).annotate(members=Count("memberships"))
    return render(request, "classroom/teacher_classes.html", {"classes": classes, "form": form})


def taught_classroom(request: HttpRequest, code: str) -> Classroom:
    """The class for a teacher's page: its teacher's (or a superuser's), else 404 or 403."""
    try:
        return teacher_access(user=request.user, code=code)
    except AccessDenied as denied:
        raise http_error(denied) from None


def _alert_event(alert: Alert) -> dict:
    """A stored alert as the dashboard's script reads a live one (docs/protocol.md, "alert")."""
    student = alert.student
    return {
        "student": {"id": student.pk, "username": student.get_username(), "display_name": student_display_name(student)},
        "kind": alert.kind,
        "reason": alert.reason,
        "time": alert.time.isoformat(),
    }


@login_required
@require_safe
def dashboard(request: HttpRequest, code: str) -> HttpResponse:
    classroom = taught_classroom(request, code)
    members = [
        {
            "id": membership.student_id,
            "username": membership.student.get_username(),
            "display_name": student_display_name(membership.student),
            "attention_rules": membership.attention_rules,
        }
        for membership in classroom.memberships.select_related("student")
    ]
    lesson = lesson_current(classroom=classroom)
    alerts = []
    if lesson is not None:
        # The lesson's newest alerts, oldest first: the page adds them as if they had just arrived, newest on top.
        newest = lesson.alerts.select_related("student").order_by("-time", "-id")[:DASHBOARD_ALERTS]
        alerts = list(reversed(newest))
    config = {
        "wsPath": f"/ws/teacher/{classroom.join_code}/",
        "classroom": {
            "code": classroom.join_code,
            "name": classroom.name,
            "expressions": classroom.expressions,
            "timeZone": classroom.time_zone,
        },
        "members": members,
        "timeline": class_engagement_timeline(
            classroom_id=classroom.pk,
            since=timezone.now() - timedelta(minutes=TIMELINE_MINUTES),
            bucket_s=TIMELINE_BUCKET_S,
        ),
        # The lesson in progress as the lessons API gives it, which the page asks again later.
        "lesson": LessonSerializer(lesson).data if lesson is not None else None,
        "alerts": [_alert_event(alert) for alert in alerts],
        "lessonApiUrl": f"{reverse('lesson-list')}?classroom={classroom.join_code}&open=true",
        # The report of lesson 0, for the script to put the id of the lesson it shows in.
        "lessonReportUrl": reverse("lesson-page", args=[0]),
        "historyUrl": reverse("class-history", args=[classroom.join_code]),
        "settingsUrl": reverse("class-settings", args=[classroom.join_code]),
    }
    with timezone.override(classroom.time_zone):
        return render(
            request,
            "classroom/dashboard.html",
            {
                "classroom": classroom,
                "config": config,
                "lesson": lesson,
                "idle_minutes": settings.SMARTSESSION_LESSON_IDLE_MINUTES,
            },
        )


@login_required
@require_safe
def all_classes(request: HttpRequest) -> HttpResponse:
    """A superuser's start page: every class, with its teacher, members and lesson in progress."""
    if not request.user.is_superuser:
        raise PermissionDenied("Only an administrator sees every class.")
    classes = (
        Classroom.objects.select_related("teacher")
        .annotate(members=Count("memberships", distinct=True))
        .order_by("name", "id")
    )
    open_lessons = set(Lesson.objects.filter(ended_at__isnull=True).values_list("classroom_id", flat=True))
    rows = [(classroom, student_display_name(classroom.teacher), classroom.pk in open_lessons) for classroom in classes]
    return render(request, "classroom/all_classes.html", {"rows": rows})


def join_url(request: HttpRequest, classroom: Classroom) -> str:
    """The link (and QR code) that takes a student to joining this class, as this server is reached."""
    return request.build_absolute_uri(reverse("join-link", args=[classroom.join_code]))
