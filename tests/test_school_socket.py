"""The /school namespace with real Socket.IO clients: who is online anywhere, in which room,
the coordinators' live view, server-checked roles, error acks for bad payloads."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio
from redis.asyncio import Redis

from classroom.models import Role
from tests.conftest import School, SchoolFactory, Visitor
from tests.live import TIMEOUT, Events, close_refused, join, live_class
from tests.test_presence import REDIS_URL


class Page:
    """One open page of Kelas: its /school socket."""

    def __init__(self, client: socketio.AsyncClient, events: Events) -> None:
        self.client = client
        self.events = events

    async def call(self, name: str, data: Any = None) -> Any:
        return await self.client.call(name, data, namespace="/school", timeout=TIMEOUT)

    async def state(self, match: Any) -> Any:
        """The first school:state pushed to this page that ``match``es."""
        return await self.events.wait("school:state", match)

    def forget(self) -> None:
        """Forget the states received so far: the next ``state`` waits for a newer one."""
        self.events.seen.pop("school:state", None)


async def open_page(school: School, visitor: Visitor | None) -> Page:
    events = Events()
    client = socketio.AsyncClient(reconnection=False)

    @client.on("*", namespace="/school")  # type: ignore[misc]
    async def any_event(name: str, data: Any = None) -> None:
        await events.add(name, data)

    @client.on("connect_error", namespace="/school")  # type: ignore[misc]
    async def refused(data: Any = None) -> None:
        await events.add("connect_error", data)

    headers = {}
    if visitor is not None:
        cookies = visitor.client.session.cookie_jar.filter_cookies(visitor.client.make_url("/"))
        headers["Cookie"] = f"kelas_session={cookies['kelas_session'].value}"
    await client.connect(
        str(school.server.make_url("/")),
        headers=headers,
        namespaces=["/school"],
        transports=["websocket"],
        wait_timeout=5,
    )
    return Page(client, events)


def tutors(state: dict[str, Any]) -> dict[str, Any]:
    return {t["name"]: t for t in state["tutors"]}


async def test_a_coordinator_sees_who_is_online_anywhere_until_the_last_tab_closes(
    school: School,
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    _, tutor = await school.join(Role.TUTOR, "Ayu")
    board = await open_page(school, coordinator)
    first = await open_page(school, tutor)
    second = await open_page(school, tutor)
    await board.state(lambda s: tutors(s).get("Ayu", {}).get("online"))
    await first.client.disconnect()
    ack = await board.call("school:state")
    assert tutors(ack["state"])["Ayu"]["online"], "a tab is still open"
    await second.client.disconnect()
    await board.state(lambda s: "Ayu" not in tutors(s))
    await board.client.disconnect()


async def test_a_coordinator_sees_a_class_in_progress_and_who_is_in_it(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    board = await open_page(school, setup.coordinator)
    ack = await board.call("school:state")
    starting = {c["lesson_id"]: c for c in ack["state"]["starting"]}
    assert [s["name"] for s in starting[lesson_id]["students"]] == ["Student 1", "Student 2"]
    assert starting[lesson_id]["tutor"] == {
        "user_id": setup.tutor[0].id,
        "name": "Tutor",
        "online": False,
        "last_seen": None,
    }

    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)

    def both_in(state: dict[str, Any]) -> bool:
        live = [c for c in state["in_progress"] if c["lesson_id"] == lesson_id]
        return bool(live) and len(live[0]["participants"]) == 2

    state = await board.state(both_in)
    (live,) = state["in_progress"]
    assert live["topic"] == setup.lesson["topic"] and live["tutor_present"]
    assert [(p["name"], p["role"], p["quality"]) for p in live["participants"]] == [
        ("Tutor", "tutor", None),
        ("Student 1", "student", None),
    ]
    assert state["starting"] == []
    await tutor.close()
    state = await board.state(
        lambda s: s["in_progress"] and not s["in_progress"][0]["tutor_present"]
    )
    assert state["in_progress"][0]["tutor"]["last_seen"]  # just left
    assert [p["name"] for p in state["in_progress"][0]["participants"]] == ["Student 1"]
    await student.close()
    await board.client.disconnect()


async def test_only_coordinators_get_the_live_view(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    board = await open_page(school, coordinator)
    _, student = await school.join(Role.STUDENT)
    _, tutor = await school.join(Role.TUTOR, "Ayu")
    pages = [await open_page(school, student), await open_page(school, tutor)]
    for page in pages:
        ack = await page.call("school:state")
        assert ack["error"]["code"] == "forbidden", ack
    # The coordinator is told of the tutor's page; the pages themselves are told nothing.
    await board.state(lambda s: tutors(s).get("Ayu", {}).get("online"))
    for page in pages:
        assert page.events.seen["school:state"] == []
        await page.client.disconnect()
    await board.client.disconnect()


async def test_a_tutor_offers_to_substitute_until_a_time(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    _, tutor = await school.join(Role.TUTOR, "Ayu")
    _, student = await school.join(Role.STUDENT)
    board = await open_page(school, coordinator)
    page = await open_page(school, tutor)
    ack = await page.call("substitute:offer", {"minutes": 30})
    assert ack["ok"] and ack["until"]
    state = await board.state(lambda s: tutors(s).get("Ayu", {}).get("substitute_until"))
    assert tutors(state)["Ayu"]["online"]
    assert (await page.call("substitute:offer", {"minutes": 0})) == {"ok": True, "until": None}
    await board.state(lambda s: "Ayu" in tutors(s) and not tutors(s)["Ayu"]["substitute_until"])
    other = await open_page(school, student)
    ack = await other.call("substitute:offer", {"minutes": 30})
    assert ack["error"]["code"] == "forbidden"
    for p in (board, page, other):
        await p.client.disconnect()


@pytest.mark.parametrize(
    ("event", "data", "code"),
    [
        ("substitute:offer", {"minutes": "30"}, "invalid_payload"),
        ("substitute:offer", {"minutes": -1}, "invalid_payload"),
        ("substitute:offer", {"minutes": 24 * 60 + 1}, "invalid_payload"),
        ("substitute:offer", {"minutes": 30, "extra": 1}, "invalid_payload"),
        ("substitute:offer", "30", "invalid_payload"),
        ("school:state", {"all": True}, "invalid_payload"),
        ("school:everything", None, "unknown_event"),
        ("connect", None, "unknown_event"),
    ],
)
async def test_bad_messages_get_error_acks(
    school: School, event: str, data: Any, code: str
) -> None:
    _, tutor = await school.join(Role.TUTOR)
    page = await open_page(school, tutor)
    ack = await page.call(event, data)
    assert ack["error"]["code"] == code and ack["error"]["message"], ack
    assert (await page.call("substitute:offer", {"minutes": 5}))["ok"]  # still connected
    await page.client.disconnect()


async def test_a_socket_without_a_session_is_refused(school: School) -> None:
    client = socketio.AsyncClient(reconnection=False)
    events = Events()

    @client.on("connect_error", namespace="/school")  # type: ignore[misc]
    async def refused(data: Any = None) -> None:
        await events.add("connect_error", data)

    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            str(school.server.make_url("/")),
            namespaces=["/school"],
            transports=["websocket"],
            wait_timeout=5,
        )
    await close_refused(client)
    assert (await events.wait("connect_error"))["data"]["code"] == "not_authenticated"


async def test_coordinators_hear_of_people_on_other_processes(school_with: SchoolFactory) -> None:
    """Two processes, one Redis: a page opened on one reaches the coordinator on the other."""
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    first = await school_with(redis_url=REDIS_URL, process_name="http://a")
    second = await school_with(redis_url=REDIS_URL, process_name="http://b")
    _, coordinator = await first.join(Role.COORDINATOR)
    user = await first.person(Role.TUTOR, "Ayu")
    board = await open_page(first, coordinator)
    page = await open_page(second, await second.login(user))
    await board.state(lambda s: tutors(s).get("Ayu", {}).get("online"))
    await page.client.disconnect()
    await board.state(lambda s: "Ayu" not in tutors(s))
    await board.client.disconnect()


async def test_a_flood_of_events_is_rate_limited(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    board = await open_page(school, coordinator)
    acks = await asyncio.gather(*(board.call("school:state") for _ in range(20)))
    limited = [a["error"] for a in acks if "error" in a]
    assert limited and all(e["code"] == "rate_limited" and e["retry_after"] > 0 for e in limited)
    assert sum("state" in a for a in acks) >= 10  # the burst went through
    await board.client.disconnect()
