"""The sessions admin: a list to filter and search, and a read-only record with rounded totals and a link to its charts."""

from __future__ import annotations

import pytest
from session_clock import at

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


def test_it_shows_a_session_read_only_with_its_samples_and_a_link_to_its_charts(superuser_client, recorded_session):
    response = superuser_client.get(f"/admin/sessions_app/session/{recorded_session.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<polyline" not in page  # the pages' uPlot charts, on the session page, instead of a second drawing
    assert f'href="/history/{recorded_session.pk}/"' in page
    assert "drowsy" in page  # a sample row of the inline
    assert 'name="_save"' not in page
    assert 'name="blink_count"' not in page  # totals are shown, not editable


def test_it_shows_time_in_state_as_a_table_and_rounds_the_totals(superuser_client, recorded_session):
    page = superuser_client.get(f"/admin/sessions_app/session/{recorded_session.pk}/change/").content.decode()
    # 10 s focused (0-5 s and the last 5 of its 10 s cap), 5 s absent, 5 s drowsy, of 3725 s
    assert '<table class="time-in-state">' in page
    assert "<tr><td>focused</td><td>15</td><td>0%</td></tr>" in page
    assert "<tr><td>drowsy</td><td>5</td><td>0%</td></tr>" in page
    assert recorded_session.perclos == pytest.approx(0.1)
    assert ">0.10<" in page  # PERCLOS to 2 places, not 0.1000000001
    assert ">0.240<" in page  # mean EAR to 3 places: (0.31 + 0.12 + 0.29) / 3


def test_it_offers_no_way_to_add_a_session(superuser_client):
    assert superuser_client.get("/admin/sessions_app/session/add/").status_code == 403
