"""Which web pages may open our WebSockets: the Origin header, compared by scheme, host and port.

A browser sends the page's origin on every handshake, and the session cookie with it whoever's page it is, so
this check is what keeps another site (or another program on the same machine, on another port) from opening
a socket as a logged-in student. Channels' AllowedHostsOriginValidator compares host names only and ignores
the port; this one compares all three, and accepts:
- the server's own origin: the Host header the client asked for, if ALLOWED_HOSTS admits it, with https when
  the connection is TLS (X-Forwarded-Proto from a trusted proxy, see BEHIND_PROXY) and http otherwise;
- the origins in settings.WEBSOCKET_ALLOWED_ORIGINS.
A handshake without an Origin header is refused: non-browser clients send one naming the server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origin(origin: str) -> tuple[str, str, int] | None:
    """("https", "class.example.org", 443) for "https://class.example.org"; None for anything else."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _header(scope: dict, name: bytes) -> str | None:
    for header, value in scope.get("headers", []):
        if header == name:
            return value.decode("latin1")
    return None


def own_origin(scope: dict) -> tuple[str, str, int] | None:
    """The origin the client connected to, from its Host header, if that host is one we serve."""
    host = _header(scope, b"host")
    if not host or not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name = proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        forwarded = _header(scope, name)
        if forwarded is not None:
            scheme = "https" if forwarded.strip().lower() == proxy_header[1] else "http"
    return parse_origin(f"{scheme}://{host}")


def origin_allowed(scope: dict) -> bool:
    origin = _header(scope, b"origin")
    parsed = parse_origin(origin) if origin else None
    if parsed is None:
        return False
    allowed = {parse_origin(entry) for entry in settings.WEBSOCKET_ALLOWED_ORIGINS}
    return parsed in allowed or parsed == own_origin(scope)


class OriginValidator:
    """ASGI middleware: refuses a WebSocket handshake whose Origin is not allowed (HTTP 403), before routing."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
