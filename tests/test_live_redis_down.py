"""A live class on Redis goes on where it is hosted while Redis is down; a class nobody here
hosts is refused clearly until Redis is back."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import School
from tests.live import join, live_class, refusal
from tests.redis_server import RedisServer
from web.app import create_app
from web.settings import Settings


async def test_the_hosted_class_goes_on_and_others_are_refused_clearly(
    settings: Settings,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    db: async_sessionmaker[AsyncSession],
) -> None:
    redis = RedisServer()
    await redis.start()
    try:
        config = dataclasses.replace(settings, redis_url=redis.url, process_name="http://a")
        server = await aiohttp_server(create_app(config))

        async def new_client() -> TestClient[Any, Any]:
            return await aiohttp_client(server)

        school = School(server, db, new_client)
        hosted = await live_class(school, students=1)
        other = await live_class(school, students=0)
        tutor = await join(school, *hosted.tutor, hosted.lesson["id"])
        await redis.kill()
        student = await join(school, *hosted.students[0], hosted.lesson["id"])
        await tutor.call("chat:send", {"text": "still here"})
        assert (await student.events.wait("chat:message"))["text"] == "still here"
        data = await refusal(school, *other.tutor, other.lesson["id"])
        assert data["code"] == "unavailable" and "not reachable just now" in data["message"]
        await redis.start()
        for member in (tutor, student):
            await member.close()
        await server.close()  # while Redis is up: Socket.IO's Redis manager stops at once
    finally:
        await redis.stop()
