"""POST /api/auth/token/: a token for non-browser clients (scripts, load generators)."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def student_with_password(make_user):
    return make_user("ada", password=PASSWORD)


@api_view(["GET"])
def whoami(request):
    # Stands in for any of our API views: they all use the project's default authentication and IsAuthenticated.
    return Response({"username": request.user.username})


def test_it_gives_a_token_for_the_right_password(api_client, student_with_password):
    response = api_client.post("/api/auth/token/", {"username": "ada", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.data == {"token": Token.objects.get(user=student_with_password).key}


def test_it_gives_the_same_token_every_time(api_client, student_with_password):
    credentials = {"username": "ada", "password": PASSWORD}
    first = api_client.post("/api/auth/token/", credentials, format="json").data["token"]
    assert api_client.post("/api/auth/token/", credentials, format="json").data["token"] == first


def test_it_refuses_a_wrong_password_with_400(api_client, student_with_password):
    response = api_client.post("/api/auth/token/", {"username": "ada", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.data
    assert not Token.objects.exists()


def test_it_refuses_a_request_without_a_password_with_400(api_client, student_with_password):
    response = api_client.post("/api/auth/token/", {"username": "ada"}, format="json")
    assert response.status_code == 400
    assert "password" in response.data


def test_it_authenticates_an_api_request_with_the_token(api_client, student_with_password):
    key = api_client.post("/api/auth/token/", {"username": "ada", "password": PASSWORD}, format="json").data["token"]
    request = APIRequestFactory().get("/whoami", HTTP_AUTHORIZATION=f"Token {key}")
    response = whoami(request)
    assert (response.status_code, response.data) == (200, {"username": "ada"})


def test_it_refuses_an_api_request_with_an_unknown_token():
    request = APIRequestFactory().get("/whoami", HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = whoami(request)
    # 403 rather than 401: DRF answers 401 only when the first authenticator names a WWW-Authenticate
    # scheme, and the first in our settings is SessionAuthentication, which names none.
    assert response.status_code == 403
    assert str(response.data["detail"]) == "Invalid token."
