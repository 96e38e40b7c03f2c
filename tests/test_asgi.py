"""The ASGI application Daphne serves, driven through Channels' test communicators."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from channels.testing import HttpCommunicator, WebsocketCommunicator

from smartsession.asgi import application

REPO_ROOT = Path(__file__).resolve().parent.parent

# Static files with DEBUG on and off, each in its own process (settings are read once per process).
# ApplicationCommunicator rather than HttpCommunicator: a file response is streamed, and its last
# message may leave out "body" (optional in ASGI), which HttpCommunicator does not accept.
GET_STATIC = """
import asyncio, json, sys
from channels.testing import ApplicationCommunicator
from django.templatetags.static import static
from smartsession.asgi import application

async def get(path):
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path, "scheme": "https",
             "query_string": b"", "headers": [(b"host", b"localhost"), (b"accept-encoding", b"gzip")]}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(5)
    body = b""
    while True:
        chunk = await communicator.receive_output(5)
        body += chunk.get("body", b"")
        if not chunk.get("more_body"):
            headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
            return {"path": path, "status": start["status"], "headers": headers, "length": len(body)}

print(json.dumps(asyncio.run(get(static(sys.argv[1])))))
"""


def get_static(name: str, **env: str) -> dict:
    run_env = {"PATH": os.environ["PATH"], "SECRET_KEY": "test-only-key", **env}
    result = subprocess.run(
        [sys.executable, "-c", GET_STATIC, name], cwd=REPO_ROOT, env=run_env, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_serves_static_files_from_the_source_folders_in_debug():
    answer = get_static("css/smartsession.css", DEBUG="1")
    assert answer["path"] == "/static/css/smartsession.css"
    assert answer["status"] == 200
    assert answer["length"] == (REPO_ROOT / "static" / "css" / "smartsession.css").stat().st_size


def test_it_serves_hashed_compressed_static_files_with_long_cache_headers_when_debug_is_off(collected_static):
    # One process with no proxy in front still serves its static files, from collectstatic's STATIC_ROOT.
    answer = get_static("js/student.js", DEBUG="0", STATIC_ROOT=str(collected_static))
    assert re.fullmatch(r"/static/js/student\.[0-9a-f]{12}\.js", answer["path"])
    assert answer["status"] == 200
    assert answer["headers"]["content-encoding"] == "gzip"
    assert "immutable" in answer["headers"]["cache-control"]
    assert int(re.search(r"max-age=(\d+)", answer["headers"]["cache-control"]).group(1)) >= 365 * 24 * 3600


async def test_it_serves_http_through_django():
    communicator = HttpCommunicator(application, "GET", "/healthz", headers=[(b"host", b"localhost")])
    response = await communicator.get_response()
    assert response["status"] == 200
    assert response["body"] == b'{"status": "ok"}'


async def test_it_refuses_a_websocket_from_another_site():
    # The origin check runs before routing: another site's page must not open a socket with our users' cookies.
    communicator = WebsocketCommunicator(application, "/ws/anything/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()
