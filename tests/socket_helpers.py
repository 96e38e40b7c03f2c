"""Small helpers for WebSocket tests: connect as a user through the real ASGI stack, encode real frames."""

from __future__ import annotations

import asyncio
import json

import cv2
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import OperationalError
from rest_framework.authtoken.models import Token

from smartsession.asgi import application

# A browser's handshake to http://localhost: its Origin matches the Host it asked for (smartsession/origins.py).
ORIGIN = (b"origin", b"http://localhost")
HOST = (b"host", b"localhost")


async def token_for(user) -> str:
    token, _ = await sync_to_async(Token.objects.get_or_create)(user=user)
    return token.key


async def connect(path: str, user=None) -> tuple[WebsocketCommunicator, bool]:
    headers = [ORIGIN, HOST]
    if user is not None:
        headers.append((b"authorization", f"Token {await token_for(user)}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    return communicator, connected


async def receive(communicator: WebsocketCommunicator, timeout: float = 10) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


DISCONNECT_WAIT_S = 0.5


async def close_code(communicator: WebsocketCommunicator, timeout: float = 5) -> int:
    """The code the server closed the socket with; then the client's side of the close, so the consumer ends.

    Left open, the consumer's receive from the channel layer is only cancelled when the test's event loop
    closes, and a Redis layer cancelled there has hung the run. The consumer has nothing left to do by then,
    but a Redis receive cancelled mid-read (redis-py on Python 3.11) can outlive its first cancel; the
    communicator cancels it again after DISCONNECT_WAIT_S rather than 5 s (Daphne does after 10 s).
    """
    closed = await communicator.receive_output(timeout=timeout)
    assert closed["type"] == "websocket.close", closed
    await communicator.disconnect(code=closed.get("code", 1000), timeout=DISCONNECT_WAIT_S)
    return closed["code"]


async def receive_until(communicator: WebsocketCommunicator, kind: str, timeout: float = 10) -> dict:
    while True:
        message = await receive(communicator, timeout)
        if message["type"] == kind:
            return message


def jpeg(rgb, quality: int = 70) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


async def save_meanwhile(change, **kwargs) -> None:
    """Run a service that saves a change while a stream is open, as a teacher's page would.

    Meanwhile the recorder may be starting the stream's session on its own thread. The tests' in-memory
    SQLite (shared cache) then refuses the second writer at once with "table is locked", where a file
    database or PostgreSQL would wait; so wait here, the way they would. A failed try rolls back whole.
    """
    for _ in range(100):
        try:
            await sync_to_async(change)(**kwargs)
            return
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            await asyncio.sleep(0.05)
    raise AssertionError(f"{change.__name__} found the database locked for 5 s")
