"""The late-tutor autopilot with real Socket.IO clients and a clock the test moves: the
waiting room, the alert with ranked substitutes, one-click reassignment reaching the new tutor
and the students, a tutor who drops mid-class, nudges, and punctuality."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select

from classroom import autopilot
from classroom.models import LessonAlert, Message, Role
from tests.conftest import School, SchoolFactory
from tests.helpers import Clock, local_at, new_class, utc
from tests.live import join, live_class
from tests.test_presence import REDIS_URL
from tests.test_school_socket import open_page

FAST = {"autopilot_interval": 0.05}


def alerts(state: dict[str, Any]) -> list[dict[str, Any]]:
    return list(state["alerts"])


async def messages(school: School, user_id: int) -> list[str]:
    async with school.maker() as db:
        rows = await db.scalars(select(Message.kind).where(Message.user_id == user_id))
        return list(rows)


async def test_a_late_tutor_is_replaced_in_one_click(school_with: SchoolFactory) -> None:
    clock = Clock()
    school = await school_with(clock=clock, **FAST)
    setup = await live_class(school, students=1)
    lesson = setup.lesson
    starts = utc(lesson["starts_at"])
    # Four other tutors: Budi online and offering to substitute; Citra has taught this level;
    # Dewi teaches another class at that time; Eko is free and new.
    budi = await school.join(Role.TUTOR, "Budi")
    citra = await school.join(Role.TUTOR, "Citra")
    dewi = await school.join(Role.TUTOR, "Dewi")
    eko = await school.join(Role.TUTOR, "Eko")
    await new_class(setup.coordinator, hours=48, tutor_id=citra[0].id)
    # At the same minute as the class: "three minutes from now" could fall in the next one.
    other = {"starts_local": local_at(starts), "tutor_id": dewi[0].id, "topic": "Other class"}
    await new_class(setup.coordinator, **other)
    budi_page = await open_page(school, budi[1])
    assert "until" in await budi_page.call("substitute:offer", {"minutes": 60})
    board = await open_page(school, setup.coordinator)
    _, second = await school.join(Role.COORDINATOR, "Second coordinator")
    other_board = await open_page(school, second)

    # A student who arrives first waits for a named tutor, not in an empty room.
    student = await join(school, *setup.students[0], lesson["id"])
    hello = await student.call("hello", {"after": 0})
    assert hello["room"]["tutor"] == {"name": "Tutor", "state": "awaited"}

    clock.move_to(starts + timedelta(minutes=2, seconds=1))
    state = await board.state(lambda s: len(alerts(s)) == 2)
    assert {a["tutor"] for a in alerts(state)} == {"Tutor", "Dewi"}  # Dewi is late too
    (alert,) = [a for a in alerts(state) if a["lesson_id"] == lesson["id"]]
    assert (alert["kind"], alert["tutor"]) == ("late", "Tutor")
    ranked = [(s["name"], s["online"], s["qualified"]) for s in alert["substitutes"]]
    assert ranked == [("Budi", True, False), ("Citra", False, True), ("Eko", False, False)]
    assert alert["substitutes"][0]["substitute_until"]
    await other_board.state(lambda s: len(alerts(s)) == 2)  # every coordinator has it

    other_board.forget()
    ack = await board.call(
        "alert:reassign", {"alert_id": alert["alert_id"], "tutor_id": budi[0].id}
    )
    assert ack == {"ok": True}
    called = await budi_page.events.wait("school:called")
    assert called["lesson_id"] == lesson["id"]
    assert called["join_url"] == f"/classes/{lesson['id']}/live"
    assert (await student.events.wait("room:tutor")) == {"name": "Budi"}
    await other_board.state(lambda s: [a["tutor"] for a in alerts(s)] == ["Dewi"])  # for all
    again = await other_board.call(
        "alert:reassign", {"alert_id": alert["alert_id"], "tutor_id": eko[0].id}
    )
    assert again["error"]["code"] == "conflict"

    # The old tutor can no longer teach it; the new one can, and the students see them.
    from tests.live import refusal

    assert (await refusal(school, *setup.tutor, lesson["id"]))["code"] == "forbidden"
    substitute = await join(school, *budi, lesson["id"])
    await student.events.wait(
        "room:updated", lambda r: r["tutor"] == {"name": "Budi", "state": "present"}
    )
    assert "substitution_removed" in await messages(school, setup.tutor[0].id)
    assert "substitution_assigned" in await messages(school, budi[0].id)

    async with school.maker() as db:
        record = await autopilot.punctuality(db, starts, starts + timedelta(minutes=1))
        (row,) = await db.scalars(
            select(LessonAlert).where(
                LessonAlert.lesson_id == lesson["id"], LessonAlert.kind == "late"
            )
        )
    assert (row.resolution, row.substitute_id, row.resolved_by) == (
        "reassigned",
        budi[0].id,
        setup.coordinator.user["id"],
    )
    late = {(p.tutor_id, p.minutes_late, p.substituted_by) for p in record}
    assert late == {(setup.tutor[0].id, None, budi[0].id), (budi[0].id, 2, None)}
    for client in (substitute, student):
        await client.close()
    for page in (board, other_board, budi_page):
        await page.client.disconnect()


async def test_a_tutor_who_drops_is_awaited_then_alerted_then_welcomed_back(
    school_with: SchoolFactory,
) -> None:
    clock = Clock()
    school = await school_with(clock=clock, **FAST)
    setup = await live_class(school, students=1)
    starts = utc(setup.lesson["starts_at"])
    board = await open_page(school, setup.coordinator)
    student = await join(school, *setup.students[0], setup.lesson["id"])
    tutor = await join(school, *setup.tutor, setup.lesson["id"])
    await student.events.wait("room:updated", lambda r: r["tutor"]["state"] == "present")
    clock.move_to(starts + timedelta(minutes=5))
    await student.call("hand:raise")

    await tutor.client.disconnect()  # their home internet fails
    await student.events.wait("room:updated", lambda r: r["tutor"]["state"] == "reconnecting")
    ack = await board.call("school:state")
    assert alerts(ack["state"]) == []  # not before the grace time
    clock.move_to(starts + timedelta(minutes=6, seconds=31))
    state = await board.state(lambda s: alerts(s))
    assert [(a["kind"], a["tutor"]) for a in alerts(state)] == [("dropped", "Tutor")]

    board.forget()
    back = await join(school, *setup.tutor, setup.lesson["id"])
    await board.state(lambda s: not alerts(s))
    hello = await back.call("hello", {"after": 0})
    assert hello["room"]["hands"] == [setup.students[0][0].id]  # the room kept its state
    async with school.maker() as db:
        (row,) = await db.scalars(select(LessonAlert).where(LessonAlert.kind == "dropped"))
    assert row.resolution == "tutor_arrived"
    await back.close()
    await student.close()
    await board.client.disconnect()


async def test_a_tutor_not_online_before_class_is_nudged_once(school_with: SchoolFactory) -> None:
    clock = Clock()
    school = await school_with(clock=clock, **FAST)
    setup = await live_class(school, students=0)
    _, online = await school.join(Role.TUTOR, "Online tutor")
    page = await open_page(school, online)
    board = await open_page(school, setup.coordinator)
    # Only once every look of the autopilot sees that tutor online is their class made.
    await board.state(lambda s: any(t["name"] == "Online tutor" for t in s["tutors"]))
    other = await new_class(setup.coordinator, hours=0.05, tutor_id=online.user["id"])
    starts = utc(setup.lesson["starts_at"])
    clock.move_to(starts - timedelta(minutes=9))

    def nudged(state: dict[str, Any]) -> bool:
        return any(c["tutor_nudged"] for c in state["starting"])

    state = await board.state(nudged)
    assert [c["lesson_id"] for c in state["starting"] if c["tutor_nudged"]] == [setup.lesson["id"]]
    assert (await messages(school, setup.tutor[0].id)).count("tutor_nudge") == 1
    async with school.maker() as db:
        nudges = list(await db.scalars(select(LessonAlert).where(LessonAlert.kind == "nudge")))
    assert [(n.lesson_id, n.resolution) for n in nudges] == [(setup.lesson["id"], "sent")]
    assert other["lessons"][0]["id"] not in [n.lesson_id for n in nudges]  # that tutor is online
    await page.client.disconnect()
    await board.client.disconnect()


async def test_only_coordinators_act_on_alerts_and_bad_payloads_are_refused(
    school: School,
) -> None:
    _, tutor = await school.join(Role.TUTOR)
    _, coordinator = await school.join(Role.COORDINATOR)
    page = await open_page(school, tutor)
    board = await open_page(school, coordinator)
    for name, data in [
        ("alert:reassign", {"alert_id": 1, "tutor_id": 1}),
        ("alert:dismiss", {"alert_id": 1}),
    ]:
        assert (await page.call(name, data))["error"]["code"] == "forbidden"
    for data in [None, {}, {"alert_id": 0}, {"alert_id": "1"}, {"alert_id": 2**40}, [1], "x"]:
        ack = await board.call("alert:dismiss", data)
        assert ack["error"]["code"] == "invalid_payload", (data, ack)
    ack = await board.call("alert:dismiss", {"alert_id": 424242})
    assert ack["error"]["code"] == "not_found"
    ack = await board.call("alert:reassign", {"alert_id": 1, "tutor_id": 1, "extra": True})
    assert ack["error"]["code"] == "invalid_payload"
    await page.client.disconnect()
    await board.client.disconnect()


async def test_an_alert_reaches_a_coordinator_on_another_process_and_is_acted_on_there(
    school_with: SchoolFactory,
) -> None:
    """The class's home is one process; the coordinator is connected to another. Both look
    at the school; the alert is raised once; the reassignment reaches the room's process."""
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    clock = Clock()
    home = await school_with(clock=clock, redis_url=REDIS_URL, process_name="http://a", **FAST)
    other = await school_with(clock=clock, redis_url=REDIS_URL, process_name="http://b", **FAST)
    setup = await live_class(home, students=1)
    substitute = await home.person(Role.TUTOR, "Budi")
    student = await join(home, *setup.students[0], setup.lesson["id"])
    board = await open_page(other, await other.login(await _user(home, setup.coordinator)))
    called = await open_page(other, await other.login(substitute))
    clock.move_to(utc(setup.lesson["starts_at"]) + timedelta(minutes=3))
    state = await board.state(lambda s: alerts(s))
    (alert,) = alerts(state)
    ack = await board.call(
        "alert:reassign", {"alert_id": alert["alert_id"], "tutor_id": substitute.id}
    )
    assert ack == {"ok": True}
    assert (await student.events.wait("room:tutor")) == {"name": "Budi"}
    assert (await called.events.wait("school:called"))["lesson_id"] == setup.lesson["id"]
    async with home.maker() as db:
        raised = list(await db.scalars(select(LessonAlert).where(LessonAlert.kind == "late")))
    assert len(raised) == 1  # two processes looked; one alert
    await student.close()
    await board.client.disconnect()
    await called.client.disconnect()


async def _user(school: School, visitor: Any) -> Any:
    from classroom.models import User

    async with school.maker() as db:
        return await db.get(User, visitor.user["id"])
