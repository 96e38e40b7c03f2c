"""/healthz (is this process serving HTTP?) and /readyz (can it serve a class right now?).

A process manager or load balancer restarts on liveness and routes on readiness, so /healthz stays cheap and
touches nothing: a slow database must not get every process restarted. /readyz checks what a class needs and
answers 503 naming each part that fails; the details go to the log, not to the public answer.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from vision.model import load_model_bytes

logger = logging.getLogger("smartsession.readiness")
# Each check answers within this, or counts as failing: a probe must answer before the prober gives up.
CHECK_TIMEOUT_S = 3.0
# The last outcome of each check, so a failing part is logged when it starts and stops failing, not per probe.
_last_failures: dict[str, str] = {}


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # This runs on a worker thread of its own; its connection must not outlive the check.
        connection.close()


async def _channel_layer() -> None:
    """One message to ourselves and back: with REDIS_URL set, a round trip through Redis."""
    layer = get_channel_layer()
    # The default prefix: channels_redis serves every process-local channel through one blocking read of one
    # Redis key per prefix, held by whichever receiver came first. A channel of its own prefix would wait
    # behind an open socket's read and time out although Redis is fine.
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "readyz.ping"})
    if not getattr(layer, "available", True):
        # classroom.layers keeps sockets open through an outage and drops what it cannot send: say so at once.
        raise RuntimeError("the channel layer cannot reach Redis")
    message = await layer.receive(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError(f"the channel layer returned {message.get('type')!r}")


def _face_model() -> None:
    load_model_bytes()  # found, and its checksum verified


CHECKS = {
    "database": lambda: sync_to_async(_database, thread_sensitive=False)(),
    "channel_layer": _channel_layer,
    "face_model": lambda: asyncio.to_thread(_face_model),
}


async def _outcome(name: str) -> str:
    try:
        await asyncio.wait_for(CHECKS[name](), CHECK_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001 - any failure of a part means "not ready"
        detail = f"timed out after {CHECK_TIMEOUT_S:g} s" if isinstance(error, TimeoutError) else repr(error)
        if _last_failures.get(name) != detail:
            logger.warning("readiness: %s failing: %s", name, detail, extra={"check": name})
        _last_failures[name] = detail
        return "failing"
    if _last_failures.pop(name, None) is not None:
        logger.info("readiness: %s ok again", name, extra={"check": name})
    return "ok"


@require_safe
async def readyz(request: HttpRequest) -> JsonResponse:
    outcomes = await asyncio.gather(*(_outcome(name) for name in CHECKS))
    checks = dict(zip(CHECKS, outcomes))
    failing = [name for name, outcome in checks.items() if outcome != "ok"]
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing, "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})
