"""The ASGI application Daphne serves, driven through Channels' test communicators."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator

from smartsession.asgi import application

REPO_ROOT = Path(__file__).resolve().parent.parent

# asgi.py decides at import whether to serve static files, so each case needs its own process.
# ApplicationCommunicator rather than HttpCommunicator: a file response is streamed, and its last
# message may leave out "body" (optional in ASGI), which HttpCommunicator does not accept.
GET_CSS_STATUS = """
import asyncio
from channels.testing import ApplicationCommunicator
from smartsession.asgi import application

async def get(path):
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path,
             "query_string": b"", "headers": [(b"host", b"localhost")]}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(5)
    body = b""
    while True:
        chunk = await communicator.receive_output(5)
        body += chunk.get("body", b"")
        if not chunk.get("more_body"):
            return start["status"], body

status, body = asyncio.run(get("/static/css/smartsession.css"))
print(status, len(body))
"""


async def test_it_serves_http_through_django():
    communicator = HttpCommunicator(application, "GET", "/healthz", headers=[(b"host", b"localhost")])
    response = await communicator.get_response()
    assert response["status"] == 200
    assert response["body"] == b'{"status": "ok"}'


@pytest.mark.parametrize(("debug", "status"), [("1", "200"), ("0", "404")])
def test_it_serves_static_files_only_in_debug(debug, status):
    # Plain daphne has no static file server, so `make run` (DEBUG on) serves the CSS from the app;
    # with DEBUG off that is the deployment's job.
    env = {"PATH": os.environ["PATH"], "DEBUG": debug, "SECRET_KEY": "test-only-key"}
    result = subprocess.run(
        [sys.executable, "-c", GET_CSS_STATUS], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == status
    if status == "200":
        assert int(result.stdout.split()[1]) == (REPO_ROOT / "static" / "css" / "smartsession.css").stat().st_size


async def test_it_refuses_a_websocket_from_another_site():
    # The origin check runs before routing: another site's page must not open a socket with our users' cookies.
    communicator = WebsocketCommunicator(application, "/ws/anything/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()
