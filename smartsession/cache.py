"""Django's Redis cache, letting requests through while Redis is away instead of failing them.

The cache holds only rate-limit counters. When Redis restarts, a login or a join should not answer 500:
reads count as empty and writes are dropped until Redis is back, and the outage is logged once.
"""

from __future__ import annotations

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError, TimeoutError

logger = logging.getLogger("smartsession.cache")
_UNAVAILABLE = (ConnectionError, TimeoutError)


class FailOpenRedisCache(RedisCache):
    _down = False

    def _call(self, method, default, *args, **kwargs):
        try:
            result = method(*args, **kwargs)
        except _UNAVAILABLE as error:
            if not FailOpenRedisCache._down:
                FailOpenRedisCache._down = True
                logger.warning("Redis cache unavailable, rate limits are not counted until it is back: %s", error)
            return default
        if FailOpenRedisCache._down:
            FailOpenRedisCache._down = False
            logger.info("Redis cache available again")
        return result

    def get(self, key, default=None, version=None):
        return self._call(super().get, default, key, default, version)

    def set(self, key, value, timeout=None, version=None):  # noqa: A003
        return self._call(super().set, None, key, value, timeout, version)

    def add(self, key, value, timeout=None, version=None):
        return self._call(super().add, False, key, value, timeout, version)

    def incr(self, key, delta=1, version=None):
        return self._call(super().incr, delta, key, delta, version)

    def delete(self, key, version=None):
        return self._call(super().delete, False, key, version)

    def get_many(self, keys, version=None):
        return self._call(super().get_many, {}, keys, version)
