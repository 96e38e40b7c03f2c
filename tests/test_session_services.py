"""sessions_app.services: starting, recording, ending with totals, closing stale sessions, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from session_clock import NINE, at

from sessions_app.models import MetricSample, Session
from sessions_app.services import (
    close_stale_sessions,
    purge_sessions,
    session_end,
    session_record_samples,
    session_start,
)
from sessions_app.visibility import sessions_visible_to, started_between

pytestmark = pytest.mark.django_db

@pytest.fixture
def second_classroom(teacher, student):
    from classroom.services import classroom_create, classroom_join

    created = classroom_create(teacher=teacher, name="Chemistry 1")
    classroom_join(student=student, code=created.join_code)
    return created


# Starting
def test_it_starts_a_new_session_in_the_class(student, classroom):
    session, created = session_start(student=student, classroom=classroom)
    assert created is True
    assert (session.student, session.classroom, session.status) == (student, classroom, Session.Status.ACTIVE)
    assert session.ended_at is None


def test_it_returns_the_active_session_when_started_again_for_the_same_class(student, classroom):
    first, _ = session_start(student=student, classroom=classroom)
    again, created = session_start(student=student, classroom=classroom)
    assert (again.pk, created) == (first.pk, False)
    assert Session.objects.count() == 1


def test_it_ends_the_session_of_another_class_before_starting_one(student, classroom, second_classroom):
    first, _ = session_start(student=student, classroom=classroom)
    second, created = session_start(student=student, classroom=second_classroom)
    first.refresh_from_db()
    assert created is True
    assert second.classroom == second_classroom
    assert first.status == Session.Status.ENDED
    assert first.ended_at is not None


def test_it_treats_no_class_as_a_class_of_its_own(student, classroom):
    in_class, _ = session_start(student=student, classroom=classroom)
    alone, created = session_start(student=student)
    assert created is True
    assert alone.classroom is None
    assert Session.objects.get(pk=in_class.pk).status == Session.Status.ENDED


def test_it_starts_a_session_when_the_stream_began(student, classroom, second_classroom):
    first, _ = session_start(student=student, classroom=classroom, started_at=at(0))
    second, created = session_start(student=student, classroom=second_classroom, started_at=at(60))
    first.refresh_from_db()
    assert (first.started_at, first.ended_at) == (at(0), at(60))
    assert (second.started_at, created) == (at(60), True)


def test_it_refuses_to_start_in_a_class_the_student_is_not_a_member_of(other_student, classroom):
    with pytest.raises(PermissionDenied):
        session_start(student=other_student, classroom=classroom)
    assert not Session.objects.exists()


def test_it_allows_one_active_session_per_student_in_the_database(student):
    Session.objects.create(student=student)
    with pytest.raises(IntegrityError), transaction.atomic():
        Session.objects.create(student=student)


def test_it_allows_many_ended_sessions_per_student(student, make_session):
    make_session(student, started_at=at(0), ended_at=at(60))
    make_session(student, started_at=at(100), ended_at=at(160))
    session, created = session_start(student=student)
    assert created is True
    assert Session.objects.filter(student=student).count() == 3


# Recording
def test_it_records_samples_of_an_active_session(student, make_session, make_sample):
    session = make_session(student, started_at=at(0))
    recorded = session_record_samples(
        session_id=session.pk,
        samples=[make_sample(at(5), ear=None, state="absent", engagement=0), make_sample(at(10), frames=50)],
    )
    assert recorded == 2
    assert list(session.samples.values_list("state", "ear", "engagement", "frames")) == [
        ("absent", None, 0, 0),
        ("focused", 0.3, 80, 50),
    ]


def test_it_keeps_late_samples_of_an_ended_session_and_computes_its_totals_again(student, make_session, make_sample):
    session = make_session(student, started_at=at(0), samples=[make_sample(at(5), frames=50, blinks=1)],
                           ended_at=at(5))
    late = [make_sample(at(10), frames=100, blinks=2), make_sample(at(15), frames=150, blinks=3)]
    assert session_record_samples(session_id=session.pk, samples=late) == 2
    session.refresh_from_db()
    assert session.status == Session.Status.ENDED
    assert (session.ended_at, session.frames_analysed, session.blink_count) == (at(15), 150, 3)
    assert sum(session.time_in_state.values()) == pytest.approx(15.0)


def test_it_starts_a_fresh_session_for_a_new_stream_and_ends_the_one_another_stream_left(
    student, classroom, make_sample
):
    left, _ = session_start(student=student, classroom=classroom, started_at=at(0))
    session_record_samples(session_id=left.pk, samples=[make_sample(at(5), frames=40)])
    fresh, created = session_start(student=student, classroom=classroom, started_at=at(70), fresh=True)
    left.refresh_from_db()
    assert created is True and fresh.pk != left.pk
    assert (left.status, left.ended_at, left.frames_analysed) == (Session.Status.ENDED, at(5), 40)


def test_it_refuses_samples_for_an_unknown_session(make_sample):
    assert session_record_samples(session_id=987654, samples=[make_sample(at(1))]) == 0


def test_it_records_nothing_for_no_samples(student, make_session):
    session = make_session(student)
    assert session_record_samples(session_id=session.pk, samples=[]) == 0


# Ending and totals
def test_it_computes_the_totals_from_the_samples(student, make_session, make_sample):
    session = make_session(
        student,
        started_at=at(0),
        samples=[
            make_sample(at(5), ear=0.30, blinks=1, engagement=90, perclos=0.0, frames=50),
            make_sample(at(10), ear=None, blinks=1, engagement=0, perclos=0.1, frames=100, state="absent"),
            make_sample(at(15), ear=0.20, blinks=3, engagement=60, perclos=0.2, frames=150),
            make_sample(at(20), ear=0.25, blinks=4, engagement=70, perclos=0.3, frames=200),
        ],
    )
    ended = session_end(session_id=session.pk, ended_at=at(120))
    assert ended.status == Session.Status.ENDED
    assert ended.ended_at == at(120)
    assert ended.frames_analysed == 200
    assert ended.blink_count == 4
    assert ended.blink_rate_per_min == pytest.approx(2.0)  # 4 blinks in 2 minutes
    assert ended.mean_ear == pytest.approx(0.25)  # the absent sample has no EAR
    assert ended.min_ear == pytest.approx(0.20)
    assert ended.mean_engagement == pytest.approx(55.0)
    assert ended.perclos == pytest.approx(0.15)


def test_it_counts_each_sample_until_the_next_and_the_last_for_at_most_ten_seconds(
    student, make_session, make_sample
):
    session = make_session(
        student,
        started_at=at(0),
        samples=[
            make_sample(at(0), state="focused"),
            make_sample(at(5), state="distracted"),
            make_sample(at(10), state="focused"),
            make_sample(at(13), state="drowsy"),
        ],
    )
    ended = session_end(session_id=session.pk, ended_at=at(300))
    assert ended.time_in_state == {"focused": 8.0, "distracted": 5.0, "drowsy": 10.0}
    assert ended.dominant_state == "drowsy"


def test_it_counts_the_lead_in_before_the_first_sample_for_its_state(student, make_session, make_sample):
    session = make_session(
        student, started_at=at(0), samples=[make_sample(at(5), state="distracted"), make_sample(at(10))]
    )
    ended = session_end(session_id=session.pk, ended_at=at(10))
    assert ended.time_in_state == {"distracted": 10.0, "focused": 0.0}
    assert sum(ended.time_in_state.values()) == ended.duration.total_seconds()


def test_it_moves_a_late_start_back_to_the_first_sample(student, make_session, make_sample):
    session = make_session(student, started_at=at(30), samples=[make_sample(at(0), blinks=1), make_sample(at(5), blinks=2)])
    ended = session_end(session_id=session.pk, ended_at=at(60))
    assert (ended.started_at, ended.duration) == (at(0), timedelta(seconds=60))
    assert ended.blink_rate_per_min == pytest.approx(2.0)


def test_it_does_not_count_a_gap_in_the_recording_as_time_in_a_state(student, make_session, make_sample):
    session = make_session(
        student, started_at=at(0), samples=[make_sample(at(0), state="focused"), make_sample(at(600), state="absent")]
    )
    ended = session_end(session_id=session.pk, ended_at=at(602))
    assert ended.time_in_state == {"focused": 10.0, "absent": 2.0}


def test_it_lets_the_samples_win_over_client_totals(student, make_session, make_sample):
    session = make_session(student, started_at=at(0), samples=[make_sample(at(5), blinks=2, frames=40)])
    ended = session_end(
        session_id=session.pk, ended_at=at(60), client_totals={"blink_count": 99, "frames_analysed": 9999}
    )
    assert (ended.blink_count, ended.frames_analysed) == (2, 40)


def test_it_takes_client_totals_for_a_session_without_samples(student, make_session):
    session = make_session(student, started_at=at(0))
    ended = session_end(
        session_id=session.pk,
        ended_at=at(180),
        client_totals={
            "blink_count": 45,
            "frames_analysed": 1800,
            "mean_ear": 0.28,
            "mean_engagement": 72.5,
            "time_in_state": {"focused": 170.0, "absent": 10.0},
            "status": "active",  # not a total: ignored
        },
    )
    assert ended.status == Session.Status.ENDED
    assert (ended.blink_count, ended.frames_analysed, ended.mean_ear, ended.mean_engagement) == (45, 1800, 0.28, 72.5)
    assert ended.blink_rate_per_min == pytest.approx(15.0)  # computed: 45 blinks in 3 minutes
    assert ended.time_in_state == {"focused": 170.0, "absent": 10.0}
    assert ended.min_ear is None


def test_it_ends_a_session_without_samples_or_totals_with_nothing_known(student, make_session):
    ended = session_end(session_id=make_session(student, started_at=at(0)).pk, ended_at=at(60))
    assert (ended.frames_analysed, ended.blink_count, ended.blink_rate_per_min, ended.mean_ear) == (0, 0, None, None)
    assert ended.time_in_state == {}
    assert ended.dominant_state is None
    assert ended.duration == timedelta(seconds=60)


def test_it_ends_a_session_only_once(student, make_session, make_sample):
    session = make_session(student, started_at=at(0), samples=[make_sample(at(5), blinks=1)])
    first = session_end(session_id=session.pk, ended_at=at(60))
    again = session_end(session_id=session.pk, ended_at=at(600), client_totals={"blink_count": 7})
    assert (again.ended_at, again.blink_count, again.blink_rate_per_min) == (first.ended_at, 1, 1.0)


def test_it_never_ends_a_session_before_it_started(student, make_session):
    ended = session_end(session_id=make_session(student, started_at=at(60)).pk, ended_at=at(0))
    assert ended.ended_at == at(60)
    assert ended.duration == timedelta(0)


def test_it_raises_does_not_exist_for_an_unknown_session():
    with pytest.raises(Session.DoesNotExist):
        session_end(session_id=987654)


# Stale sessions
def test_it_closes_sessions_whose_last_sample_is_old_at_that_sample(student, other_student, make_session, make_sample):
    now = timezone.now()
    stale = make_session(
        student, started_at=now - timedelta(hours=2), samples=[make_sample(now - timedelta(minutes=90), blinks=3)]
    )
    live = make_session(
        other_student, started_at=now - timedelta(hours=2), samples=[make_sample(now - timedelta(seconds=30))]
    )
    assert close_stale_sessions(idle_for=timedelta(minutes=2)) == 1
    stale.refresh_from_db()
    live.refresh_from_db()
    assert (stale.status, stale.ended_at, stale.blink_count) == (
        Session.Status.ENDED,
        now - timedelta(minutes=90),
        3,
    )
    assert live.status == Session.Status.ACTIVE


def test_it_closes_an_old_session_without_samples_at_its_start(student, other_student, make_session):
    now = timezone.now()
    abandoned = make_session(student, started_at=now - timedelta(minutes=10))
    just_started = make_session(other_student, started_at=now - timedelta(seconds=10))
    assert close_stale_sessions() == 1
    abandoned.refresh_from_db()
    assert (abandoned.status, abandoned.ended_at) == (Session.Status.ENDED, abandoned.started_at)
    assert Session.objects.get(pk=just_started.pk).status == Session.Status.ACTIVE


def test_it_closes_stale_sessions_from_the_command(student, make_session):
    make_session(student, started_at=timezone.now() - timedelta(minutes=30))
    call_command("close_stale_sessions", "--idle-minutes", "20")
    assert Session.objects.get().status == Session.Status.ENDED


# Retention
def test_it_purges_sessions_that_ended_before_the_retention_with_their_samples(
    student, other_student, make_session, make_sample
):
    now = timezone.now()
    old = make_session(
        student, started_at=now - timedelta(days=40), samples=[make_sample(now - timedelta(days=40))],
        ended_at=now - timedelta(days=40),
    )
    recent = make_session(student, started_at=now - timedelta(days=3), ended_at=now - timedelta(days=3))
    still_active = make_session(other_student, started_at=now - timedelta(days=90))
    assert purge_sessions(older_than_days=30) == 1
    assert set(Session.objects.values_list("pk", flat=True)) == {recent.pk, still_active.pk}
    assert not MetricSample.objects.filter(session_id=old.pk).exists()


def test_it_refuses_a_negative_retention():
    with pytest.raises(ValueError):
        purge_sessions(older_than_days=-1)


def test_it_purges_with_the_retention_setting_by_default(student, make_session, settings):
    settings.SMARTSESSION_RETENTION_DAYS = 10
    now = timezone.now()
    make_session(student, started_at=now - timedelta(days=11), ended_at=now - timedelta(days=11))
    kept = make_session(student, started_at=now - timedelta(days=9), ended_at=now - timedelta(days=9))
    call_command("purge_sessions")
    assert list(Session.objects.values_list("pk", flat=True)) == [kept.pk]


def test_it_purges_with_the_days_given(student, make_session):
    now = timezone.now()
    make_session(student, started_at=now - timedelta(days=3), ended_at=now - timedelta(days=2))
    call_command("purge_sessions", "--older-than", "1")
    assert not Session.objects.exists()


# Who sees what
def test_it_shows_a_student_only_their_own_sessions(student, other_student, make_session):
    own = make_session(student, ended_at=timezone.now())
    make_session(other_student)
    assert list(sessions_visible_to(student)) == [own]


def test_it_shows_a_teacher_the_sessions_of_their_classes(teacher, student, other_student, classroom, make_session):
    in_class = make_session(student, classroom=classroom)
    make_session(other_student)
    assert list(sessions_visible_to(teacher)) == [in_class]
    assert list(sessions_visible_to(teacher, classroom_code=classroom.join_code.lower())) == [in_class]


def test_it_refuses_a_class_to_another_teacher(other_teacher, classroom):
    with pytest.raises(PermissionDenied):
        sessions_visible_to(other_teacher, classroom_code=classroom.join_code)


def test_it_shows_staff_every_session(staff_user, student, other_student, make_session):
    make_session(student)
    make_session(other_student)
    assert sessions_visible_to(staff_user).count() == 2


def test_it_narrows_to_sessions_started_between_two_days(student, make_session):
    make_session(student, started_at=at(-86400), ended_at=at(-86000))
    on_the_day = make_session(student, started_at=at(3600), ended_at=at(4000))
    make_session(student, started_at=at(86400))
    day = NINE.date()
    assert list(started_between(Session.objects.all(), start=day, end=day)) == [on_the_day]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_starts_one_session_when_many_start_at_once(student, classroom):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    starters = 6
    barrier = Barrier(starters)

    def start() -> tuple[int, bool]:
        try:
            barrier.wait(timeout=10)
            session, created = session_start(student=student, classroom=classroom)
            return session.pk, created
        finally:
            connection.close()

    with ThreadPoolExecutor(starters) as pool:
        results = list(pool.map(lambda _: start(), range(starters)))
    assert len({session_id for session_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * (starters - 1) + [True]
    assert Session.objects.filter(student=student).count() == 1
