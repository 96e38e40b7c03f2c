"""Lessons open and close: by the teacher on the dashboard, and by themselves (a stream opens one, idleness closes it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import Lesson, Session
from sessions_app.services import (
    close_stale_sessions,
    lesson_current,
    lesson_end,
    lesson_start,
    lessons_close_idle,
    session_end,
    session_record_stream,
    session_start,
)

pytestmark = pytest.mark.django_db


def minutes_ago(minutes: float):
    return timezone.now() - timedelta(minutes=minutes)


@pytest.fixture
def second_student(make_user, classroom):
    from classroom.services import classroom_join

    user = make_user("second")
    classroom_join(student=user, code=classroom.join_code)
    return user


# Opening


def test_it_opens_a_lesson_when_a_stream_starts_with_none_open(student, classroom):
    session, _ = session_start(student=student, classroom=classroom, started_at=minutes_ago(1))
    lesson = session.lesson
    assert lesson is not None and lesson.classroom == classroom
    assert lesson.is_open and lesson.opened_by is None
    assert lesson.started_at == session.started_at


def test_it_puts_a_second_stream_into_the_lesson_in_progress(student, second_student, classroom):
    first, _ = session_start(student=student, classroom=classroom)
    second, _ = session_start(student=second_student, classroom=classroom)
    assert first.lesson_id == second.lesson_id
    assert Lesson.objects.count() == 1


def test_it_lets_the_teacher_start_a_lesson_and_streams_join_it(teacher, student, classroom):
    lesson, created = lesson_start(classroom=classroom, teacher=teacher)
    assert created and lesson.opened_by == teacher and lesson.is_open
    session, _ = session_start(student=student, classroom=classroom)
    assert session.lesson == lesson
    again, created_again = lesson_start(classroom=classroom, teacher=teacher)
    assert (again, created_again) == (lesson, False)


def test_it_allows_one_lesson_in_progress_per_class(classroom):
    from django.db import IntegrityError, transaction

    Lesson.objects.create(classroom=classroom)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lesson.objects.create(classroom=classroom)


def test_it_never_puts_a_session_without_a_class_in_a_lesson(student):
    session, _ = session_start(student=student)
    assert session.lesson is None


# Closing by the teacher


def test_it_ends_a_lesson_and_its_sessions_at_the_same_moment(teacher, student, second_student, classroom, make_sample):
    lesson, _ = lesson_start(classroom=classroom, teacher=teacher)
    streaming, _ = session_start(student=student, classroom=classroom)
    left, _ = session_start(student=second_student, classroom=classroom)
    session_end(session_id=left.pk)
    ended = lesson_end(lesson_id=lesson.pk)
    streaming.refresh_from_db()
    assert ended.end_reason == Lesson.EndReason.TEACHER
    assert streaming.status == Session.Status.ENDED and streaming.ended_at == ended.ended_at
    assert lesson_current(classroom=classroom) is None
    assert lesson_end(lesson_id=lesson.pk).ended_at == ended.ended_at  # ending again changes nothing


def test_it_moves_a_stream_that_goes_on_after_the_lesson_ended_into_a_new_session_and_lesson(
    student, classroom, make_sample
):
    session, _ = session_start(student=student, classroom=classroom, started_at=minutes_ago(2))
    ended = lesson_end(lesson_id=session.lesson_id, ended_at=minutes_ago(1))
    late = [make_sample(minutes_ago(1.5), frames=10, blinks=2), make_sample(minutes_ago(0.5), frames=20, blinks=3)]
    holder = session_record_stream(session_id=session.pk, samples=late)
    new_session = Session.objects.get(pk=holder)
    assert new_session.pk != session.pk and new_session.status == Session.Status.ACTIVE
    # Only the sample from after the lesson's end moves, its stream-long counts counted from the new session's
    # start; the ended session still ends with its lesson, holding what came before.
    assert list(new_session.samples.values_list("frames", "blinks")) == [(10, 1)]
    session_record_stream(session_id=holder, samples=[make_sample(minutes_ago(0.4), frames=25, blinks=4)])
    assert session_end(session_id=holder).frames_analysed == 15
    session.refresh_from_db()
    assert (session.frames_analysed, session.blink_count) == (10, 2)
    assert session.ended_at == ended.ended_at
    assert new_session.lesson != ended and new_session.lesson.is_open and new_session.lesson.opened_by is None


def test_it_records_into_the_same_session_while_it_is_active(student, classroom, make_sample):
    session, _ = session_start(student=student, classroom=classroom)
    assert session_record_stream(session_id=session.pk, samples=[make_sample(timezone.now())]) == session.pk
    assert session.samples.count() == 1


# Closing by themselves


def test_it_closes_a_lesson_with_no_stream_for_ten_minutes_at_its_last_streams_end(student, classroom):
    session, _ = session_start(student=student, classroom=classroom, started_at=minutes_ago(30))
    session = session_end(session_id=session.pk, ended_at=minutes_ago(11))
    assert lessons_close_idle() == 1
    lesson = Lesson.objects.get()
    assert (lesson.end_reason, lesson.ended_at) == (Lesson.EndReason.IDLE, session.ended_at)


def test_it_keeps_a_lesson_open_while_a_stream_is_active_or_ended_recently(student, second_student, classroom):
    active, _ = session_start(student=student, classroom=classroom, started_at=minutes_ago(30))
    assert lessons_close_idle() == 0  # someone is streaming, however long ago the lesson began
    session_end(session_id=active.pk, ended_at=minutes_ago(9))
    assert lessons_close_idle() == 0  # nine minutes is not yet ten
    assert lesson_current(classroom=classroom) is not None


def test_it_closes_an_idle_lesson_when_a_stream_starts_and_opens_a_new_one(student, second_student, classroom):
    old, _ = session_start(student=student, classroom=classroom, started_at=minutes_ago(60))
    session_end(session_id=old.pk, ended_at=minutes_ago(50))
    new, _ = session_start(student=second_student, classroom=classroom)
    old.refresh_from_db()
    assert new.lesson != old.lesson
    assert old.lesson.end_reason == Lesson.EndReason.IDLE and new.lesson.is_open


def test_it_closes_a_lesson_the_teacher_started_and_nobody_joined(teacher, classroom, settings):
    settings.SMARTSESSION_LESSON_IDLE_MINUTES = 10
    lesson, _ = lesson_start(classroom=classroom, teacher=teacher)
    Lesson.objects.filter(pk=lesson.pk).update(started_at=minutes_ago(12))
    assert lesson_current(classroom=classroom) is None  # what the dashboard asks: idle lessons close first
    lesson.refresh_from_db()
    assert (lesson.end_reason, lesson.ended_at) == (Lesson.EndReason.IDLE, lesson.started_at)


def test_it_closes_idle_lessons_from_close_stale_sessions(student, classroom, make_sample):
    # A crashed server left the session active with its last sample 20 minutes ago: the stale session ends
    # there, and its lesson, idle since, closes in the same run.
    session, _ = session_start(student=student, classroom=classroom, started_at=minutes_ago(25))
    from sessions_app.services import session_record_samples

    session_record_samples(session_id=session.pk, samples=[make_sample(minutes_ago(20))])
    assert close_stale_sessions() == 1
    lesson = Lesson.objects.get()
    assert lesson.end_reason == Lesson.EndReason.IDLE
    assert abs((lesson.ended_at - minutes_ago(20)).total_seconds()) < 2


def test_it_reads_the_idle_time_from_the_settings(student, classroom, settings):
    settings.SMARTSESSION_LESSON_IDLE_MINUTES = 30
    session, _ = session_start(student=student, classroom=classroom, started_at=minutes_ago(40))
    session_end(session_id=session.pk, ended_at=minutes_ago(20))
    assert lessons_close_idle() == 0
    settings.SMARTSESSION_LESSON_IDLE_MINUTES = 15
    assert lessons_close_idle() == 1


# On the dashboard


def test_it_starts_and_ends_a_lesson_from_the_dashboard(client, teacher, student, classroom):
    client.force_login(teacher)
    response = client.post(f"/teach/{classroom.join_code}/lesson/start/")
    assert response.url == f"/teach/{classroom.join_code}/"
    lesson = Lesson.objects.get()
    page = client.get(f"/teach/{classroom.join_code}/").content.decode()
    assert 'id="lesson-end-form"' in page and f'name="lesson" value="{lesson.pk}"' in page
    assert "Lesson in progress since" in page

    response = client.post(f"/teach/{classroom.join_code}/lesson/end/", {"lesson": lesson.pk})
    assert response.url == f"/lessons/{lesson.pk}/"
    lesson.refresh_from_db()
    assert lesson.end_reason == Lesson.EndReason.TEACHER
    assert "No lesson in progress" in client.get(f"/teach/{classroom.join_code}/").content.decode()


def test_it_refuses_lesson_controls_to_anyone_but_the_teacher(client, student, other_teacher, classroom):
    lesson = Lesson.objects.create(classroom=classroom)
    client.force_login(student)
    assert client.post(f"/teach/{classroom.join_code}/lesson/start/").status_code == 403
    client.force_login(other_teacher)
    assert client.post(f"/teach/{classroom.join_code}/lesson/end/", {"lesson": lesson.pk}).status_code == 403
    lesson.refresh_from_db()
    assert lesson.is_open


def test_it_never_ends_a_lesson_of_another_class_from_this_dashboard(client, teacher, classroom):
    from classroom.services import classroom_create

    other = Lesson.objects.create(classroom=classroom_create(teacher=teacher, name="Other"))
    client.force_login(teacher)
    assert client.post(f"/teach/{classroom.join_code}/lesson/end/", {"lesson": other.pk}).status_code == 404
    assert client.get(f"/teach/{classroom.join_code}/lesson/end/").status_code == 405
