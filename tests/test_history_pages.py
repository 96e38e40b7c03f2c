"""The history pages: /history/, /teach/<code>/history/ and /history/<id>/, who sees what, and what they show."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from session_clock import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def ended_session(student, classroom, make_session, make_sample):
    """`student`'s 15-second session in `classroom`: 10 s focused, then 5 s drowsy."""
    return make_session(
        student,
        classroom=classroom,
        started_at=at(0),
        samples=[
            make_sample(at(0), ear=0.31, engagement=90, blink_rate_per_min=12.0),
            make_sample(at(5), ear=None, engagement=70, blink_rate_per_min=14.0),
            make_sample(at(10), ear=0.12, engagement=20, blink_rate_per_min=18.0, state="drowsy"),
        ],
        ended_at=at(15),
    )


@pytest.fixture
def other_student_session(other_student, make_session):
    return make_session(other_student, started_at=at(100), ended_at=at(160))


def get_as(client, user, url):
    client.force_login(user)
    return client.get(url)


def listed_sessions(response) -> list:
    return [row.session for row in response.context["rows"]]


def embedded_samples(response) -> list[dict]:
    script = re.search(r'<script id="session-samples" type="application/json">(.*?)</script>', response.text, re.S)
    return json.loads(script.group(1))


@pytest.mark.parametrize(
    "url",
    ["/history/", "/history/1/", "/teach/ANYCODE/history/"],
)
def test_it_redirects_anonymous_visitors_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_shows_a_student_only_their_own_sessions(client, student, ended_session, other_student_session):
    response = get_as(client, student, reverse("my-history"))

    assert response.status_code == 200
    assert listed_sessions(response) == [ended_session]


def test_it_hides_the_student_column_in_a_students_own_history(client, student, ended_session):
    response = get_as(client, student, reverse("my-history"))

    assert response.context["show_student"] is False
    assert '<th scope="col">Student</th>' not in response.text


def test_it_links_each_session_to_its_charts_and_csv(client, student, ended_session):
    response = get_as(client, student, reverse("my-history"))

    assert reverse("session-page", args=[ended_session.pk]) in response.text
    assert reverse("session-samples-csv", args=[ended_session.pk]) in response.text


def test_it_says_so_when_there_are_no_sessions(client, student):
    response = get_as(client, student, reverse("my-history"))

    assert response.status_code == 200
    assert "No sessions yet" in response.text
    assert "<table" not in response.text


def test_it_answers_404_to_another_student_on_a_session_page(client, other_student, ended_session):
    response = get_as(client, other_student, reverse("session-page", args=[ended_session.pk]))

    assert response.status_code == 404


def test_it_shows_the_teacher_the_class_history_with_student_names(client, teacher, classroom, ended_session):
    response = get_as(client, teacher, reverse("class-history", args=[classroom.join_code]))

    assert response.status_code == 200
    assert listed_sessions(response) == [ended_session]
    assert '<th scope="col">Student</th>' in response.text
    assert "student" in [row.student_name for row in response.context["rows"]]


def test_it_lists_only_that_class_in_the_class_history(
    client, teacher, classroom, ended_session, make_session
):
    make_session(teacher, started_at=at(500), ended_at=at(560))  # the teacher's own, without a class

    response = get_as(client, teacher, reverse("class-history", args=[classroom.join_code]))

    assert listed_sessions(response) == [ended_session]


def test_it_shows_the_teacher_a_session_page_of_their_class(client, teacher, ended_session):
    response = get_as(client, teacher, reverse("session-page", args=[ended_session.pk]))

    assert response.status_code == 200
    assert "Session of student" in response.text


def test_it_answers_403_to_another_teacher_on_the_class_history(client, other_teacher, classroom):
    response = get_as(client, other_teacher, reverse("class-history", args=[classroom.join_code]))

    assert response.status_code == 403


def test_it_answers_404_for_an_unknown_class_code(client, teacher):
    response = get_as(client, teacher, reverse("class-history", args=["NOSUCHCODE"]))

    assert response.status_code == 404


def test_it_answers_404_to_another_teacher_on_a_session_page(client, other_teacher, ended_session):
    response = get_as(client, other_teacher, reverse("session-page", args=[ended_session.pk]))

    assert response.status_code == 404


def test_it_shows_staff_every_session(client, staff_user, ended_session, other_student_session):
    response = get_as(client, staff_user, reverse("my-history"))

    assert set(listed_sessions(response)) == {ended_session, other_student_session}
    assert response.context["show_student"] is True


def test_it_embeds_the_samples_for_the_charts(client, student, ended_session):
    response = get_as(client, student, reverse("session-page", args=[ended_session.pk]))

    assert embedded_samples(response) == [
        {"t": at(0).timestamp(), "engagement": 90, "ear": 0.31, "blink_rate_per_min": 12.0, "state": "focused"},
        {"t": at(5).timestamp(), "engagement": 70, "ear": None, "blink_rate_per_min": 14.0, "state": "focused"},
        {"t": at(10).timestamp(), "engagement": 20, "ear": 0.12, "blink_rate_per_min": 18.0, "state": "drowsy"},
    ]


def test_it_states_the_time_in_each_state_as_text(client, student, ended_session):
    response = get_as(client, student, reverse("session-page", args=[ended_session.pk]))

    text = re.sub(r"\s+", " ", response.text)
    assert "Focused</span>" in text and "10 s (67%)" in text
    assert "Drowsy</span>" in text and "5 s (33%)" in text


def test_it_summarises_each_chart_in_text(client, student, ended_session):
    response = get_as(client, student, reverse("session-page", args=[ended_session.pk]))

    assert "Mean 60, lowest 20, highest 90 (out of 100)." in response.text


def test_it_says_an_active_session_is_still_running(client, student, classroom, make_session):
    session = make_session(student, classroom=classroom)

    response = get_as(client, student, reverse("session-page", args=[session.pk]))

    assert response.status_code == 200
    assert "This session is still running" in response.text


def test_it_lists_25_sessions_a_page(client, student, make_session):
    sessions = [make_session(student, started_at=at(60 * n), ended_at=at(60 * n + 30)) for n in range(26)]

    first = get_as(client, student, reverse("my-history"))
    second = client.get(reverse("my-history"), {"page": 2})

    assert listed_sessions(first) == sessions[:0:-1]  # newest first
    assert listed_sessions(second) == [sessions[0]]
    assert 'href="?page=2"' in first.text


def test_it_leaves_the_time_in_each_state_until_an_active_session_ends(client, student, classroom, make_session):
    session = make_session(student, classroom=classroom)

    response = get_as(client, student, reverse("session-page", args=[session.pk]))

    assert response.context["state_shares"] == []
    assert "Filled in when the session ends." in response.text


def test_it_shows_a_students_own_sessions_in_their_class_time_zone(client, student, classroom, make_session):
    from classroom.services import classroom_set_time_zone

    classroom_set_time_zone(classroom=classroom, time_zone="Pacific/Auckland")
    make_session(student, classroom=classroom, started_at=at(0), ended_at=at(60))
    response = get_as(client, student, reverse("my-history"))
    # 09:00 UTC on Monday 2 March is 22:00 in Auckland (NZDT, +13), as the class's own pages say.
    assert "Mon 2 Mar 2026, 22:00</time>" in response.text
    assert "Times are in Pacific/Auckland." in response.text


def test_it_says_each_times_zone_when_the_sessions_are_of_classes_in_different_zones(
    client, student, classroom, make_session
):
    from classroom.services import classroom_set_time_zone

    classroom_set_time_zone(classroom=classroom, time_zone="Pacific/Auckland")
    make_session(student, classroom=classroom, started_at=at(0), ended_at=at(60))
    make_session(student, started_at=at(3600), ended_at=at(3660))  # no class: the site's zone, UTC in tests
    response = get_as(client, student, reverse("my-history"))
    assert "Mon 2 Mar 2026, 22:00 NZDT</time>" in response.text
    assert "Mon 2 Mar 2026, 10:00 UTC</time>" in response.text
    assert "Times are in each class's own time zone." in response.text
