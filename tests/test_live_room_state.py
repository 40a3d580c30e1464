"""A live class's room outlives its process: raised hands in order, the tutor's mutes, the
spotlight, the lock and an ended class come back when another process (or the same one,
restarted) opens the room on the same database. Real apps, real Socket.IO clients; the kill -9
of a home behind nginx is tests/test_failover.py."""

from __future__ import annotations

from classroom import room_state
from tests.conftest import School, SchoolFactory
from tests.live import join, live_class, refused
from web.live import LIVE


async def kept(school: School) -> None:
    """Until the process has written what its rooms keep (it does so after each change)."""
    await school.server.app[LIVE].deps.keeper.settled()


async def test_hands_mutes_spotlight_and_lock_come_back_in_another_process(
    school: School, school_with: SchoolFactory
) -> None:
    setup = await live_class(school, students=4, capacity=5)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    one, two, three = [await join(school, *s, lesson_id) for s in setup.students[:3]]
    await three.call("hand:raise")
    await one.call("hand:raise")
    for control, data in [
        ("control:mute", {"user_id": one.user.id}),
        ("control:camera_off", {"user_id": two.user.id}),
        ("control:spotlight", {"user_id": three.user.id}),
        ("control:lock", {"locked": True}),
    ]:
        assert (await tutor.call(control, data)).get("ok"), control
    await kept(school)
    # From here on the first process is as good as dead (nothing of it is closed, as after
    # kill -9): everyone comes back to a second process on the same database.
    other = await school_with()
    tutor_back = await join(other, *setup.tutor, lesson_id)
    one_back = await join(other, *setup.students[0], lesson_id)
    hello = await one_back.call("hello", {"after": 0})
    assert hello["me"]["mic_blocked"] and not hello["me"]["cam_blocked"]
    assert hello["room"]["locked"] and hello["room"]["spotlight"] == three.user.id
    assert hello["room"]["hands"] == [one.user.id]  # the first hand is not back yet
    denied = await one_back.call("media:state", {"mic": True, "cam": True})
    assert denied["error"]["code"] == "forbidden" and "muted you" in denied["error"]["message"]
    three_back = await join(other, *setup.students[2], lesson_id)
    await tutor_back.events.wait("hands", lambda h: h["hands"] == [three.user.id, one.user.id])
    plan = (await three_back.call("hello", {"after": 0}))["media"]["plan"]
    assert plan["camera"]["max_bitrate"] == 1_000_000  # still in the spotlight
    two_back = await join(other, *setup.students[1], lesson_id)
    assert (await two_back.call("hello", {"after": 0}))["me"]["cam_blocked"]
    # The lock let back those who were in the room; it still keeps out anyone new.
    assert "locked" in await refused(other, *setup.students[3], lesson_id)
    for member in (tutor, one, two, three, tutor_back, one_back, two_back, three_back):
        await member.close()


async def test_a_restarted_process_keeps_the_raised_hands(
    school: School, school_with: SchoolFactory
) -> None:
    """A restart closes every socket, which is the process going away, not people leaving:
    their hands stay up and their place in a locked room stays theirs."""
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    one, two = [await join(school, *s, lesson_id) for s in setup.students]
    await two.call("hand:raise")
    await one.call("hand:raise")
    await tutor.call("control:lock", {"locked": True})
    # What SIGTERM does to live classes (web/live.py, _close_live); the rest of a server's
    # shutdown waits 5 s for these test clients' WebSockets to close.
    await school.server.app[LIVE].close()
    restarted = await school_with()
    back = [await join(restarted, *p, lesson_id) for p in (setup.tutor, *setup.students)]
    hello = await back[0].call("hello", {"after": 0})
    assert hello["room"]["hands"] == [two.user.id, one.user.id] and hello["room"]["locked"]
    for member in (tutor, one, two, *back):
        await member.close()


async def test_an_ended_class_refuses_joins_in_every_process(
    school: School, school_with: SchoolFactory
) -> None:
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    other = await school_with()  # a second process, already running
    _, visitor = setup.students[0]
    assert "Join the class" in (await visitor.page(f"/classes/{lesson_id}"))[1]
    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)
    assert (await tutor.call("control:end")).get("ok")
    await student.events.wait("room:ended")
    await kept(school)
    assert "ended" in await refused(other, *setup.students[0], lesson_id)
    assert "ended" in await refused(other, *setup.tutor, lesson_id)
    # A reload of the class page no longer offers to join.
    assert "Join the class" not in (await visitor.page(f"/classes/{lesson_id}"))[1]
    async with school.maker() as db:
        assert (await room_state.load(db, lesson_id)).ended
    for member in (tutor, student):
        await member.close()
