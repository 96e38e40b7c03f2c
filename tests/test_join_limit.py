"""Guessing class codes at /join/ is limited per student and per address (classroom/join_limit.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def guess(client):
    def post(user, code: str, address: str = "127.0.0.1"):
        client.force_login(user)
        return client.post("/join/", {"code": code}, REMOTE_ADDR=address)

    return post


def test_it_refuses_a_student_past_the_limit_even_with_the_right_code(guess, classroom, make_user, settings):
    mallory = make_user("mallory")
    for _ in range(settings.SMARTSESSION_JOIN_GUESSES_PER_USER):
        assert guess(mallory, "WRONGCODE1").status_code == 200
    refused = guess(mallory, classroom.join_code)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= settings.SMARTSESSION_JOIN_GUESS_WINDOW_S
    assert b"Too many wrong class codes" in refused.content
    assert not classroom.memberships.filter(student=mallory).exists()
    # Another student at the same address is not held back by mallory's guesses.
    assert guess(make_user("bob"), classroom.join_code).status_code == 302


def test_it_limits_an_address_across_students(guess, classroom, make_user, settings):
    settings.SMARTSESSION_JOIN_GUESSES_PER_ADDRESS = 3
    for number in range(3):
        guess(make_user(f"guesser{number}"), "WRONGCODE1", address="10.3.3.3")
    assert guess(make_user("late"), classroom.join_code, address="10.3.3.3").status_code == 429
    assert guess(make_user("elsewhere"), classroom.join_code, address="10.4.4.4").status_code == 302


def test_it_does_not_count_joins_that_work(guess, classroom, make_user, settings):
    settings.SMARTSESSION_JOIN_GUESSES_PER_ADDRESS = 2
    for number in range(5):  # a class joining together from one school address
        assert guess(make_user(f"pupil{number}"), classroom.join_code).status_code == 302
    assert guess(make_user("lastpupil"), classroom.join_code).status_code == 302


def test_it_lets_the_form_be_shown_however_many_guesses(guess, client, make_user, settings):
    mallory = make_user("mallory")
    for _ in range(settings.SMARTSESSION_JOIN_GUESSES_PER_USER):
        guess(mallory, "WRONGCODE1")
    assert client.get("/join/").status_code == 200


def test_it_limits_code_guesses_at_sign_up_per_address(client, classroom, settings):
    from django.contrib.auth import get_user_model

    settings.SMARTSESSION_JOIN_GUESSES_PER_ADDRESS = 3
    classroom.self_signup = True
    classroom.save(update_fields=["self_signup"])
    form = {"username": "newcomer", "display_name": "New Comer", "password1": "a long passphrase 42",
            "password2": "a long passphrase 42"}
    for _ in range(3):
        assert client.post("/signup/", {**form, "code": "WRONGCODE1"}, REMOTE_ADDR="10.0.0.9").status_code == 200
    refused = client.post("/signup/", {**form, "code": classroom.join_code}, REMOTE_ADDR="10.0.0.9")
    assert refused.status_code == 429 and "Too many wrong class codes" in refused.content.decode()
    assert not get_user_model().objects.filter(username="newcomer").exists()
    # Another address is not held back by this one's guesses.
    assert client.post("/signup/", {**form, "code": classroom.join_code}, REMOTE_ADDR="10.0.0.10").status_code == 302


def test_it_does_not_count_a_sign_up_refused_for_its_password(client, classroom, settings):
    from django.contrib.auth import get_user_model

    settings.SMARTSESSION_JOIN_GUESSES_PER_ADDRESS = 2
    classroom.self_signup = True
    classroom.save(update_fields=["self_signup"])
    form = {"code": classroom.join_code, "username": "newcomer", "display_name": "New Comer"}
    # A school class signing up together from one address: a weak password or a typo tries no class code.
    for password1, password2 in [("12345678", "12345678"), ("a long passphrase 42", "a long passphrase 24")] * 2:
        answer = client.post("/signup/", {**form, "password1": password1, "password2": password2},
                             REMOTE_ADDR="10.0.0.9")
        assert answer.status_code == 200
    done = client.post("/signup/", {**form, "password1": "a long passphrase 42", "password2": "a long passphrase 42"},
                       REMOTE_ADDR="10.0.0.9")
    assert done.status_code == 302
    assert get_user_model().objects.filter(username="newcomer").exists()
