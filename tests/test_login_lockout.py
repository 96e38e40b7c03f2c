"""django-axes: repeated wrong passwords lock that username out from that address for the lockout time."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.db.models import F

PASSWORD = "ada-passphrase"  # the `ada` fixture's


def log_in(client, password: str, address: str = "127.0.0.1"):
    return client.post("/accounts/login/", {"username": "ada", "password": password}, REMOTE_ADDR=address)


def test_it_refuses_even_the_right_password_after_the_limit_until_the_lockout_time_has_passed(client, ada, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong").status_code == 200  # the form again, with its error
    locked = log_in(client, "wrong")
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content and b"15 minutes" in locked.content
    refused = log_in(client, PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session

    # The lockout time passes (the attempts are moved back in time rather than waited for).
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME)
    assert log_in(client, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(ada.pk)


def test_it_locks_the_username_and_address_pair_only(client, ada, settings):
    # A school shares one address: one student's guesses must not lock out another account, nor the same
    # account from elsewhere.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong", address="10.1.1.1")
    assert log_in(client, PASSWORD, address="10.1.1.1").status_code == 429
    assert log_in(client, PASSWORD, address="10.2.2.2").status_code == 302


def test_it_forgets_failures_after_a_good_login(client, ada, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong").status_code == 200


def test_it_locks_the_token_endpoint_too(client, ada, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong")
    response = client.post("/api/auth/token/", {"username": "ada", "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code in (400, 429)
    assert "token" not in response.json()
