"""WebSocket authentication for clients without our session cookie: `Authorization: Token <key>`.

Browsers authenticate sockets with the session cookie (channels' AuthMiddlewareStack). Scripts,
load generators and other non-browser clients get a DRF token from POST /api/auth/token/ and send
it as a handshake header, the same header DRF's TokenAuthentication reads on HTTP. We do not take
tokens from the query string: URLs end up in server and proxy logs.

Order matters. channels' AuthMiddleware puts a lazy scope["user"] in the scope and resolves it
from the session (awaiting resolve_scope) before it calls the application inside it; reading that
object earlier raises "Accessing scope user before it is ready". So TokenAuthMiddleware runs
inside AuthMiddlewareStack, sees the session's user already resolved, and only when that user is
anonymous looks at the token. SmartSessionAuthStack builds the stack in that order. (Subclassing
AuthMiddleware and extending resolve_scope would work as well; wrapping keeps channels' stack
as it is and makes the order visible in one line.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

if TYPE_CHECKING:
    # Not at run time: this module may be imported before Django's apps are ready.
    from django.contrib.auth.models import AbstractBaseUser

TOKEN_KEYWORD = "token"


def token_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key from an `Authorization: Token <key>` header, parsed as DRF does; None if there is none."""
    for name, value in headers:
        if name.lower() == b"authorization":
            parts = value.decode("latin1").split()
            if len(parts) == 2 and parts[0].lower() == TOKEN_KEYWORD:
                return parts[1]
            return None
    return None


@database_sync_to_async
def user_for_token(key: str) -> AbstractBaseUser | None:
    # DRF's own check (the token exists, its user is active), so a token means the same on HTTP and WS.
    try:
        user, _ = TokenAuthentication().authenticate_credentials(key)
    except exceptions.AuthenticationFailed:
        return None
    return user


class DatabaseTolerantAuthMiddleware(AuthMiddleware):
    """channels' AuthMiddleware, except that a database that is down leaves the user anonymous and marks the
    scope, so the consumer can refuse with a clear "unavailable" (docs/protocol.md) instead of the handshake
    failing with an HTTP 500."""

    async def resolve_scope(self, scope):
        try:
            await super().resolve_scope(scope)
        except DatabaseError:
            scope["user"]._wrapped = AnonymousUser()
            scope["database_unavailable"] = True


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from a DRF token when the session did not authenticate the socket.

    A missing or invalid token leaves the anonymous user, and the consumer refuses with 4401.
    """

    async def __call__(self, scope, receive, send):
        if "user" not in scope:
            raise ValueError(
                "TokenAuthMiddleware found no scope['user']: it must run inside AuthMiddlewareStack "
                "(use SmartSessionAuthStack)."
            )
        if not scope["user"].is_authenticated and not scope.get("database_unavailable"):
            key = token_from_headers(scope.get("headers", []))
            if key:
                try:
                    user = await user_for_token(key)
                except DatabaseError:
                    user, scope = None, dict(scope, database_unavailable=True)
                if user is not None:
                    scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)


def SmartSessionAuthStack(inner):  # noqa: N802 - named like channels' AuthMiddlewareStack, which it extends
    """Session cookie first, then `Authorization: Token`; see the module docstring for why in this order.

    channels' AuthMiddlewareStack, built from the same parts, with the auth step tolerating a database outage.
    """
    return CookieMiddleware(SessionMiddleware(DatabaseTolerantAuthMiddleware(TokenAuthMiddleware(inner))))
