"""Who a WebSocket belongs to: the session cookie, else `Authorization: Token <key>` (classroom/auth.py)."""

from __future__ import annotations

import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from rest_framework.authtoken.models import Token

from classroom.auth import SmartSessionAuthStack, TokenAuthMiddleware
from smartsession.origins import OriginValidator

# Async tests reach the database from database_sync_to_async's thread, which sees only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


class WhoAmI(AsyncJsonWebsocketConsumer):
    """Stands in for our consumers: it says who scope["user"] is and nothing else."""

    async def connect(self):
        await self.accept()
        user = self.scope["user"]
        await self.send_json({"authenticated": user.is_authenticated, "username": user.username})


application = SmartSessionAuthStack(WhoAmI.as_asgi())


async def who_am_i(*headers: tuple[bytes, bytes], app=application) -> dict:
    communicator = WebsocketCommunicator(app, "/ws/whoami/", headers=list(headers))
    connected, _ = await communicator.connect()
    assert connected
    answer = await communicator.receive_json_from()
    await communicator.disconnect()
    return answer


ANONYMOUS = {"authenticated": False, "username": ""}


@pytest.fixture
def token(student) -> str:
    return Token.objects.create(user=student).key


@pytest.fixture
def other_students_token(other_student) -> str:
    return Token.objects.create(user=other_student).key


@pytest.fixture
def session_cookie(client, student) -> bytes:
    """The Cookie header a browser logged in as `student` sends with the handshake."""
    client.force_login(student)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def test_it_authenticates_a_socket_with_a_token_header(token):
    assert await who_am_i((b"authorization", f"Token {token}".encode())) == {
        "authenticated": True,
        "username": "student",
    }


async def test_it_reads_the_token_keyword_in_any_case_as_drf_does(token):
    assert (await who_am_i((b"authorization", f"token {token}".encode())))["username"] == "student"


async def test_it_leaves_a_socket_with_an_unknown_token_anonymous(token):
    assert await who_am_i((b"authorization", b"Token " + b"0" * 40)) == ANONYMOUS


async def test_it_leaves_a_socket_with_another_scheme_anonymous(token):
    assert await who_am_i((b"authorization", f"Bearer {token}".encode())) == ANONYMOUS


async def test_it_leaves_a_socket_without_a_token_anonymous():
    assert await who_am_i() == ANONYMOUS


async def test_it_leaves_the_socket_of_a_deactivated_user_anonymous(student, token):
    # Same rule as DRF's TokenAuthentication on HTTP: an inactive user's token opens nothing.
    student.is_active = False
    await student.asave(update_fields=["is_active"])
    assert await who_am_i((b"authorization", f"Token {token}".encode())) == ANONYMOUS


async def test_it_still_authenticates_a_browser_by_its_session_cookie(session_cookie):
    assert await who_am_i((b"cookie", session_cookie)) == {"authenticated": True, "username": "student"}


async def test_it_prefers_the_session_to_a_token_of_someone_else(session_cookie, other_students_token):
    answer = await who_am_i((b"cookie", session_cookie), (b"authorization", f"Token {other_students_token}".encode()))
    assert answer["username"] == "student"


async def test_it_says_how_to_fix_token_auth_placed_outside_the_session_stack(token):
    # Without AuthMiddlewareStack around it there is no scope["user"] to fall back on or to replace.
    with pytest.raises(ValueError, match="inside AuthMiddlewareStack"):
        await who_am_i((b"authorization", f"Token {token}".encode()), app=TokenAuthMiddleware(WhoAmI.as_asgi()))


async def test_it_refuses_a_token_client_that_sends_no_origin_header(token):
    # The origin check in asgi.py rejects a handshake with no Origin before any authentication: non-browser
    # clients must send an Origin naming the server.
    from smartsession.asgi import application as project_application

    communicator = WebsocketCommunicator(
        project_application, "/ws/anything/", headers=[(b"authorization", f"Token {token}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


async def test_it_authenticates_a_token_client_that_names_an_allowed_origin(token):
    # The stack asgi.py builds, around our stand-in consumer; the Origin names the address `make run` serves.
    app = OriginValidator(SmartSessionAuthStack(WhoAmI.as_asgi()))
    headers = [(b"origin", b"http://localhost:8000"), (b"authorization", f"Token {token}".encode())]
    assert (await who_am_i(*headers, app=app))["username"] == "student"
