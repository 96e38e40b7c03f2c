"""The sessions admin: a list to filter and search, and a read-only record with its chart."""

from __future__ import annotations

import pytest
from session_clock import at

from sessions_app.admin import engagement_chart_svg

pytestmark = pytest.mark.django_db

@pytest.fixture
def superuser_client(client, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def recorded_session(student, classroom, make_session, make_sample):
    return make_session(
        student,
        classroom=classroom,
        started_at=at(0),
        samples=[
            make_sample(at(0), ear=0.31, engagement=90, frames=10),
            make_sample(at(5), ear=None, engagement=0, state="absent", frames=20),
            make_sample(at(10), ear=0.12, blinks=2, engagement=40, state="drowsy", perclos=0.4, frames=30),
            make_sample(at(15), ear=0.29, blinks=3, engagement=85, frames=40),
        ],
        ended_at=at(3725),
    )


def test_it_lists_sessions_with_their_totals(superuser_client, recorded_session):
    response = superuser_client.get("/admin/sessions_app/session/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "student" in page
    assert "Physics 1" in page
    assert "1:02:05" in page  # duration
    assert "focused" in page  # dominant state: 10 s focused against 5 s each absent and drowsy


def test_it_searches_sessions_by_student_username(superuser_client, recorded_session, other_student, make_session):
    make_session(other_student)
    response = superuser_client.get("/admin/sessions_app/session/", {"q": "other_stu"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_it_filters_sessions_by_class_and_status(superuser_client, recorded_session, classroom):
    response = superuser_client.get(
        "/admin/sessions_app/session/", {"classroom__id__exact": classroom.pk, "status__exact": "ended"}
    )
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [recorded_session]


def test_it_shows_a_session_read_only_with_its_chart_and_samples(superuser_client, recorded_session):
    response = superuser_client.get(f"/admin/sessions_app/session/{recorded_session.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<polyline") == 2  # engagement, and EAR from where a face was seen again
    assert "engagement 0-100" in page
    assert "drowsy" in page  # a sample row of the inline
    assert 'name="_save"' not in page
    assert 'name="blink_count"' not in page  # totals are shown, not editable


def test_it_offers_no_way_to_add_a_session(superuser_client):
    assert superuser_client.get("/admin/sessions_app/session/add/").status_code == 403


def test_it_charts_engagement_and_ear_over_time_in_svg(recorded_session):
    svg = str(engagement_chart_svg(list(recorded_session.samples.all())))
    assert svg.startswith("<svg")
    # The first sample (90 engagement, EAR 0.31 of 0.4) at the left, the last at the right.
    assert 'points="0.0,16.0 213.3,160.0 426.7,96.0 640.0,24.0"' in svg
    assert 'points="0.0,36.0"' not in svg  # a lone EAR point before the gap draws no line
    assert 'points="426.7,112.0 640.0,44.0"' in svg


def test_it_says_when_there_are_too_few_samples_for_a_chart(student, make_session):
    assert "Too few samples" in str(engagement_chart_svg([]))
