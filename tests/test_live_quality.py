"""Connection quality measured from the receiver reports of real aiortc peers: told to the
class, kept in presence (memory and Redis), shown in the coordinators' live view."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from classroom.models import Role
from tests.conftest import SchoolFactory
from tests.live import join, live_class, lose, publish
from tests.test_presence import REDIS_URL
from tests.test_school_socket import open_page
from web.live import LIVE


def measured(state: dict[str, Any], lesson_id: int, user_id: int) -> dict[str, Any] | None:
    """The quality of ``user_id`` in class ``lesson_id`` as a live view shows it, once it
    has a round trip."""
    for found in state["in_progress"]:
        for person in found["participants"] if found["lesson_id"] == lesson_id else []:
            quality = person["quality"]
            if person["user_id"] == user_id and quality and quality["rtt_ms"] is not None:
                return dict(quality)
    return None


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_each_persons_quality_reaches_the_class_presence_and_the_live_view(
    school_with: SchoolFactory, backend: str
) -> None:
    """With Redis, the class is hosted by one process and the coordinator's view is served
    by another: the quality crosses through presence."""
    if backend == "redis":
        redis = Redis.from_url(REDIS_URL)
        await redis.flushdb()
        await redis.aclose()
        school = await school_with(redis_url=REDIS_URL, process_name="http://a")
        viewer = await school_with(redis_url=REDIS_URL, process_name="http://b")
    else:
        school = viewer = await school_with()
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    board = await open_page(viewer, await viewer.login(await school.person(Role.COORDINATOR)))
    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)
    await publish(tutor)
    await publish(student)

    # The tutor's page hears of the student's connection: a loopback round trip, no loss.
    told = await tutor.events.wait(
        "participant:quality",
        lambda q: q["user_id"] == student.user.id and q["rtt_ms"] is not None,
    )
    assert told["grade"] == "good" and 0 <= told["rtt_ms"] < 1000 and told["loss"] == 0
    for member in (tutor, student):
        state = await board.state(lambda s, m=member: measured(s, lesson_id, m.user.id))  # type: ignore[misc]
        quality = measured(state, lesson_id, member.user.id)
        assert quality is not None and quality["grade"] == "good", quality
        assert 0 <= quality["rtt_ms"] < 1000 and quality["loss"] == 0
    seen = await school.server.app[LIVE].deps.presence.everyone()
    assert seen[student.user.id].lesson_id == lesson_id
    assert seen[student.user.id].quality is not None
    # Someone joining later finds everyone's last measurement in the room's snapshot.
    hello = await student.call("hello", {"after": 0})
    (mine,) = [p for p in hello["room"]["participants"] if p["user_id"] == student.user.id]
    assert mine["quality"]["grade"] == "good"
    for member in (tutor, student):
        await member.close()
    await board.client.disconnect()


async def test_packets_lost_on_the_way_to_a_subscriber_show_as_loss(
    school_with: SchoolFactory,
) -> None:
    """Every 10th RTP packet to the student is lost on the wire and, with no NACK from this
    subscriber, stays lost: their reports say so, and their estimate shows loss."""
    school = await school_with()
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)
    await publish(tutor)
    lose(await publish(student), lambda ssrc, seq: seq % 10 == 0)
    told = await tutor.events.wait(
        "participant:quality", lambda q: q["user_id"] == student.user.id and q["loss"] > 0
    )
    assert told["loss"] <= 0.25  # about one in ten, smoothed
    worse = await tutor.events.wait(
        "participant:quality", lambda q: q["user_id"] == student.user.id and q["grade"] != "good"
    )
    assert worse["loss"] >= 0.02
    for member in (tutor, student):
        await member.close()
