"""Presence and class homes, on both backends: in memory and a real Redis server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from signaling.presence import MemoryPresence, Presence, RedisPresence

REDIS_URL = os.environ.get("KELAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(params=["memory", "redis"])
async def presence(request: pytest.FixtureRequest) -> AsyncIterator[Presence]:
    if request.param == "memory":
        yield MemoryPresence()
        return
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    await redis.flushdb()
    backend = RedisPresence(redis)
    yield backend
    await redis.flushdb()
    await backend.close()


async def test_who_is_online_where(presence: Presence) -> None:
    await presence.online(7, 1, {"name": "Ayu", "role": "tutor"})
    await presence.online(7, 2, {"name": "Dewi", "role": "student"})
    await presence.online(8, 3, {"name": "Eko", "role": "student"})
    assert await presence.who(7) == {
        1: {"name": "Ayu", "role": "tutor"},
        2: {"name": "Dewi", "role": "student"},
    }
    assert await presence.live_lessons() == [7, 8]
    await presence.offline(8, 3)
    assert await presence.live_lessons() == [7]
    assert await presence.who(8) == {}


async def test_one_process_is_home_to_a_class(presence: Presence) -> None:
    assert await presence.claim(7, "http://a:8081") == "http://a:8081"
    assert await presence.claim(7, "http://b:8082") == "http://a:8081"
    assert await presence.claim(7, "http://a:8081") == "http://a:8081"
    await presence.release(7, "http://b:8082")  # not b's to release
    assert await presence.claim(7, "http://b:8082") == "http://a:8081"
    await presence.release(7, "http://a:8081")
    assert await presence.claim(7, "http://b:8082") == "http://b:8082"
