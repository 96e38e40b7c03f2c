"""A student's own records (GDPR articles 15 and 17): download everything stored about them, or erase it.

Only one's own: nobody can download or erase another person's records, and erasing keeps the account and its
memberships, which are the school's to manage.
"""

from __future__ import annotations

import csv
import io
import json
import logging

import pytest
from django.utils import timezone
from session_clock import at

from classroom.models import Membership
from sessions_app.models import Alert, MetricSample, Session
from sessions_app.services import AlertIn, alerts_record, session_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(student, other_student, classroom, make_sample, make_session):
    """Two sessions and an alert of `student`, and a session and an alert of a classmate."""
    from classroom.services import classroom_join, membership_consent

    membership_consent(membership=classroom_join(student=other_student, code=classroom.join_code))
    mine = make_session(student, classroom=classroom, started_at=at(0),
                        samples=[make_sample(at(5), frames=40, blinks=1), make_sample(at(10), frames=80, blinks=2)],
                        ended_at=at(10))
    make_session(student, classroom=classroom, started_at=at(100), ended_at=at(101))
    theirs = make_session(other_student, classroom=classroom, started_at=at(0),
                          samples=[make_sample(at(5))], ended_at=at(6))
    live, _ = session_start(student=student, classroom=classroom)
    alerts_record(student_id=student.pk, classroom_id=classroom.pk, session_id=live.pk,
                  alerts=[AlertIn(kind="drowsy", reason="drowsy for 12 s", time=timezone.now())])
    alerts_record(student_id=other_student.pk, classroom_id=classroom.pk, session_id=theirs.pk,
                  alerts=[AlertIn(kind="absent", reason="away for 11 s", time=timezone.now())])
    return mine, theirs


def test_it_downloads_everything_about_the_student_and_nothing_else_as_json(api, student, records):
    mine, _ = records
    response = api(student).get("/api/session/history/export.json")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["student"] == student.username
    assert [session["id"] for session in data["sessions"]] == list(
        Session.objects.filter(student=student).order_by("started_at", "id").values_list("id", flat=True)
    )
    first = data["sessions"][0]
    assert first["id"] == mine.pk and [sample["frames"] for sample in first["samples"]] == [40, 80]
    assert [(alert["kind"], alert["reason"]) for alert in data["alerts"]] == [("drowsy", "drowsy for 12 s")]
    assert "absent" not in response.content.decode()


def test_it_downloads_the_sessions_and_samples_as_csv(api, student, records):
    mine, _ = records
    response = api(student).get("/api/session/history/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    mine_rows = [row for row in rows if row["session"] == str(mine.pk)]
    assert [(row["frames"], row["blinks"]) for row in mine_rows] == [("40", "1"), ("80", "2")]
    assert mine_rows[0]["session_started_at"] == "2026-03-02T09:00:00Z"  # ISO 8601, as the JSON API
    # A session without samples is a row of its own; the classmate's are not there.
    assert {row["session"] for row in rows} == {str(pk) for pk in Session.objects.filter(student=student)
                                                .values_list("pk", flat=True)}


def test_it_erases_only_the_students_own_records_and_keeps_the_account(api, student, other_student, records,
                                                                          caplog):
    _, theirs = records
    caplog.set_level(logging.INFO, logger="smartsession.sessions")
    response = api(student).delete("/api/session/history/")
    assert response.status_code == 200
    assert response.data == {"sessions": 3, "samples": 2, "alerts": 1}
    assert not Session.objects.filter(student=student).exists() and not Alert.objects.filter(student=student).exists()
    assert not MetricSample.objects.filter(session__student=student).exists()
    # The classmate's records, the student's account and membership all stay.
    assert Session.objects.filter(pk=theirs.pk).exists() and Alert.objects.filter(student=other_student).exists()
    student.refresh_from_db()
    assert Membership.objects.filter(student=student).exists()
    (line,) = [record for record in caplog.records if getattr(record, "event", "") == "records.erased"]
    # Who asked and how much went, never what it held.
    assert line.getMessage() == (f"records of student {student.pk} erased at their request: 3 sessions, 2 samples, "
                                 "1 alerts")


def test_it_never_erases_a_classs_records_for_its_teacher(api, teacher, student, records):
    response = api(teacher).delete("/api/session/history/")
    assert response.status_code == 200 and response.data == {"sessions": 0, "samples": 0, "alerts": 0}
    assert Session.objects.filter(student=student).count() == 3


def test_it_refuses_anonymous_requests(api, records):
    for call in (lambda client: client.get("/api/session/history/export.json"),
                 lambda client: client.get("/api/session/history/export.csv"),
                 lambda client: client.delete("/api/session/history/")):
        assert call(api(None)).status_code == 401
    assert Session.objects.count() == 4


def test_it_asks_before_erasing_on_the_page_and_then_erases(client, student, records):
    client.force_login(student)
    history = client.get("/history/").content.decode()
    assert 'href="/api/session/history/export.json"' in history and 'href="/history/erase/"' in history
    confirmation = client.get("/history/erase/")
    page = confirmation.content.decode()
    assert "3 sessions and their 2 samples" in page and "1 alert" in page
    assert Session.objects.filter(student=student).count() == 3  # asking erased nothing
    done = client.post("/history/erase/", follow=True)
    assert done.redirect_chain[-1][0] == "/history/"
    assert "Erased 3 sessions, 2 samples and 1 alerts" in done.content.decode()
    assert not Session.objects.filter(student=student).exists()


def test_it_needs_the_csrf_token_to_erase_from_the_page(student, records):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(student)
    assert client.post("/history/erase/").status_code == 403
    assert Session.objects.filter(student=student).count() == 3
