"""The downlink budget with real aiortc peers through the SFU: a subscriber's REMB pauses and
resumes videos, audio only stops video and keeps audio, the last-N policy pauses the others
(signaling/media/budget.py, downlink.py)."""

from __future__ import annotations

import time
from typing import Any

from aiortc.rtp import RtpPacket

from signaling.media import hooks
from tests.conftest import School, SchoolFactory
from tests.live import Bot, Member, join, live_class, publish, slot_of
from web.live import LIVE


async def tutor_and_student(
    school: School, noise: bool = False
) -> tuple[Member, Member, Bot, int, int]:
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    await publish(tutor, noise=noise)
    student = await join(school, *setup.students[0], lesson_id)
    bot = await publish(student)
    index = await slot_of(student, tutor.user.id)
    await bot.until(lambda: bot.keyframes[index] >= 1 and bot.received[("audio", index)] > 5)
    return tutor, student, bot, index, lesson_id


def estimate_link(bot: Bot, index: int) -> dict[str, int]:
    """Make the bot send a REMB for the video of slot ``index`` about twice a second, as
    Chrome does, of ``link["bps"]``: set it to change what the bot says."""
    transceivers = bot.pc.getTransceivers()
    audio, video = transceivers[3 + index].receiver, transceivers[3 + bot.slots + index].receiver
    counted = audio._handle_rtp_packet
    link = {"bps": 0, "packets": 0}

    async def saying(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        link["packets"] += 1
        ssrcs = list(video._RTCRtpReceiver__remote_streams)
        if link["bps"] and ssrcs and link["packets"] % 25 == 0:
            await hooks.send_remb(video, ssrcs[0], link["bps"])
        await counted(packet, arrival_time_ms)

    audio._handle_rtp_packet = saying
    return link


async def stopped_while_audio_flows(bot: Bot, index: int) -> None:
    """Video into slot ``index`` has stopped (a packet or two in flight aside) while a
    second of audio arrived."""
    video, audio = bot.received[("video", index)], bot.received[("audio", index)]
    await bot.until(lambda: bot.received[("audio", index)] >= audio + 50)
    assert bot.received[("video", index)] <= video + 3


async def flows_again(bot: Bot, index: int) -> None:
    """Video into slot ``index`` starts again, from a keyframe."""
    video, keyframes = bot.received[("video", index)], bot.keyframes[index]
    await bot.until(
        lambda: bot.keyframes[index] > keyframes and bot.received[("video", index)] > video + 10
    )


async def test_a_thin_link_pauses_video_and_a_wide_one_brings_it_back(school: School) -> None:
    """The tutor's camera sends what the server plans for it (1 Mbit/s); the student's
    browser says its link carries 300 kbit/s, then 3 Mbit/s."""
    tutor, student, bot, index, lesson_id = await tutor_and_student(school, noise=True)
    link = estimate_link(bot, index)
    link["bps"] = 3_000_000
    sfu = school.server.app[LIVE].deps.sfu
    publisher, subscriber = sfu.peer(lesson_id, tutor.user.id), sfu.peer(lesson_id, student.user.id)
    assert publisher is not None and subscriber is not None
    # The server measures the tutor's camera at its plan, 1 Mbit/s; a REMB that never fell
    # is a browser's ramp, not a limit.
    await bot.until(lambda: publisher.sources["video"].bitrate > 600_000)
    await bot.until(lambda: subscriber.downlink.remb == 3_000_000)
    assert subscriber.downlink.estimate(time.monotonic()) is None
    link["bps"] = 300_000
    await student.events.wait("media:slots", lambda s: s["paused"] == [tutor.user.id])
    await stopped_while_audio_flows(bot, index)
    link["bps"] = 3_000_000
    await student.events.wait(
        "media:slots", lambda s: s["paused"] == [] and s is student.events.seen["media:slots"][-1]
    )
    await flows_again(bot, index)
    for member in (tutor, student):
        await member.close()


async def test_audio_only_stops_video_and_keeps_audio(school: School) -> None:
    tutor, student, bot, index, _ = await tutor_and_student(school)
    assert (await student.call("media:receive", {"video": False})).get("ok")
    await student.events.wait("media:slots", lambda s: s["paused"] == [tutor.user.id])
    await stopped_while_audio_flows(bot, index)
    assert tutor.bot is not None  # the tutor still gets the student's video
    theirs = await slot_of(tutor, student.user.id)
    before = tutor.bot.received[("video", theirs)]
    await tutor.bot.until(lambda: tutor.bot.received[("video", theirs)] > before + 10)  # type: ignore[union-attr]
    assert (await student.call("media:receive", {"video": True})).get("ok")
    await student.events.wait(
        "media:slots", lambda s: s["paused"] == [] and s is student.events.seen["media:slots"][-1]
    )
    await flows_again(bot, index)
    bad: Any = await student.call("media:receive", {"video": "no"})
    assert bad["error"]["code"] == "invalid_payload"
    for member in (tutor, student):
        await member.close()


async def test_beyond_the_last_speakers_videos_are_paused(school_with: SchoolFactory) -> None:
    """With last-N at 1 and nobody having spoken yet, a student gets the tutor's video and
    the first other student's; the next student's video is paused for them. The tutor sees
    every student: last-N is not for the person who teaches them."""
    school = await school_with(last_n=1)
    setup = await live_class(school, students=3)
    lesson_id = setup.lesson["id"]
    members = [await join(school, *setup.tutor, lesson_id)]
    members += [await join(school, *student, lesson_id) for student in setup.students]
    for member in members:
        await publish(member)
    tutor, one, two, three = members
    layout = await three.events.wait(
        "media:slots", lambda s: len(s["slots"]) == 3 and s["paused"] == [two.user.id]
    )
    assert set(layout["slots"].values()) == {tutor.user.id, one.user.id, two.user.id}
    assert three.bot is not None
    index = await slot_of(three, one.user.id)
    await three.bot.until(lambda: three.bot.keyframes[index] >= 1)  # type: ignore[union-attr]
    await stopped_while_audio_flows(three.bot, await slot_of(three, two.user.id))
    seen = await tutor.events.wait("media:slots", lambda s: len(s["slots"]) == 3)
    assert seen["paused"] == [] and set(seen["slots"].values()) == {
        one.user.id,
        two.user.id,
        three.user.id,
    }
    assert tutor.bot is not None
    for student in (one, two, three):
        index = await slot_of(tutor, student.user.id)
        await tutor.bot.until(lambda i=index: tutor.bot.keyframes[i] >= 1)  # type: ignore[union-attr,misc]
    for member in members:
        await member.close()
