"""The history API for lessons: list, detail and a lesson's sessions, with the same permission rules as sessions."""

from __future__ import annotations

import pytest

from classroom.services import classroom_create, classroom_join
from sessions_app.services import lesson_end, session_end, session_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesson(student, other_student, classroom):
    """A lesson of `classroom` in which `student` and `other_student` both streamed; ended."""
    classroom_join(student=other_student, code=classroom.join_code)
    mine, _ = session_start(student=student, classroom=classroom)
    session_start(student=other_student, classroom=classroom)
    session_end(session_id=mine.pk)
    return lesson_end(lesson_id=mine.lesson_id)


@pytest.fixture
def other_class_lesson(other_teacher, make_user):
    elsewhere = classroom_create(teacher=other_teacher, name="Elsewhere")
    stranger = make_user("stranger")
    classroom_join(student=stranger, code=elsewhere.join_code)
    session, _ = session_start(student=stranger, classroom=elsewhere)
    return session.lesson


@pytest.mark.parametrize("path", ["/api/lessons/", "/api/lessons/{id}/", "/api/lessons/{id}/sessions/"])
def test_it_answers_401_to_anonymous_requests(api, lesson, path):
    assert api(None).get(path.format(id=lesson.pk)).status_code == 401


def test_it_lists_a_teacher_the_lessons_of_their_classes(api, teacher, lesson, other_class_lesson):
    results = api(teacher).get("/api/lessons/").data["results"]
    assert [item["id"] for item in results] == [lesson.pk]
    item = results[0]
    assert (item["status"], item["end_reason"], item["opened_by_teacher"]) == ("ended", "teacher", False)
    assert item["started_at"].endswith("+00:00") or item["started_at"].endswith("Z")  # ISO 8601 with its offset


def test_it_lists_a_student_the_lessons_they_streamed_in(api, student, make_user, classroom, lesson):
    assert [item["id"] for item in api(student).get("/api/lessons/").data["results"]] == [lesson.pk]
    latecomer = make_user("latecomer")
    classroom_join(student=latecomer, code=classroom.join_code)
    assert api(latecomer).get("/api/lessons/").data["results"] == []


def test_it_filters_by_class_and_by_lessons_in_progress(api, teacher, student, classroom, lesson):
    session, _ = session_start(student=student, classroom=classroom)  # opens the next lesson
    in_progress = api(teacher).get("/api/lessons/", {"classroom": classroom.join_code.lower(), "open": "true"})
    assert [item["id"] for item in in_progress.data["results"]] == [session.lesson_id]
    ended = api(teacher).get("/api/lessons/", {"classroom": classroom.join_code, "open": "false"})
    assert [item["id"] for item in ended.data["results"]] == [lesson.pk]


def test_it_refuses_the_class_filter_like_the_sessions_api(api, other_teacher, classroom, lesson):
    assert api(other_teacher).get("/api/lessons/", {"classroom": classroom.join_code}).status_code == 403
    assert api(other_teacher).get("/api/lessons/", {"classroom": "NOSUCHCODE"}).status_code == 404


def test_it_gives_a_teacher_every_session_of_a_lesson_and_a_student_their_own(api, teacher, student, lesson):
    everyone = api(teacher).get(f"/api/lessons/{lesson.pk}/sessions/").data["results"]
    assert sorted(item["student"] for item in everyone) == ["other_student", "student"]
    assert all(item["lesson"] == lesson.pk for item in everyone)
    own = api(student).get(f"/api/lessons/{lesson.pk}/sessions/").data["results"]
    assert [item["student"] for item in own] == ["student"]


@pytest.mark.parametrize("who", ["other_teacher", "latecomer"])
def test_it_hides_a_lesson_from_whoever_may_not_read_it_with_404(api, request, make_user, classroom, lesson, who):
    user = request.getfixturevalue(who) if who != "latecomer" else make_user("latecomer")
    for path in (f"/api/lessons/{lesson.pk}/", f"/api/lessons/{lesson.pk}/sessions/"):
        assert api(user).get(path).status_code == 404
    assert api(user).get("/api/lessons/999999/").status_code == 404


def test_it_shows_staff_every_lesson(api, staff_user, lesson, other_class_lesson):
    results = api(staff_user).get("/api/lessons/").data["results"]
    assert {item["id"] for item in results} == {lesson.pk, other_class_lesson.pk}


def test_it_publishes_the_lesson_paths_in_the_schema(api):
    schema = api(None).get("/api/schema/", HTTP_ACCEPT="application/json").data
    assert {"/api/lessons/", "/api/lessons/{lesson_id}/", "/api/lessons/{lesson_id}/sessions/"} <= set(schema["paths"])
