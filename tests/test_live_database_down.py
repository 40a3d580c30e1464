"""PostgreSQL unreachable during a class: joins and chat answer `unavailable`, pages 503, and
a chat message sent again once it is back is stored exactly once. The room goes on, and what it
keeps (classroom/room_state.py) is written again with the first change once it is back."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import make_url

from classroom import room_state
from tests.conftest import SchoolFactory
from tests.live import join, live_class, refusal
from tests.netproxy import TcpProxy
from web.live import LIVE


@pytest.fixture
def postgres_only(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite is a file in the same process: it cannot become unreachable")
    return database_url


async def test_a_class_while_the_database_is_unreachable(
    postgres_only: str, school_with: SchoolFactory, caplog: pytest.LogCaptureFixture
) -> None:
    url = make_url(postgres_only)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    port = await proxy.start()
    proxied = re.sub(r"@[^/]+/", f"@127.0.0.1:{port}/", postgres_only)
    school = await school_with(database_url=proxied)
    try:
        setup = await live_class(school, students=2)
        lesson_id = setup.lesson["id"]
        tutor = await join(school, *setup.tutor, lesson_id)
        student = await join(school, *setup.students[0], lesson_id)
        proxy.cut()
        typed = {"text": "typed while the database was away", "key": "k-0001-abcdef"}
        ack = await student.call("chat:send", typed)
        assert ack["error"]["code"] == "unavailable", ack
        assert "try again in a moment" in ack["error"]["message"]
        assert (await refusal(school, *setup.students[1], lesson_id))["code"] == "unavailable"
        status, page = await setup.coordinator.page(f"/classes/{lesson_id}")
        assert status == 503 and "try again in a moment" in page
        status, body = await setup.coordinator.api("GET", "/api/v1/classes")
        assert status == 503 and body["error"]["code"] == "unavailable", body
        # Media and the room itself go on: a hand goes up and the tutor sees it.
        assert (await student.call("hand:raise")).get("ok")
        await tutor.events.wait("hands", lambda h: h["hands"] == [student.user.id])
        keeper = school.server.app[LIVE].deps.keeper
        await keeper.settled()
        assert "room state not saved (database unreachable)" in caplog.text
        proxy.restore()
        first = await student.call("chat:send", typed)
        again = await student.call("chat:send", typed)  # the ack was lost: the page resends
        assert first.get("ok") and again == first
        messages = (await tutor.call("chat:since", {"after": 0}))["messages"]
        assert [m["text"] for m in messages] == [typed["text"]]
        assert (await tutor.call("control:mute", {"user_id": student.user.id})).get("ok")
        await keeper.settled()
        async with school.maker() as db:
            kept = await room_state.load(db, lesson_id)
        assert kept.hands == (student.user.id,) and kept.restrictions[student.user.id].mic
        for member in (tutor, student):
            await member.close()
    finally:
        await proxy.close()
