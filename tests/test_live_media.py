"""Media through the SFU with real aiortc peers: forwarding, keyframes, mute enforcement."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from aioice.ice import get_host_addresses
from aiortc.rtp import RtcpSenderInfo, RtcpSrPacket, RtpPacket

from signaling.media.forwarding import NTP_EPOCH
from tests.conftest import School, SchoolFactory, TurnFactory
from tests.live import Bot, Member, join, live_class, lose, publish, slot_of, tutor_to_student
from web.live import LIVE


async def test_everyone_receives_everyone_else_and_muting_stops_the_audio(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    one = await join(school, *setup.students[0], lesson_id)
    two = await join(school, *setup.students[1], lesson_id)
    members = [tutor, one, two]
    for member in members:
        await publish(member)
    for receiver in members:
        assert receiver.bot is not None
        for sender in members:
            if sender is receiver:
                continue
            index = await slot_of(receiver, sender.user.id)
            bot = receiver.bot
            await bot.until(
                lambda b=bot, i=index: (
                    b.received[("video", i)] > 20 and b.received[("audio", i)] > 20
                )
            )  # type: ignore[misc]
            assert bot.keyframes[index] >= 1  # each slot started on a keyframe

    # Each publisher is told its plan's bitrate (REMB): the tutor's camera large, students small.
    def target(member: Member) -> int:
        assert member.bot is not None
        sender = member.bot.pc.getTransceivers()[1].sender
        return int(sender._RTCRtpSender__encoder.target_bitrate)  # type: ignore[attr-defined]

    await tutor.bot.until(lambda: target(tutor) == 1_000_000)  # type: ignore[union-attr]
    await one.bot.until(lambda: target(one) == 300_000)  # type: ignore[union-attr]
    # The tutor mutes student one: their audio stops reaching student two, video goes on.
    assert two.bot is not None
    audio_slot = await slot_of(two, one.user.id)
    assert (await tutor.call("control:mute", {"user_id": one.user.id})).get("ok")
    before = two.bot.received[("audio", audio_slot)]
    video_before = two.bot.received[("video", audio_slot)]
    await two.bot.until(lambda: two.bot.received[("video", audio_slot)] > video_before + 60)  # type: ignore[union-attr]
    assert two.bot.received[("audio", audio_slot)] - before <= 3  # at most packets in flight
    # Allowed back, the audio flows again.
    await tutor.call("control:allow_unmute", {"user_id": one.user.id})
    assert (await one.call("media:state", {"mic": True, "cam": True})).get("ok")
    resumed = two.bot.received[("audio", audio_slot)]
    await two.bot.until(lambda: two.bot.received[("audio", audio_slot)] > resumed + 20)  # type: ignore[union-attr]
    for member in members:
        await member.close()


async def test_a_late_joiner_gets_a_keyframe_and_others_see_them_arrive_and_leave(
    school: School,
) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    await publish(tutor)
    late = await join(school, *setup.students[0], lesson_id)
    bot = await publish(late)
    index = await slot_of(late, tutor.user.id)
    await bot.until(lambda: bot.keyframes[index] >= 1 and bot.received[("video", index)] > 10)
    student_slot = await slot_of(tutor, late.user.id)
    assert tutor.bot is not None
    await tutor.bot.until(lambda: tutor.bot.received[("video", student_slot)] > 10)  # type: ignore[union-attr]
    await late.close()
    layout = await tutor.events.wait(
        "media:slots", lambda s: late.user.id not in s["slots"].values()
    )
    assert layout["slots"] == {}
    await tutor.close()


async def test_broken_or_misordered_offers_are_refused_cleanly(school: School) -> None:
    setup = await live_class(school, students=1)
    member = await join(school, *setup.tutor, setup.lesson["id"])
    for offer in ({"type": "offer", "sdp": "v=0 this is not sdp at all"},
                  {"type": "answer", "sdp": "v=0\r\n"}, {"sdp": 42}, "offer"):  # fmt: skip
        ack: dict[str, Any] = await member.call("media:offer", offer)
        assert ack["error"]["code"] in ("invalid_input", "invalid_payload"), ack
    ack = await member.call("media:candidate", {"candidate": "candidate:garbage", "sdpMid": "0"})
    assert "error" in ack or ack.get("ok")
    assert (await member.call("no:such_event"))["error"]["code"] == "unknown_event"
    assert (await member.call("chat:send", {"text": "still alive"})).get("ok")
    await member.close()


async def test_lost_packets_are_resent_from_the_slot_history(school: School) -> None:
    """Every 10th video packet to the subscriber is lost on the wire (dropped before SRTP,
    as a network would); the subscriber NACKs and the server resends from the slot's
    history, so no sequence number stays missing."""
    from aiortc.rtcrtpreceiver import NackGenerator

    tutor, student, bot, index = await tutor_to_student(school)
    receiver = bot.pc.getTransceivers()[3 + bot.slots + index].receiver
    counted = receiver._handle_rtp_packet
    ssrcs: set[int] = set()
    seen: set[int] = set()
    dropped: set[int] = set()
    nacks = NackGenerator()

    async def nacking(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        ssrcs.add(packet.ssrc)
        seen.add(packet.sequence_number)
        if nacks.add(packet):
            await receiver._send_rtcp_nack(packet.ssrc, sorted(nacks.missing))
        await counted(packet, arrival_time_ms)

    def every_tenth(ssrc: int, seq: int) -> bool:
        if ssrc in ssrcs and seq % 10 == 0 and seq not in dropped:
            dropped.add(seq)
            return True
        return False

    receiver._handle_rtp_packet = nacking  # type: ignore[method-assign]
    lose(bot, every_tenth)
    await bot.until(lambda: len(dropped) >= 10 and all(s in seen for s in sorted(dropped)[:10]))
    for member in (tutor, student):
        await member.close()


async def test_the_tutors_screen_reaches_the_students_and_only_the_tutor_shares(
    school: School,
) -> None:
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    await publish(tutor, screen=True)
    student = await join(school, *setup.students[0], lesson_id)
    bot = await publish(student)
    layout = await student.events.wait("media:slots", lambda s: s["screen"] == tutor.user.id)
    assert layout["screen"] == tutor.user.id
    await bot.until(
        lambda: bot.keyframes[bot.slots] >= 1 and bot.received[("video", bot.slots)] > 10
    )
    denied = await student.call("media:state", {"mic": True, "cam": True, "screen": True})
    assert denied["error"]["code"] == "forbidden"
    assert (await tutor.call("media:state", {"mic": True, "cam": True, "screen": False})).get("ok")
    await student.events.wait("media:slots", lambda s: s["screen"] is None)
    for member in (tutor, student):
        await member.close()


def sound_and_picture(bot: Bot, index: int) -> Callable[[], bool]:
    return lambda: bot.received[("video", index)] > 20 and bot.received[("audio", index)] > 20


@pytest.mark.parametrize("transport", ["tcp", "tls"])
async def test_media_flows_both_ways_when_a_student_can_use_only_a_turn_relay(
    school_with: SchoolFactory,
    start_turn: TurnFactory,
    monkeypatch: pytest.MonkeyPatch,
    transport: str,
) -> None:
    """The student's peer gathers relay candidates only (iceTransportPolicy "relay"), from the
    TURN server and the credential its hello gave it, reached over TCP or TLS: the way a
    browser behind a firewall that blocks UDP connects. The relay's peers are this machine's
    own addresses, which the shipped configuration denies (they may be private), so this
    coturn allows exactly those."""
    turn = await start_turn(allowed_peers=tuple(get_host_addresses(True, True)))
    _, tcp, tls = turn.urls()
    if transport == "tls":  # aioice verifies the server's certificate with the default context
        monkeypatch.setenv("SSL_CERT_FILE", str(turn.cert))
    school = await school_with(turn_urls=(tls if transport == "tls" else tcp,),
                               turn_secret=turn.secret)  # fmt: skip
    setup = await live_class(school, students=1)
    tutor = await join(school, *setup.tutor, setup.lesson["id"])
    await publish(tutor)
    student = await join(school, *setup.students[0], setup.lesson["id"])
    bot = await publish(student, relay=True)
    ice = bot.pc.getTransceivers()[0].receiver.transport.transport
    assert {c.type for c in ice.iceGatherer.getLocalCandidates()} == {"relay"}
    await bot.until(sound_and_picture(bot, await slot_of(student, tutor.user.id)))
    assert tutor.bot is not None
    await tutor.bot.until(sound_and_picture(tutor.bot, await slot_of(tutor, student.user.id)))
    assert ice.state == "completed"
    for member in (student, tutor):
        await member.close()


async def test_a_slots_sender_reports_say_what_it_forwarded_for_lip_sync(school: School) -> None:
    """Each slot's RTCP SR (RFC 3550 6.4.1) carries its own counts, and the wall-clock time it
    is sent at with the RTP timestamp of that instant on the slot's own timeline: a browser
    lines up a person's voice and picture by them."""
    tutor, student, bot, index = await tutor_to_student(school)
    receiver = bot.pc.getTransceivers()[3 + bot.slots + index].receiver
    last: dict[str, Any] = {}
    reports: list[tuple[RtcpSenderInfo, float, int, float, int]] = []
    counted, handled = receiver._handle_rtp_packet, receiver._handle_rtcp_packet

    async def rtp(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        last.update(ts=packet.timestamp, at=time.time(), count=last.get("count", 0) + 1)
        await counted(packet, arrival_time_ms)

    async def rtcp(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket) and "ts" in last:
            reports.append((packet.sender_info, time.time(), last["ts"], last["at"], last["count"]))
        await handled(packet)

    receiver._handle_rtp_packet, receiver._handle_rtcp_packet = rtp, rtcp  # type: ignore[method-assign]
    await bot.until(lambda: len(reports) >= 2)
    for info, arrived, ts, at, received in reports:
        ntp = info.ntp_timestamp / (1 << 32) - NTP_EPOCH
        assert abs(arrived - ntp) < 1.0  # when the report left, as wall-clock time
        # The pair agrees with the last frame received: its timestamp, carried on to the
        # report's time at 90 kHz (the slack is that frame's trip through a loaded loop).
        expected = ts + round((ntp - at) * 90_000)
        assert abs(((info.rtp_timestamp - expected + (1 << 31)) % (1 << 32)) - (1 << 31)) < 90_000
        assert received <= info.packet_count <= received + 200 and info.octet_count > 0
    await student.close()
    await tutor.close()


async def test_the_servers_receivers_are_built_lean_and_media_still_flows(school: School) -> None:
    """aiortc builds a jitter buffer and a bitrate estimator for every receiver, and the
    server's never use them (inbound.py takes the packets): it gets a
    buffer of one packet and no estimator (hooks.lean_receivers), and no decoder thread
    (hooks.no_decoder), while a peer made elsewhere in the process (the test's own bot)
    keeps aiortc's."""
    tutor, student, bot, index = await tutor_to_student(school)
    await bot.until(lambda: bot.keyframes[index] >= 1 and bot.received[("audio", index)] > 5)
    lesson_id = (await student.call("hello", {"after": 0}))["room"]["lesson_id"]
    peers = [school.server.app[LIVE].deps.sfu.peer(lesson_id, m.user.id) for m in (tutor, student)]

    def built(receiver: Any) -> tuple[int, bool]:
        buffer = receiver._RTCRtpReceiver__jitter_buffer
        return buffer.capacity, receiver._RTCRtpReceiver__remote_bitrate_estimator is not None

    for peer in peers:
        assert peer is not None
        receivers = [t.receiver for t in peer.pc.getTransceivers()]
        # aiortc's transceivers are for their own media alone: the slots are Kelas's (answer.py)
        assert len(receivers) == 3 and {built(r) for r in receivers} == {(1, False)}
        assert len(peer.all_slots()) == len(bot.pc.getTransceivers()) - 3
        started = [r._RTCRtpReceiver__decoder_thread for r in receivers[:3]]
        assert all(started)  # aiortc started each publishing receiver's decoder thread,
        for thread in started:  # which stopped at once (joined here: no sleeping)
            await asyncio.to_thread(thread.join, 10)
            assert not thread.is_alive()
    mine = {(t.kind, built(t.receiver)) for t in bot.pc.getTransceivers()}
    assert mine == {("audio", (16, False)), ("video", (512, True))}
    theirs = [t.receiver._RTCRtpReceiver__decoder_thread for t in bot.pc.getTransceivers()]
    assert any(thread is not None and thread.is_alive() for thread in theirs)
    for member in (tutor, student):
        await member.close()
