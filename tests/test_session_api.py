"""The session API under /api/session/, its permission matrix, and the schema and docs pages."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.staticfiles import finders
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from session_clock import at

from sessions_app.models import Session

pytestmark = pytest.mark.django_db

SESSION_PATHS = [
    "/api/session/start/",
    "/api/session/history/",
    "/api/session/{session_id}/",
    "/api/session/{session_id}/end/",
    "/api/session/{session_id}/samples.csv",
]


@pytest.fixture
def own_session(student, classroom, make_session, make_sample):
    """`student`'s ended session in `classroom`: 2 minutes, 2 samples, 4 blinks."""
    return make_session(
        student,
        classroom=classroom,
        started_at=at(0),
        samples=[
            make_sample(at(5), ear=0.3, blinks=1, engagement=90, frames=50),
            make_sample(at(10), ear=None, blinks=4, engagement=0, state="absent", frames=100),
        ],
        ended_at=at(120),
    )


@pytest.fixture
def active_session(student, classroom, make_session):
    return make_session(student, classroom=classroom, started_at=at(1000))


@pytest.fixture
def other_session(other_student, make_session):
    """Another student's session, in no class."""
    return make_session(other_student, started_at=at(500), ended_at=at(560))


# Anonymous
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/session/start/"),
        ("post", "/api/session/{id}/end/"),
        ("get", "/api/session/history/"),
        ("get", "/api/session/{id}/"),
        ("get", "/api/session/{id}/samples.csv"),
    ],
)
def test_it_answers_401_to_anonymous_requests(api, own_session, method, path):
    response = getattr(api(None), method)(path.format(id=own_session.pk))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert response.data["detail"].code == "not_authenticated"


# Start
def test_it_starts_a_session_without_a_class(api, student):
    response = api(student).post("/api/session/start/", {}, format="json")
    assert response.status_code == 201
    assert response.data["student"] == "student"
    assert (response.data["classroom"], response.data["status"], response.data["ended_at"]) == (None, "active", None)
    assert Session.objects.get(pk=response.data["id"]).student == student


def test_it_starts_a_session_in_a_class_by_its_code_in_any_case(api, student, classroom):
    response = api(student).post("/api/session/start/", {"classroom": classroom.join_code.lower()}, format="json")
    assert response.status_code == 201
    assert (response.data["classroom"], response.data["classroom_name"]) == (classroom.join_code, "Physics 1")


def test_it_returns_the_active_session_with_200(api, student, classroom, active_session):
    response = api(student).post("/api/session/start/", {"classroom": classroom.join_code}, format="json")
    assert (response.status_code, response.data["id"]) == (200, active_session.pk)


def test_it_refuses_to_start_in_a_class_the_student_is_not_in_with_403(api, other_student, classroom):
    response = api(other_student).post("/api/session/start/", {"classroom": classroom.join_code}, format="json")
    assert response.status_code == 403
    assert response.data["detail"] == "You are not a member of this class."
    assert not Session.objects.exists()


def test_it_refuses_to_start_in_a_class_before_the_student_consented(api, other_student, classroom):
    from classroom.services import classroom_join

    classroom_join(student=other_student, code=classroom.join_code)
    response = api(other_student).post("/api/session/start/", {"classroom": classroom.join_code}, format="json")
    assert response.status_code == 403
    assert response.data["detail"] == "Give your consent on the class page first."
    assert not Session.objects.exists()


def test_it_answers_404_to_an_unknown_class_code(api, student):
    response = api(student).post("/api/session/start/", {"classroom": "NOSUCHCLASS"}, format="json")
    assert response.status_code == 404
    assert response.data["detail"] == "There is no class with this code."


def test_it_answers_400_to_a_malformed_start(api, student):
    response = api(student).post("/api/session/start/", {"classroom": "X" * 17}, format="json")
    assert response.status_code == 400
    assert "classroom" in response.data


# End
def test_it_ends_the_students_own_session_with_its_totals(api, student, classroom, make_session, make_sample):
    session = make_session(student, classroom=classroom, started_at=at(0), samples=[make_sample(at(5), blinks=2, frames=60)])
    response = api(student).post(f"/api/session/{session.pk}/end/", {}, format="json")
    assert response.status_code == 200
    assert response.data["status"] == "ended"
    assert (response.data["blink_count"], response.data["frames_analysed"]) == (2, 60)
    assert response.data["time_in_state"] == {"focused": 15.0}  # 5 s lead-in, then at most 10 s after the sample
    assert response.data["dominant_state"] == "focused"


def test_it_ends_a_session_in_no_class_without_samples_with_the_clients_totals(api, student, make_session):
    session = make_session(student, started_at=at(1000))
    totals = {"blink_count": 12, "frames_analysed": 900, "mean_ear": 0.27, "mean_engagement": 81.5, "perclos": 0.05}
    response = api(student).post(f"/api/session/{session.pk}/end/", totals, format="json")
    assert response.status_code == 200
    assert {key: response.data[key] for key in totals} == totals
    assert response.data["blink_rate_per_min"] is not None


def test_it_never_takes_a_clients_totals_into_a_classs_records(api, student, active_session):
    # What the teacher's lesson report shows: only what the server measured, not what a script claims.
    claimed = {"blink_count": 900, "mean_engagement": 100, "time_in_state": {"focused": 3600}}
    response = api(student).post(f"/api/session/{active_session.pk}/end/", claimed, format="json")
    assert response.status_code == 200
    assert (response.data["blink_count"], response.data["mean_engagement"], response.data["time_in_state"]) == (
        0, None, {})  # the field defaults: no blink counted, the rest not known


def test_it_ignores_client_totals_when_samples_were_recorded(api, student, make_session, make_sample):
    session = make_session(student, started_at=at(0), samples=[make_sample(at(5), blinks=2)])
    response = api(student).post(f"/api/session/{session.pk}/end/", {"blink_count": 500}, format="json")
    assert (response.status_code, response.data["blink_count"]) == (200, 2)


def test_it_answers_400_to_impossible_client_totals(api, student, active_session):
    response = api(student).post(
        f"/api/session/{active_session.pk}/end/", {"perclos": 2, "blink_count": -1}, format="json"
    )
    assert response.status_code == 400
    assert set(response.data) == {"perclos", "blink_count"}
    assert Session.objects.get(pk=active_session.pk).status == "active"


def test_it_answers_200_with_the_same_totals_when_ended_twice(api, student, own_session):
    response = api(student).post(f"/api/session/{own_session.pk}/end/", {"blink_count": 99}, format="json")
    assert response.status_code == 200
    assert (response.data["blink_count"], response.data["ended_at"]) == (4, "2026-03-02T09:02:00Z")


def test_it_hides_another_students_session_from_ending_with_404(api, other_student, active_session):
    response = api(other_student).post(f"/api/session/{active_session.pk}/end/", {}, format="json")
    assert response.status_code == 404
    assert Session.objects.get(pk=active_session.pk).status == "active"


@pytest.mark.parametrize("who", ["teacher", "staff_user"])
def test_it_refuses_to_let_anyone_but_the_student_end_a_session_they_can_see_with_403(
    api, request, active_session, who
):
    response = api(request.getfixturevalue(who)).post(f"/api/session/{active_session.pk}/end/", {}, format="json")
    assert response.status_code == 403
    assert response.data["detail"] == "Only the student whose session this is can end it."
    assert Session.objects.get(pk=active_session.pk).status == "active"


def test_it_hides_a_session_from_another_teacher_with_404(api, other_teacher, active_session):
    response = api(other_teacher).post(f"/api/session/{active_session.pk}/end/", {}, format="json")
    assert response.status_code == 404


def test_it_answers_404_to_ending_an_unknown_session(api, student):
    assert api(student).post("/api/session/987654/end/", {}, format="json").status_code == 404


# History
def history_ids(response) -> list[int]:
    return [session["id"] for session in response.data["results"]]


def test_it_lists_a_students_own_sessions_newest_first(api, student, own_session, active_session, other_session):
    response = api(student).get("/api/session/history/")
    assert response.status_code == 200
    assert response.data["count"] == 2
    assert history_ids(response) == [active_session.pk, own_session.pk]


def test_it_lists_another_student_only_their_own(api, other_student, own_session, other_session):
    assert history_ids(api(other_student).get("/api/session/history/")) == [other_session.pk]


def test_it_lists_a_teacher_the_sessions_of_their_class(api, teacher, classroom, own_session, other_session):
    response = api(teacher).get("/api/session/history/", {"classroom": classroom.join_code})
    assert response.status_code == 200
    assert history_ids(response) == [own_session.pk]
    assert response.data["results"][0]["student"] == "student"


def test_it_lists_a_teacher_their_classes_sessions_without_a_filter(api, teacher, own_session, other_session):
    assert history_ids(api(teacher).get("/api/session/history/")) == [own_session.pk]


def test_it_lists_a_member_only_their_own_sessions_of_a_class(
    api, student, other_student, classroom, own_session, make_session
):
    from classroom.services import classroom_join

    classroom_join(student=other_student, code=classroom.join_code)
    classmates = make_session(other_student, classroom=classroom, started_at=at(50), ended_at=at(60))
    assert history_ids(api(student).get("/api/session/history/", {"classroom": classroom.join_code})) == [own_session.pk]
    assert history_ids(api(other_student).get("/api/session/history/", {"classroom": classroom.join_code})) == [
        classmates.pk
    ]


def test_it_refuses_a_class_to_another_teacher_with_403(api, other_teacher, classroom, own_session):
    response = api(other_teacher).get("/api/session/history/", {"classroom": classroom.join_code})
    assert response.status_code == 403
    assert response.data["detail"] == "You neither teach this class nor are a member of it."


def test_it_answers_404_to_history_of_an_unknown_class(api, teacher):
    response = api(teacher).get("/api/session/history/", {"classroom": "NOSUCHCLASS"})
    assert (response.status_code, response.data["detail"]) == (404, "There is no class with this code.")


def test_it_lists_staff_every_session(api, staff_user, own_session, active_session, other_session):
    assert history_ids(api(staff_user).get("/api/session/history/")) == [
        active_session.pk,
        other_session.pk,
        own_session.pk,
    ]


def test_it_pages_the_history_by_20(api, student, make_session):
    for minute in range(21):
        make_session(student, started_at=at(minute * 60), ended_at=at(minute * 60 + 30))
    first = api(student).get("/api/session/history/")
    second = api(student).get("/api/session/history/", {"page": 2})
    assert (first.data["count"], len(first.data["results"]), len(second.data["results"])) == (21, 20, 1)
    assert first.data["next"].endswith("/api/session/history/?page=2")
    assert first.data["results"][0]["started_at"] == "2026-03-02T09:20:00Z"
    assert second.data["results"][0]["started_at"] == "2026-03-02T09:00:00Z"


def test_it_filters_the_history_by_start_dates(api, student, make_session):
    day_before = make_session(student, started_at=at(-86400), ended_at=at(-86000))
    on_the_day = make_session(student, started_at=at(3600), ended_at=at(4000))
    day_after = make_session(student, started_at=at(86400), ended_at=at(86500))
    client = api(student)
    assert history_ids(client.get("/api/session/history/", {"from": "2026-03-02", "to": "2026-03-02"})) == [
        on_the_day.pk
    ]
    assert history_ids(client.get("/api/session/history/", {"from": "2026-03-02T10:00:00Z"})) == [
        day_after.pk,
        on_the_day.pk,
    ]
    assert history_ids(client.get("/api/session/history/", {"to": "2026-03-02T09:59:59+00:00"})) == [day_before.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"from": "yesterday"}, "from"), ({"to": "2026-02-30"}, "to"), ({"from": "2026-03-03", "to": "2026-03-02"}, "to")],
)
def test_it_answers_400_to_bad_dates(api, student, query, field):
    response = api(student).get("/api/session/history/", query)
    assert response.status_code == 400
    assert field in response.data


# Detail
@pytest.mark.parametrize("who", ["student", "teacher", "staff_user"])
def test_it_shows_a_session_with_its_samples_to_whoever_may_read_it(api, request, own_session, who):
    response = api(request.getfixturevalue(who)).get(f"/api/session/{own_session.pk}/")
    assert response.status_code == 200
    assert (response.data["id"], response.data["blink_count"], response.data["blink_rate_per_min"]) == (
        own_session.pk,
        4,
        2.0,
    )
    assert response.data["duration_seconds"] == 120.0
    assert [sample["state"] for sample in response.data["samples"]] == ["focused", "absent"]
    assert response.data["samples"][1] == {
        "time": "2026-03-02T09:00:10Z",
        "ear": None,
        "blinks": 4,
        "blink_rate_per_min": 0.0,
        "engagement": 0,
        "state": "absent",
        "perclos": 0.0,
        "confidence": "ok",
        "frames": 100,
    }


@pytest.mark.parametrize("who", ["other_student", "other_teacher"])
def test_it_hides_a_session_from_whoever_may_not_read_it_with_404(api, request, own_session, who):
    response = api(request.getfixturevalue(who)).get(f"/api/session/{own_session.pk}/")
    assert response.status_code == 404


# CSV
@pytest.mark.parametrize("who", ["student", "teacher", "staff_user"])
def test_it_exports_the_samples_as_csv(api, request, own_session, who):
    response = api(request.getfixturevalue(who)).get(f"/api/session/{own_session.pk}/samples.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="session-{own_session.pk}-samples.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["time", "ear", "blinks", "blink_rate_per_min", "engagement", "state", "perclos", "confidence", "frames"],
        ["2026-03-02T09:00:05Z", "0.3", "1", "0.0", "90", "focused", "0.0", "ok", "50"],
        ["2026-03-02T09:00:10Z", "", "4", "0.0", "0", "absent", "0.0", "ok", "100"],
    ]


@pytest.mark.parametrize("who", ["other_student", "other_teacher"])
def test_it_hides_the_csv_from_whoever_may_not_read_it_with_404(api, request, own_session, who):
    response = api(request.getfixturevalue(who)).get(f"/api/session/{own_session.pk}/samples.csv")
    assert response.status_code == 404


# Authentication
def test_it_accepts_a_token(student, own_session):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=student).key}")
    response = client.get("/api/session/history/")
    assert (response.status_code, history_ids(response)) == (200, [own_session.pk])


def test_it_accepts_the_session_cookie_with_the_csrf_token(student):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(student)
    refused = client.post("/api/session/start/", {}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.data["detail"]
    client.get("/admin/login/")  # any page that sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/api/session/start/", {}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


# Schema and docs
def test_it_publishes_an_openapi_schema_of_the_session_paths(api):
    response = api(None).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.data["openapi"].startswith("3.")
    assert set(SESSION_PATHS) <= set(response.data["paths"])
    assert set(response.data["paths"]["/api/session/history/"]["get"]["parameters"][0]) >= {"name", "in"}
    assert {parameter["name"] for parameter in response.data["paths"]["/api/session/history/"]["get"]["parameters"]} >= {
        "classroom",
        "from",
        "to",
        "page",
    }


def test_it_serves_the_docs_from_our_own_static_files(api):
    response = api(None).get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert not re.search(r"https?://", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    # Swagger UI's start-up script comes from the docs view itself (no inline script: the CSP), the rest is static.
    [script] = [asset for asset in assets if asset.startswith("/api/docs/")]
    static = [asset for asset in assets if asset != script]
    assert static and all(asset.startswith("/static/") for asset in static)
    assert all(finders.find(asset.removeprefix("/static/")) for asset in static)
    start_up = api(None).get(script).content.decode()
    # Swagger UI's default would send the schema's URL to validator.swagger.io.
    assert '"validatorUrl": null' in start_up
    assert "/api/schema/" in start_up
