"""Which pages may open our WebSockets: scheme, host and port of the Origin (smartsession/origins.py)."""

from __future__ import annotations

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator

from smartsession.origins import OriginValidator, parse_origin


class Accepts(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()


application = OriginValidator(Accepts.as_asgi())


async def opens(*, origin: str | None, host: str | None = "127.0.0.1:8123", **extra: str) -> bool:
    headers = [(name.replace("_", "-").encode(), value.encode()) for name, value in extra.items()]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))
    communicator = WebsocketCommunicator(application, "/ws/student/CODE/", headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.fixture(autouse=True)
def origins(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "class.example.org"]
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://class.example.org", "http://127.0.0.1:8000"]


async def test_it_accepts_the_page_the_server_itself_served():
    assert await opens(origin="http://127.0.0.1:8123")


async def test_it_refuses_another_port_on_the_same_host():
    # Another program on the student's machine (or the school's server) is another origin.
    assert not await opens(origin="http://127.0.0.1:9999")


async def test_it_refuses_https_for_a_plain_connection_and_http_for_a_tls_one(settings):
    assert not await opens(origin="https://127.0.0.1:8123")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert await opens(origin="https://class.example.org", host="class.example.org", x_forwarded_proto="https")
    assert not await opens(origin="http://class.example.org", host="class.example.org", x_forwarded_proto="https")


async def test_it_ignores_x_forwarded_proto_unless_a_proxy_is_trusted():
    assert not await opens(origin="https://127.0.0.1:8123", x_forwarded_proto="https")


async def test_it_refuses_a_host_the_server_does_not_serve():
    # DNS rebinding: evil.example resolving to the school's server gives a matching Host and Origin.
    assert not await opens(origin="http://evil.example", host="evil.example")


async def test_it_accepts_the_configured_origins_with_their_ports_only():
    assert await opens(origin="https://class.example.org", host="elsewhere")
    assert await opens(origin="http://127.0.0.1:8000", host=None)
    assert not await opens(origin="https://class.example.org:8443", host=None)
    assert not await opens(origin="http://class.example.org", host=None)


async def test_it_refuses_a_handshake_without_an_origin_or_with_a_malformed_one():
    assert not await opens(origin=None)
    for origin in ("null", "http://", "127.0.0.1:8123", "http://127.0.0.1:8123/page", "http://127.0.0.1:99999"):
        assert not await opens(origin=origin), origin


def test_it_reads_default_ports_from_the_scheme():
    assert parse_origin("HTTPS://Class.Example.org") == ("https", "class.example.org", 443)
    assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)
    assert parse_origin("ftp://class.example.org") is None
