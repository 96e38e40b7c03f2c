"""Schemathesis against /api/schema/: requests generated from our own OpenAPI document never get a 500.

Generated for every operation, as an anonymous client, as a student with records and as their teacher, through
Django's WSGI handler in this process (the test database, no server to start).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from session_clock import at

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture(autouse=True)
def one_connection_for_the_test():
    """Django closes the database connection as a request starts and finishes; the test's own transaction lives on
    it. Django's test client holds that back the same way while it makes a request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def who(request, student, teacher, classroom, make_session, make_sample):
    """The Authorization header of each kind of caller; the student has a session with samples in the class."""
    from rest_framework.authtoken.models import Token

    make_session(student, classroom=classroom, started_at=at(0), samples=[make_sample(at(5))], ended_at=at(6))
    tokens = {user: Token.objects.get_or_create(user=user)[0].key for user in (student, teacher)}
    return {
        "anonymous": {},
        "student": {"Authorization": f"Token {tokens[student]}"},
        "teacher": {"Authorization": f"Token {tokens[teacher]}"},
    }


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("caller", ["anonymous", "student", "teacher"])
def test_it_answers_every_generated_request_without_a_server_error(case, caller, who):
    response = case.call(headers=who[caller])
    case.validate_response(response, checks=(not_a_server_error,))
