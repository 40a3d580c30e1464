"""The live room over real Socket.IO connections: admission, chat, hands, tutor controls."""

from __future__ import annotations

import asyncio

import pytest

from classroom.models import Role
from tests.conftest import School
from tests.live import close_refused, join, live_class, refusal, refused


async def test_only_the_tutor_booked_students_and_coordinators_may_join(school: School) -> None:
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    stranger = await school.join(Role.STUDENT, "Not booked")
    other_tutor = await school.join(Role.TUTOR, "Other tutor")
    assert "booked" in await refused(school, *stranger, lesson_id)
    assert "tutor of this class" in await refused(school, *other_tutor, lesson_id)
    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)
    coordinator_user = await school.person(Role.COORDINATOR)
    observer = await join(school, coordinator_user, await school.login(coordinator_user), lesson_id)
    hello = await observer.call("hello", {"after": 0})
    roles = {p["name"]: p["role"] for p in hello["room"]["participants"]}
    assert roles == {"Tutor": "tutor", "Student 1": "student", coordinator_user.name: "observer"}
    assert (await observer.call("media:state", {"mic": True, "cam": False}))["error"][
        "code"
    ] == "forbidden"
    for member in (tutor, student, observer):
        await member.close()


async def test_the_join_window_opens_ten_minutes_before_the_start(school: School) -> None:
    setup = await live_class(school, students=1, starts_in_hours=1)
    message = await refused(school, *setup.tutor, setup.lesson["id"])
    assert "10 minutes before the start" in message


async def test_anonymous_and_malformed_connections_are_refused(school: School) -> None:
    import socketio

    setup = await live_class(school, students=0)
    client = socketio.AsyncClient(reconnection=False)
    errors: list[object] = []
    client.on("connect_error", errors.append, namespace="/class")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            str(school.server.make_url("/")),
            auth={"lesson_id": setup.lesson["id"]},
            namespaces=["/class"],
            transports=["websocket"],
            wait_timeout=5,
        )
    await close_refused(client)
    assert errors and "log in" in str(errors[0])
    assert "which class" in await refused(school, *setup.tutor, "nonsense")  # type: ignore[arg-type]


async def test_chat_is_ordered_stored_and_caught_up_after_a_reconnect(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    first = await join(school, *setup.students[0], lesson_id)
    texts = [f"hello {n}" for n in range(5)]
    acks = await asyncio.gather(*(first.call("chat:send", {"text": t}) for t in texts))
    assert sorted(a["seq"] for a in acks) == [1, 2, 3, 4, 5]
    by_seq = [text for _, text in sorted(zip((a["seq"] for a in acks), texts, strict=True))]
    await tutor.events.wait("chat:message", lambda m: m["seq"] == 5)
    assert [m["seq"] for m in tutor.events.seen["chat:message"]] == [1, 2, 3, 4, 5]
    late = await join(school, *setup.students[1], lesson_id)
    hello = await late.call("hello", {"after": 0})
    assert [m["text"] for m in hello["chat"]] == by_seq
    await first.close()  # drops off, misses messages 6 and 7, then comes back
    await tutor.call("chat:send", {"text": "six"})
    await tutor.call("chat:send", {"text": "seven"})
    back = await join(school, *setup.students[0], lesson_id)
    missed = await back.call("chat:since", {"after": 5})
    assert [(m["seq"], m["text"]) for m in missed["messages"]] == [(6, "six"), (7, "seven")]
    bad = await back.call("chat:send", {"text": "x" * 5000})
    assert bad["error"]["code"] == "invalid_payload"
    assert (await back.call("chat:send", "not an object"))["error"]["code"] == "invalid_payload"
    for member in (tutor, late, back):
        await member.close()


async def test_rejoining_replaces_the_old_connection_without_a_ghost(school: School) -> None:
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)
    again = await join(school, *setup.students[0], lesson_id)
    hello = await tutor.call("hello", {"after": 0})
    assert sorted(p["name"] for p in hello["room"]["participants"]) == ["Student 1", "Tutor"]
    await asyncio.wait_for(_disconnected(student), 5)
    assert "participant:left" not in tutor.events.seen
    for member in (tutor, again):
        await member.close()


async def _disconnected(member: object) -> None:
    client = member.client  # type: ignore[attr-defined]
    while client.connected:
        await client.sleep(0.05)


async def test_hands_form_an_ordered_queue_the_tutor_can_lower(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    one = await join(school, *setup.students[0], lesson_id)
    two = await join(school, *setup.students[1], lesson_id)
    await two.call("hand:raise")
    await one.call("hand:raise")
    order = [setup.students[1][0].id, setup.students[0][0].id]
    await tutor.events.wait("hands", lambda h: h["hands"] == order)
    assert (await one.call("hand:lower", {"user_id": two.user.id}))["error"]["code"] == "forbidden"
    assert (await tutor.call("hand:raise"))["error"]["code"] == "forbidden"
    await tutor.call("hand:lower", {"user_id": two.user.id})
    await tutor.events.wait("hands", lambda h: h["hands"] == [one.user.id])
    await two.call("hand:raise")
    await tutor.call("hand:lower_all")
    await tutor.events.wait("hands", lambda h: h["hands"] == [])
    for member in (tutor, one, two):
        await member.close()


async def test_tutor_controls_are_enforced_by_the_server(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    one = await join(school, *setup.students[0], lesson_id)
    two = await join(school, *setup.students[1], lesson_id)
    for student in (one, two):
        assert (await student.call("media:state", {"mic": True, "cam": True})).get("ok")
    # Students cannot use tutor controls.
    for name, data in [("control:mute", {"user_id": two.user.id}), ("control:mute_all", None),
                       ("control:lock", {"locked": True}), ("control:end", None),
                       ("control:remove", {"user_id": two.user.id})]:  # fmt: skip
        assert (await one.call(name, data))["error"]["code"] == "forbidden", name
    # Mute: the student cannot unmute until allowed.
    assert (await tutor.call("control:mute", {"user_id": one.user.id})).get("ok")
    await one.events.wait("you:muted")
    denied = await one.call("media:state", {"mic": True, "cam": True})
    assert denied["error"]["code"] == "forbidden" and "muted you" in denied["error"]["message"]
    await tutor.call("control:allow_unmute", {"user_id": one.user.id})
    assert (await one.call("media:state", {"mic": True, "cam": True})).get("ok")
    # Request to unmute: nothing opens until the student accepts.
    await tutor.call("control:mute", {"user_id": one.user.id})
    assert (await one.call("unmute:accept"))["error"]["code"] == "conflict"
    await tutor.call("control:request_unmute", {"user_id": one.user.id})
    await one.events.wait("you:unmute_requested")
    assert (await one.call("unmute:accept")).get("ok")
    await tutor.events.wait(
        "participant:updated", lambda p: p["user_id"] == one.user.id and p["mic"]
    )
    # Mute all, camera off, spotlight.
    await tutor.call("control:mute_all")
    await two.events.wait("you:muted")
    await tutor.call("control:camera_off", {"user_id": two.user.id})
    await two.events.wait("you:camera_off")
    assert (await two.call("media:state", {"mic": False, "cam": True}))["error"][
        "code"
    ] == "forbidden"
    await tutor.call("control:allow_camera", {"user_id": two.user.id})
    await two.events.wait("you:may_use_camera")
    assert (await two.call("media:state", {"mic": False, "cam": True})).get("ok")
    await tutor.call("control:spotlight", {"user_id": two.user.id})
    plan = await two.events.wait("media:plan")
    assert plan["camera"]["max_bitrate"] == 1_000_000
    # Lock: nobody new gets in; then remove: the student is out for good.
    await tutor.call("control:lock", {"locked": True})
    await two.close()
    assert "locked" in await refused(school, *setup.students[1], lesson_id)
    await tutor.call("control:lock", {"locked": False})
    assert (await tutor.call("control:remove", {"user_id": one.user.id})).get("ok")
    await one.events.wait("you:removed")
    assert "removed you" in await refused(school, *setup.students[0], lesson_id)
    # End: everyone is out, and the class cannot be rejoined.
    back = await join(school, *setup.students[1], lesson_id)
    await tutor.call("control:end")
    await back.events.wait("room:ended")
    assert "ended" in await refused(school, *setup.students[1], lesson_id)
    for member in (tutor, back):
        await member.close()


async def test_a_muted_student_stays_muted_after_reconnecting(school: School) -> None:
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)
    await tutor.call("control:mute", {"user_id": student.user.id})
    await tutor.call("control:camera_off", {"user_id": student.user.id})
    await student.close()
    await tutor.events.wait("participant:left")
    back = await join(school, *setup.students[0], lesson_id)
    hello = await back.call("hello", {"after": 0})
    assert hello["me"]["mic_blocked"] and hello["me"]["cam_blocked"]
    denied = await back.call("media:state", {"mic": True, "cam": False})
    assert denied["error"]["code"] == "forbidden"
    for member in (tutor, back):
        await member.close()


async def test_two_processes_share_redis_and_a_class_lives_in_one(
    settings: object, aiohttp_server: object, aiohttp_client: object, db: object
) -> None:
    """Two app processes on one database and one Redis: the class's home is the process the
    tutor joined; the other refuses and names it, as a refusal to try again soon (behind the
    proxy's routing by class, a home that has just died: docs/deployment.md)."""
    import dataclasses

    from redis.asyncio import Redis

    from tests.conftest import School
    from tests.test_presence import REDIS_URL
    from web.app import create_app

    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    schools = []
    for name in ("http://process-a", "http://process-b"):
        config = dataclasses.replace(settings, redis_url=REDIS_URL, process_name=name)  # type: ignore[type-var]
        server = await aiohttp_server(create_app(config))  # type: ignore[operator]

        async def new_client(server: object = server) -> object:
            return await aiohttp_client(server)  # type: ignore[operator]

        schools.append(School(server, db, new_client))  # type: ignore[arg-type]
    first, second = schools
    setup = await live_class(first, students=1)
    tutor = await join(first, *setup.tutor, setup.lesson["id"])
    user, _ = setup.students[0]
    visitor = await second.login(user)
    data = await refusal(second, user, visitor, setup.lesson["id"])
    assert data["code"] == "unavailable" and data["retry_after"] == 1.0, data
    assert data["home"] == "http://process-a"
    assert "not reachable just now" in data["message"]  # the name is for the page, not people
    student = await join(first, user, await first.login(user), setup.lesson["id"])
    await tutor.call("chat:send", {"text": "through the Redis manager"})
    await student.events.wait("chat:message")
    for member in (tutor, student):
        await member.close()


async def test_sockets_from_other_sites_are_refused(school: School) -> None:
    import socketio

    setup = await live_class(school, students=0)
    user, visitor = setup.tutor
    cookies = visitor.client.session.cookie_jar.filter_cookies(visitor.client.make_url("/"))
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            str(school.server.make_url("/")),
            headers={
                "Cookie": f"kelas_session={cookies['kelas_session'].value}",
                "Origin": "https://evil.example",
            },
            auth={"lesson_id": setup.lesson["id"]},
            namespaces=["/class"],
            transports=["websocket"],
            wait_timeout=5,
        )
    assert not client.connected
    await close_refused(client)
