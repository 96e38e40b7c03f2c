"""The Redis channel layer, made to ride out a Redis outage instead of crashing every socket with it.

channels_redis raises on every call while Redis is away. In a consumer's receive loop that ends the
consumer with 1011 and skips its disconnect(), so a two-second Redis restart used to close every student's
and teacher's socket and leak their live state. Here, while Redis is away:
- receives wait and try again, so a socket stays open and its own work (a student's feedback) carries on;
- sends are dropped and counted: teacher events are live views, and the next status replaces a lost one;
- group membership is remembered in this process, because a restarted Redis has forgotten every group; it is
  written again as soon as Redis answers, and then listeners are told (a teacher's socket asks for a fresh
  snapshot).
The log says once that the layer is down and once that it is back.

It works as a circuit breaker with no task of its own: while down, the first call after each PROBE_EVERY_S tries
Redis again (receivers keep calling), so it recovers in whatever event loop is using it, a management command's
short-lived loop included.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial

from channels_redis.core import RedisChannelLayer
from redis.exceptions import MaxConnectionsError, RedisError

logger = logging.getLogger("smartsession.channel_layer")

# What a Redis that is stopped, restarting or unreachable raises through redis-py.
OUTAGE_ERRORS = (RedisError, OSError)
# How often a down layer tries Redis again; a teacher sees updates again within about this long.
PROBE_EVERY_S = 0.5
# A full connection pool is this process's own peak, not an outage: Redis answers. A receive waits it out, and a
# group join or leave is tried again for this long (a lost join would leave a socket out of its group), never
# taking the layer down for everyone.
BUSY_RETRY_S = 2.0
BUSY_PAUSE_S = 0.05

RecoveryListener = Callable[[], Awaitable[None]]


class ResilientRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._groups_here: dict[str, set[str]] = defaultdict(set)  # group -> this process's channels in it
        # Leaving a group while Redis is unreachable (but not restarted) must still reach it, or a closed
        # socket's channel would stay in the group, filling up, until group_expiry.
        self._discards_missed: set[tuple[str, str]] = set()
        # Joins while the layer is down or recovering: a recovery's replay may already have passed their group.
        self._adds_missed: set[tuple[str, str]] = set()
        self._recovery_listeners: dict[str, RecoveryListener] = {}
        self._down_since: float | None = None
        self._next_try_at = 0.0
        self._recovering = False
        self._dropped = 0
        self._busy_drops = 0

    @property
    def available(self) -> bool:
        return self._down_since is None

    def on_recovery(self, channel: str, listener: RecoveryListener | None) -> None:
        """Call `listener` each time the layer is back after an outage (None forgets the channel's listener)."""
        if listener is None:
            self._recovery_listeners.pop(channel, None)
        else:
            self._recovery_listeners[channel] = listener

    async def receive(self, channel: str) -> dict:
        while True:
            if not await self._usable():
                await asyncio.sleep(PROBE_EVERY_S)
                continue
            try:
                return await super().receive(channel)
            except MaxConnectionsError:
                await asyncio.sleep(BUSY_PAUSE_S)
            except OUTAGE_ERRORS as error:
                self._went_down(error)

    async def send(self, channel: str, message: dict) -> None:
        await self._unless_down(super().send(channel, message))

    async def group_send(self, group: str, message: dict) -> None:
        await self._unless_down(super().group_send(group, message))

    async def group_add(self, group: str, channel: str) -> None:
        self._groups_here[group].add(channel)
        self._discards_missed.discard((group, channel))
        if not await self._change_membership(partial(super().group_add, group, channel)):
            self._adds_missed.add((group, channel))

    async def group_discard(self, group: str, channel: str) -> None:
        members = self._groups_here.get(group)
        if members is not None:
            members.discard(channel)
            if not members:
                del self._groups_here[group]
        if not await self._change_membership(partial(super().group_discard, group, channel)):
            self._discards_missed.add((group, channel))

    def groups_here(self) -> dict[str, set[str]]:
        """This process's group memberships (for tests and the readiness check)."""
        return {group: set(channels) for group, channels in self._groups_here.items()}

    async def _unless_down(self, call: Awaitable[None]) -> bool:
        """Whether Redis took the call; while it is away the call is dropped and counted."""
        if not await self._usable():
            call.close()  # never awaited: close the coroutine so Python does not warn about it
            self._dropped += 1
            return False
        try:
            await call
            return True
        except MaxConnectionsError:
            # Drop this one message (the next status replaces it) rather than wait behind the peak.
            self._count_busy_drop()
        except OUTAGE_ERRORS as error:
            self._dropped += 1
            self._went_down(error)
        return False

    async def _change_membership(self, change: Callable[[], Awaitable[None]]) -> bool:
        """A group join or leave, waited for through a full pool; False if Redis is away or stays busy."""
        give_up_at = time.monotonic() + BUSY_RETRY_S
        while await self._usable():
            try:
                await change()
                return True
            except MaxConnectionsError:
                if time.monotonic() >= give_up_at:
                    self._count_busy_drop()
                    return False
                await asyncio.sleep(BUSY_PAUSE_S)
            except OUTAGE_ERRORS as error:
                self._went_down(error)
        return False

    def _count_busy_drop(self) -> None:
        self._busy_drops += 1
        if self._busy_drops == 1 or self._busy_drops % 1000 == 0:
            logger.warning("Channel layer pool full: %d calls dropped so far", self._busy_drops,
                           extra={"event": "channel_layer.pool_full", "dropped": self._busy_drops})

    async def _usable(self) -> bool:
        """True when Redis answers: up all along, or back now (tried at most every PROBE_EVERY_S while down)."""
        if self._down_since is None:
            return True
        if self._recovering or time.monotonic() < self._next_try_at:
            return False
        self._recovering = True
        try:
            await self._recover()
        except OUTAGE_ERRORS:
            self._next_try_at = time.monotonic() + PROBE_EVERY_S
            return False
        finally:
            self._recovering = False
        down_for = time.monotonic() - self._down_since
        self._down_since = None
        logger.warning("Channel layer back after %.1f s; %d messages were dropped meanwhile", down_for, self._dropped,
                       extra={"event": "channel_layer.back", "down_s": round(down_for, 1), "dropped": self._dropped})
        if self._recovery_listeners:
            # After every waiting receiver has looked again (they retry every PROBE_EVERY_S), so that what the
            # listeners ask for (a teacher's snapshot) finds everyone listening.
            loop = asyncio.get_running_loop()
            loop.call_later(PROBE_EVERY_S, lambda: loop.create_task(self._tell_listeners()))
        return True

    async def _tell_listeners(self) -> None:
        for channel, listener in list(self._recovery_listeners.items()):
            try:
                await listener()
            except Exception:  # noqa: BLE001 - one socket's trouble must not keep the others from recovering
                logger.exception("recovery listener of %s failed", channel)

    async def _recover(self) -> None:
        # Pooled connections to a restarted Redis are dead; nobody uses them while the layer is down.
        await self.close_pools()
        for index in range(self.ring_size):
            await self.connection(index).ping()
        # A restarted Redis has no groups: write this process's memberships again before anyone sends. Sockets
        # join and leave meanwhile: what changed after the replay passed it is then written until nothing is left.
        self._adds_missed.clear()
        for group, channels in list(self._groups_here.items()):
            for channel in list(channels):
                await super().group_add(group, channel)
        while self._adds_missed or self._discards_missed:
            missed, joined = (self._adds_missed, True) if self._adds_missed else (self._discards_missed, False)
            group, channel = next(iter(missed))
            if joined and channel in self._groups_here.get(group, ()):
                await super().group_add(group, channel)
            elif not joined and channel not in self._groups_here.get(group, ()):
                await super().group_discard(group, channel)
            missed.discard((group, channel))  # only once Redis took it: an outage meanwhile keeps it for next time

    def _went_down(self, error: BaseException) -> None:
        if self._down_since is not None:
            return
        self._down_since = time.monotonic()
        self._next_try_at = self._down_since + PROBE_EVERY_S
        self._dropped = 0
        logger.error("Channel layer down (%s: %s); sockets stay open, teacher events are dropped until it is back",
                     type(error).__name__, error, extra={"event": "channel_layer.down"})
