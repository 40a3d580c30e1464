"""Socket input a client controls: reserved event names, refusals as data, floods."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import socketio
from socketio.packet import EVENT, Packet

from classroom.models import Role
from tests.conftest import School, SchoolFactory, now
from tests.live import Member, connect, join, live_class, publish, refusal


async def raw_event(member: Member, data: list[Any]) -> None:
    """Send an event packet exactly as given, whatever its name (a hostile client can)."""
    await member.client._send_packet(Packet(EVENT, namespace="/class", data=data))


async def test_reserved_event_names_sent_by_a_client_are_refused(school: School) -> None:
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)
    for name in ("disconnect", "connect", "message", "connect_error", "__init__", "on_hello"):
        ack = await student.call(name, {})
        assert ack["error"]["code"] == "unknown_event", (name, ack)
    for data in ([42, {}], [None], [{"not": "a name"}], ["disconnect", "transport close"]):
        await raw_event(student, data)
    # The student is still in the room, still reads the chat, and the tutor can remove them.
    hello = await tutor.call("hello", {"after": 0})
    assert student.user.id in [p["user_id"] for p in hello["room"]["participants"]]
    await tutor.call("chat:send", {"text": "still here?"})
    await student.events.wait("chat:message", lambda m: m["text"] == "still here?")
    assert (await tutor.call("control:remove", {"user_id": student.user.id})).get("ok")
    await student.events.wait("you:removed")
    left = await tutor.events.wait("participant:left")
    assert left == {"user_id": student.user.id, "reason": "removed"}
    await tutor.close()


async def test_a_refusal_reaches_the_client_as_code_and_message(school: School) -> None:
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    stranger = await school.join(Role.STUDENT, "Not booked", language="id")
    data = await refusal(school, *stranger, lesson_id)
    assert data["code"] == "forbidden"
    assert "{" not in data["message"] and "code" not in data["message"]
    assert data["message"] != "Only students who booked this class can join it."  # Indonesian
    assert (await refusal(school, *setup.tutor, "nonsense"))["code"] == "forbidden"
    assert (await refusal(school, *setup.tutor, 2**40))["code"] == "forbidden"
    assert (await refusal(school, *setup.tutor, 999_999))["code"] == "not_found"


async def test_event_floods_are_answered_rate_limited_and_slow_nobody_else(
    school_with: SchoolFactory,
) -> None:
    frozen = now()  # no refill while the flood is sent, however slow the machine
    school = await school_with(clock=lambda: frozen)
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    flooder = await join(school, *setup.students[0], lesson_id)
    other = await join(school, *setup.students[1], lesson_id)
    acks = await asyncio.gather(
        *(flooder.call("chat:send", {"text": f"spam {n}"}) for n in range(30))
    )
    limited = [a for a in acks if "error" in a]
    assert 30 - len(limited) == 8  # the burst
    assert {a["error"]["code"] for a in limited} == {"rate_limited"}
    assert all(a["error"]["retry_after"] == 1.0 for a in limited)
    # Clicks have their own bucket, and other people theirs.
    assert (await flooder.call("hand:raise")).get("ok")
    assert (await other.call("chat:send", {"text": "I can still talk"})).get("ok")
    offers = await asyncio.gather(
        *(flooder.call("media:offer", {"type": "offer", "sdp": "v=0 junk"}) for _ in range(12))
    )
    codes = [a["error"]["code"] for a in offers]
    assert codes.count("rate_limited") >= 6 and "internal" not in codes
    for member in (flooder, other):
        await member.close()


async def test_joins_beyond_the_rate_are_refused_per_address(
    school_with: SchoolFactory,
) -> None:
    """Ten joins at once from one address get in, then the rate is five a second; another
    address is not slowed."""
    frozen = now()  # the buckets refill with the app's clock: stopped, only the burst gets in
    school = await school_with(clock=lambda: frozen)
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    user, visitor = setup.students[0]
    clients: list[socketio.AsyncClient] = []
    refusals: list[dict[str, Any]] = []
    for _ in range(14):
        try:
            client, _ = await connect(school, user, visitor, lesson_id)
            clients.append(client)
        except socketio.exceptions.ConnectionError:
            refusals.append(await refusal(school, user, visitor, lesson_id))
            break
    assert len(clients) == 10 and refusals, (len(clients), refusals)
    assert refusals[0]["code"] == "rate_limited" and refusals[0]["retry_after"] == 0.2
    # The same moment, from another loopback address: admitted.
    tutor, tutor_visitor = setup.tutor
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
    elsewhere = socketio.AsyncClient(reconnection=False, http_session=session)
    client, _ = await connect(school, tutor, tutor_visitor, lesson_id, client=elsewhere)
    assert client.connected
    await client.disconnect()
    await session.close()
    for client in clients:
        await client.disconnect()


async def test_only_the_people_whose_slots_moved_are_told(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    one = await join(school, *setup.students[0], lesson_id)
    for member in (tutor, one):
        await publish(member)
    await tutor.events.wait("media:slots", lambda s: one.user.id in s["slots"].values())

    def told() -> list[int]:
        return [len(m.events.seen["media:slots"]) for m in (tutor, one)]

    before = told()
    assert (await tutor.call("control:mute", {"user_id": one.user.id})).get("ok")
    assert (await tutor.call("control:spotlight", {"user_id": one.user.id})).get("ok")
    await one.events.wait("media:plan")
    await tutor.call("hello", {"after": 0})  # a round trip: anything emitted has arrived
    await one.call("hello", {"after": 0})
    assert told() == before  # a mute and a spotlight move no slot
    two = await join(school, *setup.students[1], lesson_id)
    await tutor.events.wait("media:slots", lambda s: two.user.id in s["slots"].values())
    await one.events.wait("media:slots", lambda s: two.user.id in s["slots"].values())
    for member in (tutor, one, two):
        await member.close()


BAD_PAYLOADS = [
    ("chat:send", {"text": "a\x00b"}),  # NUL: PostgreSQL would refuse it
    ("chat:send", {"text": "bell\x07"}),
    ("chat:send", {"text": "\ud800"}),  # a lone surrogate
    ("chat:send", {"text": "x" * 2001}),
    ("chat:send", {"text": "   "}),
    ("chat:send", {"text": "ok", "key": "short"}),
    ("chat:send", {"text": "ok", "key": "bad key with spaces"}),
    ("chat:since", {"after": -1}),
    ("chat:since", {"after": 2**31}),
    ("chat:since", {"after": 10**40}),
    ("chat:since", {"after": 1.5}),
    ("hello", {"after": "0; DROP TABLE"}),
    ("control:mute", {"user_id": 0}),
    ("control:mute", {"user_id": 2**31}),
    ("control:mute", {"user_id": -(2**63)}),
    ("hand:lower", {"user_id": True}),
    ("media:candidate", {"candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host\x00"}),
    ("media:candidate", {"candidate": "c", "sdpMLineIndex": 256}),
    ("hand:raise", {"unexpected": 1}),
    ("media:state", {"mic": "yes", "cam": True}),
]


async def test_bad_numbers_and_text_get_invalid_payload(school: School) -> None:
    setup = await live_class(school, students=1)
    student = await join(school, *setup.students[0], setup.lesson["id"])
    for name, payload in BAD_PAYLOADS:
        ack = await student.call(name, payload)
        assert ack.get("error", {}).get("code") == "invalid_payload", (name, payload, ack)
    assert (await student.call("chat:send", {"text": "two\nlines"})).get("ok")
    await student.close()


async def test_behind_a_trusted_proxy_joins_count_per_client(school_with: SchoolFactory) -> None:
    """Behind nginx every socket comes from the proxy: the join rate counts the address the
    proxy names, as the login limits do, and not the proxy's own."""
    school = await school_with(trusted_proxies=("127.0.0.0/8",))
    setup = await live_class(school, students=1)
    user, visitor = setup.students[0]
    clients = []
    for n in range(14):  # more than one address's burst
        forwarded = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
        client, _ = await connect(school, user, visitor, setup.lesson["id"], headers=forwarded)
        clients.append(client)
    for client in clients:
        await client.disconnect()
