"""Presence and class homes, on both backends: in memory and a real Redis server; and with
Redis, what happens when it goes down, comes back empty, or a process dies."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from classroom.errors import Unavailable
from signaling.presence import MemoryPresence, Presence, RedisPresence, Seen
from signaling.protocol import Quality
from tests.redis_server import RedisServer

REDIS_URL = os.environ.get("KELAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).parent.parent
AYU = {"name": "Ayu", "role": "tutor"}
DEWI = {"name": "Dewi", "role": "student"}
EKO = {"name": "Eko", "role": "student"}


async def flush(url: str) -> None:
    redis = Redis.from_url(url)
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture(params=["memory", "redis"])
async def presence(request: pytest.FixtureRequest) -> AsyncIterator[Presence]:
    backend: Presence
    if request.param == "memory":
        backend = MemoryPresence()
    else:
        await flush(REDIS_URL)
        backend = RedisPresence.from_url(REDIS_URL)
    backend.start()
    yield backend
    await backend.close()
    if request.param == "redis":
        await flush(REDIS_URL)


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    server = RedisServer()
    await server.start()
    yield server
    await server.stop()


async def test_who_is_online_where(presence: Presence) -> None:
    await presence.online(7, 1, AYU)
    await presence.online(7, 2, DEWI)
    await presence.online(8, 3, EKO)
    assert await presence.who(7) == {1: AYU, 2: DEWI}
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


async def test_processes_see_each_others_people_and_homes() -> None:
    await flush(REDIS_URL)
    a, b = RedisPresence.from_url(REDIS_URL), RedisPresence.from_url(REDIS_URL)
    try:
        await a.online(7, 1, AYU)
        await b.online(8, 3, EKO)
        assert await b.who(7) == {1: AYU}
        assert await a.live_lessons() == await b.live_lessons() == [7, 8]
        assert await a.claim(7, "a") == "a"
        assert await b.claim(7, "b") == "a"
        await a.offline(7, 1)
        assert await b.who(7) == {}
        assert await b.live_lessons() == [8]
    finally:
        await a.close()
        await b.close()
        await flush(REDIS_URL)


def presence_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.levelname for r in caplog.records if r.name == "signaling.presence"]


async def test_a_live_class_goes_on_while_redis_is_down(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signaling.presence")
    presence = RedisPresence.from_url(redis_server.url, interval=0.2)
    presence.start()
    observer = RedisPresence.from_url(redis_server.url)
    try:
        assert await presence.claim(7, "a") == "a"
        await presence.online(7, 1, AYU)
        await redis_server.kill()
        await presence.online(7, 2, DEWI)
        await presence.offline(7, 1)
        assert await presence.who(7) == {2: DEWI}
        assert await presence.live_lessons() == [7]
        assert await presence.claim(7, "a") == "a"  # held here: the class goes on
        with pytest.raises(Unavailable):
            await presence.claim(8, "a")  # another process may host it: refuse clearly
        await presence.release(8, "a")
        assert presence_logs(caplog) == ["WARNING"]  # once, not once per call

        await redis_server.start()

        async def as_before() -> bool:
            return await observer.who(7) == {2: DEWI} and await observer.live_lessons() == [7]

        await redis_server.until(as_before)
        assert await observer.claim(7, "b") == "a"  # the home came back with the people
        assert presence_logs(caplog) == ["WARNING", "INFO"]
    finally:
        await presence.close()
        await observer.close()


async def test_presence_is_whole_again_soon_after_a_redis_restart(
    redis_server: RedisServer, record_property: pytest.RecordProperty
) -> None:
    """Two processes with the production interval; a third one looks."""
    first, second, observer = (RedisPresence.from_url(redis_server.url) for _ in range(3))
    for backend in (first, second, observer):
        backend.start()
    try:
        await first.online(7, 1, AYU)
        await first.online(7, 2, DEWI)
        await second.online(8, 3, EKO)

        async def everyone() -> bool:
            return (
                await observer.who(7) == {1: AYU, 2: DEWI}
                and await observer.who(8) == {3: EKO}
                and await observer.live_lessons() == [7, 8]
            )

        await redis_server.until(everyone)
        await redis_server.kill()
        await redis_server.start()
        back = time.monotonic()
        await redis_server.until(everyone, timeout=10.0)
        took = time.monotonic() - back
        record_property("presence_recovery_s", round(took, 3))
        print(f"\npresence whole again {took:.3f} s after Redis accepted connections")
    finally:
        for backend in (first, second, observer):
            await backend.close()


HOLDER = """
import asyncio, sys
from signaling.presence import RedisPresence

async def main():
    presence = RedisPresence.from_url(sys.argv[1], interval=0.2, ttl=1.0, lease=2.0)
    presence.start()
    await presence.online(9, 5, {"name": "Gone"})
    assert await presence.claim(9, "dead") == "dead"
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_a_dead_process_leaves_no_ghosts(redis_server: RedisServer) -> None:
    """A process killed with SIGKILL cleans nothing up: its people and its home expire, while
    those of a live process with the same short TTL stay."""
    alive = RedisPresence.from_url(redis_server.url, interval=0.2, ttl=1.0, lease=2.0)
    alive.start()
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-c", HOLDER, redis_server.url),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 10.0) == b"ready\n"
        await alive.online(9, 6, EKO)
        assert await alive.who(9) == {5: {"name": "Gone"}, 6: EKO}
        assert await alive.claim(9, "alive") == "dead"
        holder.kill()
        await holder.wait()
        died = time.monotonic()

        async def only_the_living() -> bool:
            return await alive.who(9) == {6: EKO}

        await redis_server.until(only_the_living, timeout=10.0)
        gone = time.monotonic() - died

        async def home_free() -> bool:
            return await alive.claim(9, "alive") == "alive"

        await redis_server.until(home_free, timeout=10.0)
        print(f"\ndead process's people gone after {gone:.2f} s (TTL 1 s), its home freed")
        assert await alive.who(9) == {6: EKO}
        assert await alive.live_lessons() == [9]
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await alive.close()


# -- who has Kelas open, anywhere -------------------------------------------------------


def online(seen: dict[int, Seen]) -> dict[int, tuple[str, int | None, str | None]]:
    return {user: (s.name, s.lesson_id, s.quality and s.quality.grade) for user, s in seen.items()}


async def test_open_sockets_make_a_person_online_until_the_last_closes(
    presence: Presence,
) -> None:
    before = time.time()
    await presence.opened(1, "tab-1", AYU)
    await presence.opened(1, "tab-2", AYU)
    await presence.opened(2, "tab-3", DEWI)
    found = await presence.everyone()
    assert online(found) == {1: ("Ayu", None, None), 2: ("Dewi", None, None)}
    assert found[1].role == "tutor" and found[2].role == "student"
    assert before <= found[1].since <= found[1].seen <= time.time()
    await presence.closed(1, "tab-1")
    assert set(await presence.everyone()) == {1, 2}
    await presence.closed(1, "tab-2")
    await presence.closed(2, "never-opened")  # a stray close changes nothing
    assert online(await presence.everyone()) == {2: ("Dewi", None, None)}


async def test_everyone_says_which_room_and_its_quality(presence: Presence) -> None:
    await presence.opened(1, "a", AYU)
    await presence.opened(2, "b", DEWI)
    await presence.opened(3, "c", EKO)
    await presence.online(7, 1, AYU)
    poor = {"grade": "poor", "rtt_ms": 700, "loss": 0.1}
    await presence.online(7, 2, {**DEWI, "quality": poor})
    await presence.online(7, 3, {**EKO, "quality": "good"})  # not a shape this version reads
    found = await presence.everyone()
    assert online(found) == {1: ("Ayu", 7, None), 2: ("Dewi", 7, "poor"), 3: ("Eko", 7, None)}
    assert found[2].quality == Quality(grade="poor", rtt_ms=700, loss=0.1)
    await presence.offline(7, 3)
    await presence.offline(7, 2)
    assert online(await presence.everyone())[2] == ("Dewi", None, None)
    # In a class room with no other page open (the class page has its own socket): online.
    await presence.closed(2, "b")
    await presence.online(8, 2, {**DEWI, "role": "observer"})
    found = await presence.everyone()
    assert online(found)[2] == ("Dewi", 8, None) and found[2].role == "coordinator"


async def test_an_offer_to_substitute_expires_by_itself(presence: Presence) -> None:
    now = time.time()
    await presence.offer_substitute(1, now + 1800)
    await presence.offer_substitute(4, now + 60)
    assert await presence.substitutes(now) == {1: now + 1800, 4: now + 60}
    assert await presence.substitutes(now + 61) == {1: now + 1800}
    await presence.offer_substitute(1, now - 1)  # withdrawn
    assert await presence.substitutes(now + 61) == {}


async def test_processes_see_who_is_online_on_the_others() -> None:
    await flush(REDIS_URL)
    a, b = RedisPresence.from_url(REDIS_URL), RedisPresence.from_url(REDIS_URL)
    try:
        await a.opened(1, "a1", AYU)
        await b.opened(1, "b1", AYU)  # two tabs, two processes
        await b.opened(2, "b2", DEWI)
        await b.online(7, 2, DEWI)
        assert online(await a.everyone()) == {1: ("Ayu", None, None), 2: ("Dewi", 7, None)}
        await a.closed(1, "a1")
        assert set(await b.everyone()) == {1, 2}  # the tab on b is still open
        await b.closed(1, "b1")
        assert set(await a.everyone()) == {2}
    finally:
        await a.close()
        await b.close()
        await flush(REDIS_URL)


OPENER = """
import asyncio, sys
from signaling.presence import RedisPresence

async def main():
    presence = RedisPresence.from_url(sys.argv[1])
    presence.start()
    await presence.opened(5, "sid", {"name": "Gone", "role": "tutor"})
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_a_vanished_process_s_people_go_offline_within_ten_seconds(
    redis_server: RedisServer,
) -> None:
    """With the production interval and TTL, a SIGKILLed process's people are offline for
    the others in under 10 s, while a live process's people stay online."""
    alive = RedisPresence.from_url(redis_server.url)
    alive.start()
    opener = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-c", OPENER, redis_server.url),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert opener.stdout is not None
        assert await asyncio.wait_for(opener.stdout.readline(), 10.0) == b"ready\n"
        await alive.opened(6, "sid", EKO)
        assert set(await alive.everyone()) == {5, 6}
        opener.kill()
        await opener.wait()
        died = time.monotonic()

        async def only_the_living() -> bool:
            return set(await alive.everyone()) == {6}

        await redis_server.until(only_the_living, timeout=10.0)
        gone = time.monotonic() - died
        assert gone < 10.0
        print(f"\nvanished process's people offline after {gone:.2f} s")
    finally:
        if opener.returncode is None:
            opener.kill()
            await opener.wait()
        await alive.close()


async def test_while_redis_is_down_offers_are_refused_clearly_and_own_people_stay_online(
    redis_server: RedisServer,
) -> None:
    presence = RedisPresence.from_url(redis_server.url)
    try:
        await presence.opened(1, "a", AYU)
        await presence.offer_substitute(1, time.time() + 600)
        await redis_server.kill()
        with pytest.raises(Unavailable):
            await presence.offer_substitute(1, time.time() + 60)
        assert await presence.substitutes(time.time()) == {}
        await presence.opened(2, "b", DEWI)
        assert set(await presence.everyone()) == {1, 2}
    finally:
        await presence.close()


async def test_last_seen_is_now_while_online_then_when_the_last_tab_closed(
    presence: Presence,
) -> None:
    await presence.opened(1, "a", AYU)
    await presence.opened(1, "b", AYU)
    before = time.time()
    assert (await presence.last_seen([1, 2]))[1] >= before  # online: now; 2 never came
    assert 2 not in await presence.last_seen([1, 2])
    await presence.closed(1, "a")
    await presence.closed(1, "b")
    closed = time.time()
    later = await presence.last_seen([1])
    assert before <= later[1] <= closed
    assert await presence.last_seen([1]) == later  # no longer moves on


async def test_leaving_a_class_room_is_seen_too(presence: Presence) -> None:
    await presence.online(7, 1, AYU)  # the class page alone, no /school socket
    before = time.time()
    await presence.offline(7, 1)
    assert before <= (await presence.last_seen([1]))[1] <= time.time()
