"""Self-sign-up with the class code: only when the teacher turns it on, and it says nothing about other codes."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from classroom.models import Classroom, Membership

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "a-long-fresh-passphrase"


def sign_up(client, code: str, username: str = "newbie"):
    return client.post(
        "/signup/",
        {"code": code.lower(), "display_name": "New Student", "username": username, "password1": PASSWORD, "password2": PASSWORD},
    )


def test_it_refuses_sign_up_while_the_teacher_has_not_turned_it_on(client, classroom):
    response = sign_up(client, classroom.join_code)
    assert response.status_code == 200
    assert "No class with this code takes sign-ups" in response.content.decode()
    assert not get_user_model().objects.filter(username="newbie").exists()


def test_it_answers_an_unknown_code_the_same_way(client):
    assert "No class with this code takes sign-ups" in sign_up(client, "NOSUCHCODE").content.decode()


def test_it_creates_the_account_in_the_class_and_logs_in_when_sign_up_is_on(client, teacher, classroom):
    client.force_login(teacher)
    client.post(f"/teach/{classroom.join_code}/students/sign-up/", {"enabled": "1"})
    assert Classroom.objects.get(pk=classroom.pk).self_signup is True
    client.logout()

    response = sign_up(client, classroom.join_code)
    assert response.url == f"/class/{classroom.join_code}/"
    student = get_user_model().objects.get(username="newbie")
    assert student.get_full_name() == "New Student" and student.check_password(PASSWORD)
    membership = Membership.objects.get(student=student, classroom=classroom)
    assert membership.consented_at is None  # the class page asks for consent next
    assert client.get("/").context["user"] == student


def test_it_checks_the_username_and_password_like_any_account(client, classroom, student):
    Classroom.objects.filter(pk=classroom.pk).update(self_signup=True)
    page = sign_up(client, classroom.join_code, username=student.username).content.decode()
    assert "already exists" in page
    weak = client.post(
        "/signup/", {"code": classroom.join_code, "display_name": "X", "username": "x", "password1": "123", "password2": "123"}
    )
    assert "too short" in weak.content.decode()
    assert not get_user_model().objects.filter(username="x").exists()


def test_it_lets_only_the_teacher_turn_sign_up_on(client, student, classroom):
    client.force_login(student)
    assert client.post(f"/teach/{classroom.join_code}/students/sign-up/", {"enabled": "1"}).status_code == 403
    assert Classroom.objects.get(pk=classroom.pk).self_signup is False
