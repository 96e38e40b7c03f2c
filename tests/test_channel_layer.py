"""Group messages through the channel layers the settings choose: Redis when REDIS_URL is set, memory otherwise."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import InMemoryChannelLayer
from classroom.layers import ResilientRedisChannelLayer
from django.conf import settings


async def assert_group_send_reaches_a_member(layer) -> None:
    # Unique names: a shared Redis may hold other runs' groups.
    group = f"test.{uuid.uuid4().hex}.teachers"
    member = await layer.new_channel()
    outsider = await layer.new_channel()
    await layer.group_add(group, member)

    await layer.group_send(group, {"type": "student.update", "engagement": 0.75})

    async with asyncio.timeout(5):
        message = await layer.receive(member)
    assert message == {"type": "student.update", "engagement": 0.75}
    # Only members get it: the outsider's receive would wait forever.
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await layer.receive(outsider)
    await layer.group_discard(group, member)


@pytest.mark.redis
async def test_it_delivers_a_group_message_through_redis(redis_url):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "classroom.layers.ResilientRedisChannelLayer"
    assert [host["address"] for host in settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]] == [redis_url]
    # A new layer from our settings, not the process-wide cached one, so it lives on this test's event loop;
    # its own key prefix lets flush() clear this test's keys and nothing else in a shared Redis.
    layer = ResilientRedisChannelLayer(
        **settings.CHANNEL_LAYERS["default"]["CONFIG"], prefix=f"asgi-test-{uuid.uuid4().hex}"
    )
    try:
        await assert_group_send_reaches_a_member(layer)
    finally:
        await layer.flush()
        await layer.close_pools()


async def test_it_delivers_a_group_message_in_memory():
    await assert_group_send_reaches_a_member(InMemoryChannelLayer())


async def test_it_rides_out_a_redis_restart_and_writes_the_groups_again(private_redis):
    redis_server = private_redis
    layer = ResilientRedisChannelLayer(hosts=[{"address": redis_server.url, "socket_timeout": 15}])
    try:
        member, leaver = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("class.T.teachers", member)
        await layer.group_add("class.T.teachers", leaver)
        redis_server.stop()
        await layer.group_send("class.T.teachers", {"type": "student.update"})  # dropped, not raised
        assert not layer.available
        await layer.group_discard("class.T.teachers", leaver)  # while down: remembered
        redis_server.start()  # a restarted Redis has forgotten every group
        receiving = asyncio.ensure_future(layer.receive(member))
        async with asyncio.timeout(5):
            while not layer.available:
                await asyncio.sleep(0.1)
        await layer.group_send("class.T.teachers", {"type": "student.update", "n": 2})
        async with asyncio.timeout(5):
            assert await receiving == {"type": "student.update", "n": 2}
        assert layer.groups_here() == {"class.T.teachers": {member}}
    finally:
        await layer.close_pools()


async def test_it_writes_a_group_joined_while_it_recovers(private_redis):
    # Sockets open while a recovery writes the groups again: one that joins a new group after the replay passed
    # must still be in it (a student's own group is always new), and one that leaves must be gone.
    redis_server = private_redis
    layer = ResilientRedisChannelLayer(hosts=[{"address": redis_server.url, "socket_timeout": 15}])
    try:
        early = [await layer.new_channel() for _ in range(300)]
        for number, channel in enumerate(early):
            await layer.group_add(f"class.T.student.{number}", channel)
        redis_server.stop()
        await layer.group_send("class.T.student.0", {"type": "student.update"})
        assert not layer.available
        redis_server.start()

        late, leaver = await layer.new_channel(), early[-1]

        async def join_during_the_replay():
            # The replay writes the groups in order: once the first is back, it has passed the group list.
            probe = ResilientRedisChannelLayer(hosts=[{"address": redis_server.url}])
            try:
                async with asyncio.timeout(10):
                    while not await probe.connection(0).exists(layer._group_key("class.T.student.0")):
                        await asyncio.sleep(0)
                assert layer._recovering, "still replaying: the join and the leave come in the middle of it"
                await layer.group_add("class.T.late", late)
                await layer.group_discard("class.T.student.299", leaver)
            finally:
                await probe.close_pools()

        async def recover():
            async with asyncio.timeout(10):
                while not layer.available:
                    await layer.group_send("class.T.nobody", {"type": "student.update"})
                    await asyncio.sleep(0.05)

        await asyncio.gather(join_during_the_replay(), recover())
        receiving = asyncio.ensure_future(layer.receive(late))
        await layer.group_send("class.T.late", {"type": "student.update", "n": 1})
        async with asyncio.timeout(5):
            assert await receiving == {"type": "student.update", "n": 1}
        assert not await layer.connection(0).zscore(layer._group_key("class.T.student.299"), leaver)
    finally:
        await layer.close_pools()


async def test_a_full_connection_pool_is_waited_out_not_taken_for_an_outage(private_redis):
    # A pool of one connection, held by a waiting receive: every other call finds the pool full, for real.
    layer = ResilientRedisChannelLayer(hosts=[{"address": private_redis.url, "socket_timeout": 15,
                                               "max_connections": 1}])
    sender = ResilientRedisChannelLayer(hosts=[{"address": private_redis.url, "socket_timeout": 15}])
    try:
        listener, joiner = await layer.new_channel(), await layer.new_channel()
        waiting = asyncio.ensure_future(layer.receive(listener))
        await asyncio.sleep(0.3)
        joining = asyncio.ensure_future(layer.group_add("class.T.teachers", joiner))
        await asyncio.sleep(0.3)
        assert not joining.done() and layer.available, "still trying to join, and the layer is not down"

        await sender.send(listener, {"type": "hello"})  # the receive returns, and frees the pool's connection
        async with asyncio.timeout(5):
            assert await waiting == {"type": "hello"}
            await joining
        await sender.group_send("class.T.teachers", {"type": "student.update"})
        async with asyncio.timeout(5):
            assert await layer.receive(joiner) == {"type": "student.update"}, "the join reached Redis"
        assert layer.available
    finally:
        await layer.close_pools()
        await sender.close_pools()
