"""Repair within a budget, with real aiortc peers through the SFU: resends that repair a lossy
subscriber without flooding it, keyframe requests merged per publisher, and the loss the
subscribers see reported to the publisher (signaling/media/repair.py, reports.py)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, RtcpRrPacket, RtpPacket, is_rtcp

from signaling.media.repair import RESEND_MIN_BURST
from signaling.media.reports import DOWNSTREAM_CAP
from tests.conftest import School
from tests.live import Bot, Member, lose, tutor_to_student
from web.live import LIVE


async def tutor_and_student(school: School) -> tuple[Member, Member, Bot, int]:
    """A tutor publishing and a student receiving them; the student's slot of the tutor."""
    tutor, student, bot, index = await tutor_to_student(school)
    await bot.until(lambda: bot.keyframes[index] >= 1)
    return tutor, student, bot, index


def receiver_of(bot: Bot, kind: str, index: int) -> Any:
    offset = 3 if kind == "audio" else 3 + bot.slots
    return bot.pc.getTransceivers()[offset + index].receiver


def nack_everything(bot: Bot, index: int) -> tuple[set[int], set[int]]:
    """Make the bot NACK, on every video packet of slot ``index``, every packet it misses
    (a browser on a bad link asks at least that often). Returns the slot's SSRCs and the
    sequence numbers that arrived."""
    receiver = receiver_of(bot, "video", index)
    counted = receiver._handle_rtp_packet
    ssrcs: set[int] = set()
    seen: set[int] = set()
    nacks = NackGenerator()

    async def nacking(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        ssrcs.add(packet.ssrc)
        seen.add(packet.sequence_number)
        nacks.add(packet)
        if nacks.missing:
            await receiver._send_rtcp_nack(packet.ssrc, sorted(nacks.missing))
        await counted(packet, arrival_time_ms)

    receiver._handle_rtp_packet = nacking
    return ssrcs, seen


def on_the_wire(
    ssrcs: set[int], lost: Callable[[int], bool]
) -> tuple[Callable[..., bool], Counter[str]]:
    """A ``lose()`` rule for the slot's packets, counting what the server sent: each
    sequence number's first sending, and every resending of it."""
    sent: set[int] = set()
    count: Counter[str] = Counter()

    def rule(ssrc: int, seq: int) -> bool:
        if ssrc not in ssrcs:
            return False
        count["resent" if seq in sent else "sent"] += 1
        sent.add(seq)
        if lost(seq):
            count["lost"] += 1
            return True
        return False

    return rule, count


def tap(bot: Bot, rule: Callable[[int, int, int], bool]) -> None:
    """As ``lose()``, with each datagram's size: ``rule(ssrc, seq, size)`` sees every RTP
    packet to the bot on the wire and says whether it is lost."""
    ice = bot.pc.getTransceivers()[0].receiver.transport.transport
    wire = ice._recv

    async def tapped() -> bytes:
        while True:
            data: bytes = await wire()
            if len(data) > 12 and 127 < data[0] < 192 and not is_rtcp(data):
                ssrc, seq = int.from_bytes(data[8:12], "big"), int.from_bytes(data[2:4], "big")
                if rule(ssrc, seq, len(data)):
                    continue
            return data

    ice._recv = tapped


def pli_counter(member: Member) -> list[float]:
    """When the member's camera got a keyframe request (PLI), from now on."""
    assert member.bot is not None
    sender = member.bot.pc.getTransceivers()[1].sender
    original = sender._handle_rtcp_packet
    times: list[float] = []

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
            times.append(time.monotonic())
        await original(packet)

    sender._handle_rtcp_packet = handle
    return times


async def test_a_lossy_subscriber_is_repaired_without_flooding(school: School) -> None:
    """5 % of the video to the student is lost on the wire once; the student NACKs all it
    misses on every packet. Every loss is repaired, each packet resent about once."""
    tutor, student, bot, index = await tutor_and_student(school)
    ssrcs, seen = nack_everything(bot, index)
    dropped: set[int] = set()

    def once_in_twenty(seq: int) -> bool:
        if seq % 20 == 0 and seq not in dropped:
            dropped.add(seq)
            return True
        return False

    rule, wire = on_the_wire(ssrcs, once_in_twenty)
    lose(bot, rule)
    await bot.until(lambda: len(dropped) >= 8 and all(s in seen for s in sorted(dropped)[:8]))
    assert wire["resent"] <= len(dropped) + 3, wire  # one resend per loss, a few in flight
    assert wire["resent"] <= 0.1 * wire["sent"], wire
    for member in (tutor, student):
        await member.close()


async def test_resends_to_a_congested_subscriber_stay_within_its_share(school: School) -> None:
    """Three in four video packets to the student are lost once, far more than a quarter of
    the link could repair, and it NACKs everything it misses on every packet: the bytes
    resent stay within that quarter of what the server sent it (plus the bucket's first
    half second), the slot gives way to keyframes, and the tutor is asked for one at most
    once a second."""
    tutor, student, bot, index = await tutor_and_student(school)
    plis = pli_counter(tutor)
    started = time.monotonic()
    ssrcs, _ = nack_everything(bot, index)
    sent: set[int] = set()
    dropped: set[int] = set()
    wire: Counter[str] = Counter()

    def three_in_four(ssrc: int, seq: int, size: int) -> bool:
        wire["bytes"] += size
        if ssrc not in ssrcs:
            return False
        wire["resent"] += size if seq in sent else 0
        sent.add(seq)
        if seq % 4 < 3 and seq not in dropped:
            dropped.add(seq)
            return True
        return False

    tap(bot, three_in_four)
    lesson_id = (await student.call("hello", {"after": 0}))["room"]["lesson_id"]
    peer = school.server.app[LIVE].deps.sfu.peer(lesson_id, student.user.id)
    assert peer is not None
    # (So much loss also pauses that video for the student soon: downlink.py.)
    await bot.until(lambda: peer.downlink.refused > 0 and len(plis) > 0 and wire["bytes"] > 20_000)
    elapsed = time.monotonic() - started
    # A quarter of what is forwarded to the student, measured over the last second or so,
    # and the bucket's first fill.
    assert wire["resent"] <= 0.3 * wire["bytes"] + RESEND_MIN_BURST, wire
    assert len(plis) <= elapsed + 2, (len(plis), elapsed)
    for member in (tutor, student):
        await member.close()


async def test_fifty_keyframe_requests_a_second_reach_the_publisher_about_once_a_second(
    school: School,
) -> None:
    tutor, student, bot, index = await tutor_and_student(school)
    plis = pli_counter(tutor)
    receiver = receiver_of(bot, "video", index)
    counted = receiver._handle_rtp_packet
    asked = 0
    keyframes = bot.keyframes[index]
    started = time.monotonic()

    async def asking(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        nonlocal asked
        if asked < 150:  # two per packet: some 60 a second from a 30 fps camera
            for _ in range(2):
                await receiver._send_rtcp_pli(packet.ssrc)
            asked += 2
        await counted(packet, arrival_time_ms)

    receiver._handle_rtp_packet = asking
    await bot.until(lambda: asked >= 150 and bot.keyframes[index] > keyframes)
    elapsed = time.monotonic() - started
    assert 1 <= len(plis) <= elapsed + 1, (len(plis), elapsed)
    for member in (tutor, student):
        await member.close()


async def test_publishers_hear_of_the_loss_their_subscribers_see(school: School) -> None:
    """The server's receiver reports to the tutor say no loss while there is none; when a
    student loses a fifth of the tutor's audio, they say so (capped at 20 %), so that a
    browser's Opus encoder adds in-band FEC."""
    tutor, student, bot, index = await tutor_and_student(school)
    assert tutor.bot is not None
    sender = tutor.bot.pc.getTransceivers()[0].sender
    original = sender._handle_rtcp_packet
    reported: list[int] = []

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpRrPacket):
            reported.extend(r.fraction_lost for r in packet.reports if r.ssrc == sender._ssrc)
            async with tutor.bot._changed:  # type: ignore[union-attr]
                tutor.bot._changed.notify_all()  # type: ignore[union-attr]
        await original(packet)

    sender._handle_rtcp_packet = handle
    await tutor.bot.until(lambda: len(reported) >= 2)
    assert reported[:2] == [0, 0]
    audio = receiver_of(bot, "audio", index)
    ssrcs = set(audio._RTCRtpReceiver__remote_streams)
    lose(bot, lambda ssrc, seq: ssrc in ssrcs and seq % 5 == 0)
    await tutor.bot.until(lambda: any(r >= 26 for r in reported))  # 10 % or more
    assert max(reported) <= DOWNSTREAM_CAP
    for member in (tutor, student):
        await member.close()


async def test_the_servers_reports_to_a_publisher_answer_its_sender_reports(
    school: School,
) -> None:
    """The publisher's SRs reach the server's receiver (aiortc's own handler, run at once on
    the receive path: signaling/media/inbound.py), so its RRs carry the last SR's time and
    the delay since (LSR, DLSR): the publisher's browser measures its round trip by them."""
    tutor, student, _bot, _index = await tutor_and_student(school)
    assert tutor.bot is not None
    sender = tutor.bot.pc.getTransceivers()[0].sender
    original = sender._handle_rtcp_packet
    answered: list[tuple[int, int]] = []

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpRrPacket):
            answered.extend((r.lsr, r.dlsr) for r in packet.reports if r.ssrc == sender._ssrc)
        await original(packet)

    sender._handle_rtcp_packet = handle
    await tutor.bot.until(lambda: any(lsr and dlsr for lsr, dlsr in answered))
    for member in (tutor, student):
        await member.close()
