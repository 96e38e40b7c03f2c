"""The classroom rules, in one place for views, consumers and commands alike.

Everything here is sync ORM code: from async code (consumers) call it through
channels.db.database_sync_to_async. The objects returned have every relation a caller is
likely to read already loaded (select_related), because a lazy query from the event loop
raises SynchronousOnlyOperation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from .groups import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_NOT_FOUND,
    CLOSE_REPLACED,
    CLOSE_UNAVAILABLE,
    students_group,
)
from .models import Classroom, Membership, generate_join_code, normalize_join_code, validate_time_zone
from .roles import TEACHERS_GROUP, is_teacher

logger = logging.getLogger("smartsession.classes")

# A collision among 32**10 codes is so unlikely that a second try always succeeds in practice;
# the limit only keeps a broken code generator from looping forever.
JOIN_CODE_ATTEMPTS = 5

AnyUser = AbstractBaseUser | AnonymousUser


class AccessDenied(Exception):
    """Why a socket may not open: a close code for the WebSocket and words for the person."""

    def __init__(self, *, close_code: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.error_code = error_code
        self.message = message

    @classmethod
    def not_authenticated(cls, message: str) -> AccessDenied:
        return cls(close_code=CLOSE_NOT_AUTHENTICATED, error_code="not_authenticated", message=message)

    @classmethod
    def forbidden(cls, message: str) -> AccessDenied:
        return cls(close_code=CLOSE_FORBIDDEN, error_code="forbidden", message=message)

    @classmethod
    def not_found(cls) -> AccessDenied:
        return cls(close_code=CLOSE_NOT_FOUND, error_code="not_found", message="There is no class with this code.")

    @classmethod
    def consent_required(cls) -> AccessDenied:
        return cls(
            close_code=CLOSE_FORBIDDEN,
            error_code="consent_required",
            message="Open the class page and agree to being monitored first; nothing is analysed until then.",
        )

    @classmethod
    def replaced(cls) -> AccessDenied:
        return cls(
            close_code=CLOSE_REPLACED,
            error_code="replaced",
            message="This class was opened in another tab or window, which carries on from here.",
        )

    @classmethod
    def unavailable(cls) -> AccessDenied:
        return cls(
            close_code=CLOSE_UNAVAILABLE,
            error_code="unavailable",
            message="The server cannot reach its database just now; trying again shortly.",
        )

    @classmethod
    def restarting(cls) -> AccessDenied:
        return cls(
            close_code=CLOSE_UNAVAILABLE,
            error_code="server_restarting",
            message="The server is restarting; reconnecting shortly.",
        )


def classroom_create(*, teacher: AbstractBaseUser, name: str, expressions: bool = False) -> Classroom:
    if not is_teacher(teacher):
        raise PermissionDenied("Only teachers can create classes.")
    collision: IntegrityError | None = None
    for _ in range(JOIN_CODE_ATTEMPTS):
        try:
            # A savepoint, so a colliding code does not spoil a transaction the caller has open.
            with transaction.atomic():
                return Classroom.objects.create(
                    teacher=teacher, name=name, expressions=expressions, join_code=generate_join_code()
                )
        except IntegrityError as error:
            collision = error
    raise collision


def classroom_join(*, student: AbstractBaseUser, code: str) -> Membership:
    """Idempotent: joining a class twice returns the same membership. Unknown code: Classroom.DoesNotExist."""
    classroom = Classroom.objects.select_related("teacher").get(join_code=normalize_join_code(code))
    if classroom.teacher_id == student.pk:
        # The teacher would otherwise appear on their own dashboard as a student being monitored.
        raise PermissionDenied("You teach this class, so you cannot join it as a student.")
    membership, _ = Membership.objects.get_or_create(classroom=classroom, student=student)
    # Loaded already; saves the caller a query (or an async error) when it reads them.
    membership.classroom = classroom
    membership.student = student
    return membership


def student_access(*, user: AnyUser, code: str, require_consent: bool = True) -> Membership:
    """The membership that lets `user` stream to the class with `code`, or AccessDenied saying why not.

    Staff and superusers are not special: only members are monitored, and only after they consented.
    The class page asks with require_consent=False, to show the consent step itself.
    """
    if not user.is_authenticated:
        raise AccessDenied.not_authenticated("Log in to join this class.")
    normalized = normalize_join_code(code)
    membership = (
        Membership.objects.select_related("classroom__teacher", "student")
        .filter(classroom__join_code=normalized, student=user)
        .first()
    )
    if membership is None:
        if not Classroom.objects.filter(join_code=normalized).exists():
            raise AccessDenied.not_found()
        raise AccessDenied.forbidden("You are not a member of this class.")
    if require_consent and membership.consented_at is None:
        raise AccessDenied.consent_required()
    return membership


def _tell_student_sockets(code: str, event: dict[str, Any]) -> None:
    """Deliver `event` to the class's student sockets on every server process, once the change is committed.

    The change itself is saved either way: a stream that misses the event (the channel layer is down) reads
    the new setting when it reconnects, so a failed delivery is logged, not raised at the person saving it.
    """
    layer = get_channel_layer()

    def deliver() -> None:
        try:
            async_to_sync(layer.group_send)(students_group(code), event)
        except Exception:
            logger.warning("Could not tell class %s's streams about %s; they see it when they reconnect",
                           code, event["type"], exc_info=True)

    transaction.on_commit(deliver)


def membership_consent(*, membership: Membership) -> Membership:
    if membership.consented_at is None:
        membership.consented_at = timezone.now()
        membership.save(update_fields=["consented_at"])
    return membership


@transaction.atomic
def membership_withdraw_consent(*, membership: Membership) -> Membership:
    """Also stops a stream in progress: the student's open socket is closed (consumers.py)."""
    membership.consented_at = None
    membership.save(update_fields=["consented_at"])
    _tell_student_sockets(
        membership.classroom.join_code, {"type": "consent.withdrawn", "student_id": membership.student_id}
    )
    return membership


@transaction.atomic
def membership_set_attention_rules(*, classroom: Classroom, student_id: int, enabled: bool) -> Membership:
    """The accommodation: gaze and head-pose rules on or off for one student, applied to a live stream at once.

    Membership.DoesNotExist when the student is not in this class.
    """
    membership = Membership.objects.select_related("student").get(classroom=classroom, student_id=student_id)
    membership.attention_rules = enabled
    membership.save(update_fields=["attention_rules"])
    _tell_student_sockets(
        classroom.join_code, {"type": "accommodation.changed", "student_id": student_id, "attention_rules": enabled}
    )
    return membership


@transaction.atomic
def classroom_set_expressions(*, classroom: Classroom, expressions: bool) -> Classroom:
    """Expression-free mode on (expressions=False) or off, for every stream of the class at once."""
    classroom.expressions = expressions
    classroom.save(update_fields=["expressions"])
    _tell_student_sockets(classroom.join_code, {"type": "class.settings", "expressions": expressions})
    return classroom


@transaction.atomic
def classroom_set_analysis(*, classroom: Classroom, on_device: bool, frame_fallback: bool) -> Classroom:
    """Where the class's faces are analysed (Classroom.on_device, frame_fallback), for every stream at once."""
    classroom.on_device, classroom.frame_fallback = on_device, frame_fallback
    classroom.save(update_fields=["on_device", "frame_fallback"])
    _tell_student_sockets(
        classroom.join_code, {"type": "class.analysis", "on_device": on_device, "frame_fallback": frame_fallback}
    )
    return classroom


@transaction.atomic
def classroom_self_signup(*, code: str, username: str, display_name: str, password: str) -> Membership:
    """A new account that joins the class with `code`, if its teacher turned sign-up on.

    Classroom.DoesNotExist for an unknown code, PermissionDenied when the class takes no sign-ups; nothing
    is created then. The caller has checked the username and password (UserCreationForm).
    """
    classroom = Classroom.objects.select_related("teacher").get(join_code=normalize_join_code(code))
    if not classroom.self_signup:
        raise PermissionDenied("This class takes no sign-ups.")
    student = get_user_model().objects.create_user(username=username, password=password, first_name=display_name)
    membership = Membership.objects.create(classroom=classroom, student=student)
    membership.classroom = classroom
    return membership


def classroom_set_time_zone(*, classroom: Classroom, time_zone: str) -> Classroom:
    """The zone the class's pages show times in; ValidationError for a name that is not one."""
    validate_time_zone(time_zone)
    classroom.time_zone = time_zone
    classroom.save(update_fields=["time_zone"])
    return classroom


def classroom_set_self_signup(*, classroom: Classroom, enabled: bool) -> Classroom:
    """On: someone without an account may create one with the join code, and joins the class."""
    classroom.self_signup = enabled
    classroom.save(update_fields=["self_signup"])
    return classroom


def teacher_access(*, user: AnyUser, code: str) -> Classroom:
    """The class `user` may watch, or AccessDenied saying why not. A superuser may watch any class."""
    if not user.is_authenticated:
        raise AccessDenied.not_authenticated("Log in to watch this class.")
    classroom = Classroom.objects.select_related("teacher").filter(join_code=normalize_join_code(code)).first()
    if classroom is None:
        raise AccessDenied.not_found()
    if classroom.teacher_id != user.pk and not user.is_superuser:
        raise AccessDenied.forbidden("Only this class's teacher can watch it.")
    return classroom


def student_display_name(user: AbstractBaseUser) -> str:
    """What a teacher sees for a student: the full name if there is one, else the username."""
    full_name = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full_name or user.get_username()


# The demo data `manage.py seed_demo` creates, for trying SmartSession locally.
DEMO_TEACHER_USERNAME = "teacher"
DEMO_STUDENT_PREFIX = "student"
DEMO_CLASS_NAME = "Demo class"
DEMO_CLASS_CODE = "DEMOCLASS"


# Names for the demo accounts, so pages read "Your teacher, Maria Rossi," rather than a username. Made up, and
# drawn from many places, as a real class would be; students past the list are "Student N".
DEMO_TEACHER_NAME = ("Maria", "Rossi")
DEMO_STUDENT_NAMES = (
    "Amara Okafor", "Ben Carter", "Chen Wei", "Diego Hernández", "Elif Yılmaz", "Farah Haddad", "Gabriel Silva",
    "Hana Sato", "Ibrahim Diallo", "Julia Nowak", "Kofi Mensah", "Leila Karimi", "Mateo García", "Nia Johnson",
    "Oskar Lindqvist", "Priya Nair", "Quentin Dubois", "Rosa Martínez", "Sami Virtanen", "Tariq Aziz",
    "Umaima Hussain", "Viktor Petrov", "Wen Li", "Ximena Torres", "Yusuf Demir", "Zara Ahmed", "Aiko Tanaka",
    "Bilal Chaudhry", "Chloé Martin", "Dmitri Volkov",
)


@dataclass(frozen=True)
class DemoAccounts:
    teacher: AbstractBaseUser
    students: list[AbstractBaseUser]
    classroom: Classroom


def _demo_user(*, username: str, password: str, name: tuple[str, str]) -> AbstractBaseUser:
    first_name, last_name = name
    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"first_name": first_name, "last_name": last_name}
    )
    # Checked first so that a second run with the same password writes nothing at all.
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    if not user.get_full_name().strip():
        # An account from before the demo had names; a name someone gave it since is theirs to keep.
        user.first_name, user.last_name = first_name, last_name
        user.save(update_fields=["first_name", "last_name"])
    return user


def demo_student_name(number: int) -> tuple[str, str]:
    """The display name of demo student `number` (from 1), as (first name, last name)."""
    if number <= len(DEMO_STUDENT_NAMES):
        first, _, last = DEMO_STUDENT_NAMES[number - 1].partition(" ")
        return first, last
    return "Student", str(number)


@transaction.atomic
def seed_demo(*, students: int, password: str) -> DemoAccounts:
    """Idempotent: a second run changes nothing but the passwords, and those only if `password` differs.

    Fewer `students` than a previous run leaves the extra students in place; nothing is deleted.
    """
    if students < 0:
        raise ValueError(f"students must be 0 or more, not {students}")
    teachers, _ = Group.objects.get_or_create(name=TEACHERS_GROUP)
    teacher = _demo_user(username=DEMO_TEACHER_USERNAME, password=password, name=DEMO_TEACHER_NAME)
    teacher.groups.add(teachers)
    # The demo reads expressions, so a smiling student shows as happy (new classes are expression-free).
    classroom, _ = Classroom.objects.get_or_create(
        join_code=DEMO_CLASS_CODE, defaults={"name": DEMO_CLASS_NAME, "teacher": teacher, "expressions": True}
    )
    student_users = []
    for number in range(1, students + 1):
        student = _demo_user(
            username=f"{DEMO_STUDENT_PREFIX}{number}", password=password, name=demo_student_name(number)
        )
        Membership.objects.get_or_create(classroom=classroom, student=student)
        student_users.append(student)
    return DemoAccounts(teacher=teacher, students=student_users, classroom=classroom)
