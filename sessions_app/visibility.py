"""Who may read which sessions, lessons and alerts: the one place the API views and the pages ask.

- Anonymous: nothing. Staff and superusers: everything.
- A class's teacher: every session, lesson and alert of the classes they teach.
- A student: their own sessions and alerts, and the lessons they streamed in.
Anything else gets PermissionDenied, or DoesNotExist for a record, whether it exists or not.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Alert, Lesson, Session
from .services import AnyUser, is_member, classroom_by_code


def _sees_everything(user: AnyUser) -> bool:
    return bool(user.is_staff or user.is_superuser)


def _class_for_reader(user: AbstractBaseUser, classroom_code: str) -> tuple[models.Model, bool]:
    """The class with that code, and whether `user` reads all of its record (its teacher, staff) or only
    their own part (a member). PermissionDenied for anyone else; Classroom.DoesNotExist for an unknown code.
    """
    classroom = classroom_by_code(classroom_code)
    if _sees_everything(user) or classroom.teacher_id == user.pk:
        return classroom, True
    if is_member(student=user, classroom=classroom):
        return classroom, False
    raise PermissionDenied("You neither teach this class nor are a member of it.")


def sessions_visible_to(user: AnyUser, *, classroom_code: str | None = None) -> QuerySet[Session]:
    """The sessions `user` may read, newest first.

    - Anonymous: none. Staff and superusers: all.
    - Anyone else: their own sessions, and every session of the classes they teach.
    - With `classroom_code`: only that class's sessions. Its teacher (and staff) get all of them, a
      member gets their own; anyone else gets PermissionDenied, and an unknown code Classroom.DoesNotExist.
    """
    if not user.is_authenticated:
        return Session.objects.none()
    sessions = Session.objects.select_related("student", "classroom")
    if classroom_code is not None:
        classroom, reads_all = _class_for_reader(user, classroom_code)
        sessions = sessions.filter(classroom=classroom)
        return sessions if reads_all else sessions.filter(student=user)
    if _sees_everything(user):
        return sessions
    return sessions.filter(Q(student=user) | Q(classroom__teacher=user))


def started_between(
    records: QuerySet, *, start: date | datetime | None = None, end: date | datetime | None = None
) -> QuerySet:
    """Narrows sessions (or lessons) to those started in [start, end]. A date `end` takes in that whole day.

    Dates and naive datetimes are read in the current time zone (TIME_ZONE, UTC).
    """
    if start is not None:
        records = records.filter(started_at__gte=_as_aware_datetime(start))
    if end is not None:
        if isinstance(end, datetime):
            records = records.filter(started_at__lte=_as_aware_datetime(end))
        else:
            records = records.filter(started_at__lt=_as_aware_datetime(end + timedelta(days=1)))
    return records


def _as_aware_datetime(moment: date | datetime) -> datetime:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def session_for_user(*, user: AnyUser, session_id: int) -> Session:
    """The session if `user` may read it (sessions_visible_to); Session.DoesNotExist otherwise, whether it exists or not."""
    return sessions_visible_to(user).get(pk=session_id)


def session_check_can_end(*, user: AnyUser, session: Session) -> None:
    """Only the session's own student may end it: PermissionDenied for anyone else, staff and teachers too."""
    if session.student_id != user.pk:
        raise PermissionDenied("Only the student whose session this is can end it.")


def lessons_visible_to(user: AnyUser, *, classroom_code: str | None = None) -> QuerySet[Lesson]:
    """The lessons `user` may read, newest first; the same rules as sessions_visible_to.

    Staff and superusers: all. A teacher: every lesson of the classes they teach. A student: the lessons
    they streamed in (and they see only their own sessions and alerts in them). With `classroom_code`:
    that class's lessons, PermissionDenied for someone neither teaching it nor a member of it, and
    Classroom.DoesNotExist for an unknown code.
    """
    if not user.is_authenticated:
        return Lesson.objects.none()
    lessons = Lesson.objects.select_related("classroom", "opened_by")
    if classroom_code is not None:
        classroom, reads_all = _class_for_reader(user, classroom_code)
        lessons = lessons.filter(classroom=classroom)
        return lessons if reads_all else lessons.filter(sessions__student=user).distinct()
    if _sees_everything(user):
        return lessons
    taught = Q(classroom__teacher=user)
    attended = Q(pk__in=Session.objects.filter(student=user, lesson__isnull=False).values("lesson_id"))
    return lessons.filter(taught | attended)


def lesson_for_user(*, user: AnyUser, lesson_id: int) -> Lesson:
    """The lesson if `user` may read it; Lesson.DoesNotExist otherwise, whether it exists or not."""
    return lessons_visible_to(user).get(pk=lesson_id)


def lesson_sessions_for_user(*, user: AnyUser, lesson: Lesson) -> QuerySet[Session]:
    """The sessions of `lesson` that `user` may read: all of them for its teacher and staff, else their own."""
    return sessions_visible_to(user).filter(lesson=lesson)


def sees_whole_lesson(*, user: AnyUser, lesson: Lesson) -> bool:
    """Its teacher and staff see every student of a lesson; a student sees only themselves in it."""
    return _sees_everything(user) or (lesson.classroom is not None and lesson.classroom.teacher_id == user.pk)


def lesson_alerts_for_user(*, user: AnyUser, lesson: Lesson) -> QuerySet[Alert]:
    """The lesson's alerts in time order that `user` may read: all for its teacher and staff, else their own."""
    alerts = lesson.alerts.select_related("student").order_by("time", "id")
    return alerts if sees_whole_lesson(user=user, lesson=lesson) else alerts.filter(student=user)
