"""Getting students into a class: the join link and its QR code, a CSV roster, invite links, and self-sign-up.

Thin: the rules are in classroom.roster (the import and invite links) and classroom.services (joining and
signing up); the pages only translate.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import PasswordResetConfirmView
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from .forms import RosterUploadForm, SignUpForm, SwitchForm
from .join_limit import code_not_tried, limit_code_guesses
from .models import Classroom
from .qr import qr_png, qr_svg
from .roster import MAX_FILE_BYTES, RosterFileError, invite_tokens, is_plain_student, roster_import
from .services import (
    classroom_self_signup,
    classroom_set_self_signup,
    student_display_name,
)
from .views import join_url, taught_classroom


def _students_page(request: HttpRequest, classroom: Classroom, *, form: RosterUploadForm, problems=(), status=200):
    memberships = classroom.memberships.select_related("student").order_by("student__first_name", "student__username")
    context = {
        "classroom": classroom,
        "join_url": join_url(request, classroom),
        "form": form,
        "problems": problems,
        "members": [(membership, student_display_name(membership.student)) for membership in memberships],
    }
    # When each student joined, on the class's calendar, as the class's other pages show times.
    with timezone.override(classroom.time_zone):
        return render(request, "classroom/students.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def class_students(request: HttpRequest, code: str) -> HttpResponse:
    """The join link and QR code, the roster upload, self-sign-up and the members of the class.

    A successful upload answers with the class sheet itself, not a redirect: the invite links in it exist
    only in this one response (nothing stores them), so it is shown once and printed from there.
    """
    classroom = taught_classroom(request, code)
    if request.method != "POST":
        return _students_page(request, classroom, form=RosterUploadForm())
    form = RosterUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _students_page(request, classroom, form=form, status=400)
    try:
        # One byte past the limit is enough for read_roster to refuse a file that is too big, without reading it all.
        result = roster_import(classroom=classroom, data=form.cleaned_data["file"].read(MAX_FILE_BYTES + 1))
    except RosterFileError as error:
        form.add_error("file", str(error))
        return _students_page(request, classroom, form=form, status=400)
    if not result.ok:
        return _students_page(request, classroom, form=RosterUploadForm(), problems=result.problems, status=400)
    rows = [
        {
            "added": added,
            "invite_url": request.build_absolute_uri(added.invite_url) if added.invite_url else None,
            "invite_qr": qr_svg(request.build_absolute_uri(added.invite_url), title=f"Invite link for {added.display_name}")
            if added.invite_url
            else None,
        }
        for added in result.added
    ]
    return render(
        request,
        "classroom/roster_sheet.html",
        {
            "classroom": classroom,
            "rows": rows,
            "created": sum(1 for added in result.added if added.created),
            "invites": sum(1 for row in rows if row["invite_url"]),
            "join_url": join_url(request, classroom),
            "login_url": request.build_absolute_uri(reverse("login")),
        },
    )


@login_required
@require_POST
def class_self_signup(request: HttpRequest, code: str) -> HttpResponse:
    classroom = taught_classroom(request, code)
    form = SwitchForm(request.POST)
    if not form.is_valid():
        return HttpResponse("The setting could not be read; reload the page and try again.", status=400)
    classroom_set_self_signup(classroom=classroom, enabled=form.cleaned_data["enabled"])
    state = "on" if classroom.self_signup else "off"
    messages.success(request, f"Sign-up with the join code is {state} for {classroom.name}.")
    return redirect("class-students", code=classroom.join_code)


@login_required
@require_safe
def join_qr(request: HttpRequest, code: str) -> HttpResponse:
    """The join link as a QR code (PNG), for the class page, a slide or a printed sheet."""
    classroom = taught_classroom(request, code)
    response = HttpResponse(qr_png(join_url(request, classroom)), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="join-{classroom.join_code}.png"'
    return response


@require_safe
def join_link(request: HttpRequest, code: str) -> HttpResponse:
    """Where the join link and its QR code lead: the join form for someone logged in, else how to get in.

    The page for someone not logged in says nothing about the class, so it tells nobody whether a code exists.
    """
    join_form = f"{reverse('join')}?{urlencode({'code': code})}"
    if request.user.is_authenticated:
        return redirect(join_form)
    return render(request, "classroom/join_landing.html", {"code": code, "next": join_form})


class InviteView(PasswordResetConfirmView):
    """An invite link from a class sheet: the student chooses a password and is logged in.

    Django's own password-reset confirmation, with our token (classroom.roster.InviteTokenGenerator): the
    link is moved out of the address bar before the form shows, and works once.
    """

    token_generator = invite_tokens
    template_name = "classroom/invite.html"
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("home")

    def get_user(self, uidb64):
        # Only a student's account is ever invited (classroom.roster): a link that names any other account, even
        # one printed before that rule, sets no password.
        user = super().get_user(uidb64)
        return user if user is not None and is_plain_student(user) else None

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set, and you are logged in. Open your class below.")
        return response


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
@limit_code_guesses("classroom/sign_up.html", SignUpForm)
def sign_up(request: HttpRequest) -> HttpResponse:
    """Creating an account with a class's join code, for a class whose teacher turned sign-up on."""
    if request.user.is_authenticated:
        return redirect("join")
    form = SignUpForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    if request.method != "POST":
        return render(request, "classroom/sign_up.html", {"form": form})
    if not form.is_valid():
        # A weak password or a taken username: the code was never tried, so this costs no guess.
        return code_not_tried(render(request, "classroom/sign_up.html", {"form": form}))
    try:
        membership = classroom_self_signup(
            code=form.cleaned_data["code"],
            username=form.cleaned_data["username"],
            display_name=form.cleaned_data["display_name"],
            password=form.cleaned_data["password1"],
        )
    except (Classroom.DoesNotExist, PermissionDenied):
        # One answer for both, so the form tells nobody which codes exist.
        form.add_error("code", "No class with this code takes sign-ups. Ask your teacher for an account.")
        return render(request, "classroom/sign_up.html", {"form": form})
    login(request, membership.student, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Welcome! You are in {membership.classroom.name}.")
    return redirect("student-class", code=membership.classroom.join_code)
