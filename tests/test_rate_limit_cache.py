"""The rate-limit cache on Redis: shared by every process, and out of the way while Redis is down."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.core.cache import caches

# Nothing listens on port 1 here: a real connection attempt that is refused at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"


def redis_cache(location: str, prefix: str) -> dict:
    return {"BACKEND": "smartsession.cache.FailOpenRedisCache", "LOCATION": location, "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}


def test_it_lets_logins_joins_and_tokens_through_while_redis_is_down(client, settings, make_user, caplog):
    settings.CACHES = {"default": redis_cache(DEAD_REDIS, "down")}
    client.force_login(make_user("mallory"))
    with caplog.at_level(logging.WARNING, logger="smartsession.cache"):
        assert client.post("/join/", {"code": "WRONGCODE1"}).status_code == 200  # the form, with its error
        assert client.post("/join/", {"code": "WRONGCODE1"}).status_code == 200
        token = client.post("/api/auth/token/", {"username": "mallory", "password": "x"},
                            content_type="application/json")
    assert token.status_code == 400  # wrong password, not a server error
    outage_lines = [record for record in caplog.records if record.name == "smartsession.cache"]
    assert len(outage_lines) == 1 and "unavailable" in outage_lines[0].getMessage()


@pytest.mark.redis
def test_it_shares_counts_between_processes(redis_url, settings):
    # Two cache clients on the same Redis stand for two Daphne processes.
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {"one": redis_cache(redis_url, prefix), "two": redis_cache(redis_url, prefix)}
    one, two = caches["one"], caches["two"]
    try:
        one.add("guesses", 0, timeout=60)
        one.incr("guesses")
        two.add("guesses", 0, timeout=60)
        two.incr("guesses")
        assert one.get("guesses") == two.get("guesses") == 2
    finally:
        one.delete("guesses")
