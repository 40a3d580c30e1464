"""Audio redundancy, RED (RFC 2198; signaling/media/red.py and C's kl_red_read): what the
server accepts of an offer, what its answer says, and what a slot sends: a RED packet as it
is to a subscriber that offered RED of the same Opus, its primary block alone to any other.
Packets go through real UDP sockets and SRTP, as in test_media_native."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RtpPacket
from aiortc.sdp import SessionDescription
from hypothesis import given, settings
from hypothesis import strategies as st
from pylibsrtp import Policy

from signaling.media import red
from signaling.media.answer import mids, offered_ssrcs, plan, up_offer, with_slots
from signaling.media.native import ffi, lib
from signaling.media.peer import CODECS, PAYLOAD_TYPES, cname_of, munge_answer
from tests.conftest import School
from tests.live import Bot, join, live_class, publish, slot_of
from tests.test_media_input import browser_like
from tests.test_media_native import opener, out_to, slot
from web.live import LIVE

OPUS, RED = 111, 63
PROFILE = Policy.SRTP_PROFILE_AEAD_AES_128_GCM
KEY = bytes(range(28))


def red_payload(primary: bytes, *older: tuple[int, bytes], pt: int = OPUS) -> bytes:
    """A RED payload: ``older`` blocks (timestamp offset, data), oldest first, then
    ``primary``, all of payload type ``pt``."""
    headers = b"".join(
        bytes([0x80 | pt]) + ((offset << 10) | len(data)).to_bytes(3, "big")
        for offset, data in older
    )
    return headers + bytes([pt]) + b"".join(data for _, data in older) + primary


def read(payload: bytes) -> tuple[int, int, int, int]:
    """kl_red_read's answer: (status, pt, primary_at, primary_len)."""
    found = ffi.new("kl_red *")
    status = lib.kl_red_read(payload, len(payload), found)
    return status, found.pt, found.primary_at, found.primary_len


# -- reading ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (red_payload(b"now", (960, b"before")), (0, OPUS, 5 + 6, 3)),
        (red_payload(b"now", (1920, b"a"), (960, b"bb")), (0, OPUS, 9 + 3, 3)),
        (red_payload(b"now"), (0, OPUS, 1, 3)),  # a primary alone (no redundancy yet)
        (bytes([0x80 | OPUS, 0, 0x3C, 1, OPUS]) + b"x" + b"now", (0, OPUS, 6, 3)),
        # the blocks' payload types differ: read, but only the primary may be sent
        (bytes([0x80 | 109, 0, 0x3C, 1, OPUS]) + b"x" + b"now", (0, -2, 6, 3)),
    ],
)
def test_red_is_read_to_its_primary_block(payload: bytes, expected: tuple[int, ...]) -> None:
    assert read(payload) == expected
    assert payload[expected[2] :] == b"now"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        bytes([OPUS]),  # a primary's header, and no primary
        bytes([0x80 | OPUS, 0, 0]),  # a redundant block's header, cut short
        bytes([0x80 | OPUS, 0, 0x3C, 1]),  # and no primary's header
        bytes([0x80 | OPUS, 0, 0x3C, 5, OPUS]) + b"abc",  # a block longer than what is left
        bytes([0x80 | OPUS, 0, 0x3C, 3, OPUS]) + b"abc",  # nothing left for the primary
        bytes([0x80 | OPUS, 0, 0x3F, 0xFF]) * 300 + bytes([OPUS]) + bytes(100),
    ],
)
def test_what_is_not_red_is_refused(payload: bytes) -> None:
    assert read(payload)[:2] == (-1, -1)


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=1500))
def test_any_payload_is_refused_or_read_within_it(payload: bytes) -> None:
    status, pt, at, length = read(payload)
    if status < 0:
        assert pt == -1
        return
    assert 1 <= at and length >= 1 and at + length == len(payload)
    assert pt == -2 or 0 <= pt < 128


@settings(max_examples=500, deadline=None)
@given(
    st.binary(min_size=1, max_size=400),
    st.lists(st.tuples(st.integers(0, (1 << 14) - 1), st.binary(max_size=300)), max_size=4),
)
def test_red_as_written_is_read_to_its_primary(primary: bytes, older: list[Any]) -> None:
    payload = red_payload(primary, *older)
    status, pt, at, length = read(payload)
    assert (status, pt) == (0, OPUS) and payload[at : at + length] == primary


# -- sending ---------------------------------------------------------------------------


def sent_as(receiver: socket.socket, core: Any, payload: bytes, seq: int) -> tuple[int, bytes]:
    """What ``core`` sends of the RED ``payload``: its payload type and payload."""
    found = ffi.new("kl_red *")
    assert lib.kl_red_read(payload, len(payload), found) == 0
    answer = lib.kl_forward(core, payload, len(payload), found, seq, 960 * seq, 0, seq / 50)
    assert answer == lib.KL_SENT
    packet = opener(PROFILE, KEY).unprotect(receiver.recv(2048))
    return packet[1] & 0x7F, packet[12:]


@pytest.fixture
def receiver() -> Any:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def test_red_goes_as_it_is_to_a_slot_that_takes_it_and_as_its_primary_to_others(
    receiver: socket.socket,
) -> None:
    payload = red_payload(b"voice now", (960, b"voice before"))
    outs = [out_to(receiver, PROFILE, KEY) for _ in range(3)]  # kept: the slots point at them
    takes_red = slot(outs[0], audio=True)
    takes_red.payload_type, takes_red.red_payload_type = OPUS, RED
    assert sent_as(receiver, takes_red, payload, 1) == (RED, payload)
    assert takes_red.octets == len(payload)

    plain = slot(outs[1], audio=True)
    plain.payload_type = OPUS
    assert sent_as(receiver, plain, payload, 1) == (OPUS, b"voice now")
    assert plain.octets == len(b"voice now")

    # A subscriber that takes RED of another Opus (its own payload type for Opus is not the
    # one the blocks name): the primary alone, under its Opus.
    other = slot(outs[2], audio=True)
    other.payload_type, other.red_payload_type = 109, 110
    assert sent_as(receiver, other, payload, 1) == (109, b"voice now")
    # Blocks of different payload types: the primary alone, whoever takes RED.
    mixed = bytes([0x80 | 109, 0, 0x3C, 1, OPUS]) + b"x" + b"now"
    assert sent_as(receiver, takes_red, mixed, 2) == (OPUS, b"now")
    # Plain Opus from a publisher without RED goes to every slot as it is.
    assert lib.kl_forward(plain, b"opus", 4, ffi.NULL, 2, 1920, 0, 0.04) == lib.KL_SENT
    assert opener(PROFILE, KEY).unprotect(receiver.recv(2048))[12:] == b"opus"


# -- negotiating ------------------------------------------------------------------------


def with_red(
    offer: str, sections: list[int], fmtp: str | None = None, pt: int = RED, first: bool = True
) -> str:
    """``offer`` with RED of its Opus offered in the audio ``sections`` (0 is the
    microphone's), ``first`` or last; ``fmtp`` in place of "<opus>/<opus>"."""
    parts = offer.split("\r\nm=")
    for at in sections:
        part = parts[at + 1]
        opus = re.search(r"a=rtpmap:(\d+) opus/48000", part)
        assert opus and part.startswith("audio ")
        blocks = fmtp or f"{opus[1]}/{opus[1]}"
        line, rest = part.split("\r\n", 1)
        kind, port, proto, formats = line.split(" ", 3)  # m=<kind> <port> <proto> <fmt ...>
        line = f"{kind} {port} {proto} {pt} {formats}" if first else f"{line} {pt}"
        red_lines = f"a=rtpmap:{pt} red/48000/2\r\na=fmtp:{pt} {blocks}\r\n"
        at_opus = rest.index(f"a=rtpmap:{opus[1]} ")
        if not first:  # after Opus's own lines
            at_opus = rest.index("a=ssrc:") if "a=ssrc:" in rest else len(rest)
        parts[at + 1] = f"{line}\r\n{rest[:at_opus]}{red_lines}{rest[at_opus:]}"
    return "\r\nm=".join(parts)


async def answered(offer_text: str) -> tuple[str, list[Any], int, RTCPeerConnection]:
    """The server's answer to ``offer_text`` (as negotiate makes it, without media), the
    slots' plan and the microphone's RED payload type (-1: none)."""
    server = RTCPeerConnection()
    offer = SessionDescription.parse(offer_text)
    offer_mids = mids(offer)
    await server.setRemoteDescription(
        RTCSessionDescription(up_offer(offer_text, offer_mids), "offer")
    )
    mic = server.getTransceivers()[0]
    red_pt = red.accept(mic, offer.media[0], PAYLOAD_TYPES)
    await server.setLocalDescription(await server.createAnswer())
    own = {t.sender._ssrc for t in server.getTransceivers()}
    downs = plan(offer, offer_mids, CODECS, PAYLOAD_TYPES, offered_ssrcs(offer_text) | own)
    answer = munge_answer(
        with_slots(server.localDescription.sdp, offer_mids, downs, cname_of(server))
    )
    return answer, downs, red_pt, server


async def test_the_microphone_sends_red_and_each_slot_offered_red_receives_it() -> None:
    client = await browser_like(2)
    try:
        text = client.localDescription.sdp
        opus = int(re.findall(r"a=rtpmap:(\d+) opus/48000", text)[0])
        offer = with_red(text, [0, 3])  # the microphone and the first audio slot
        answer, downs, red_pt, server = await answered(offer)
        await server.close()
        assert red_pt == RED
        parsed = SessionDescription.parse(answer)
        mic = parsed.media[0]
        # RED first, of the Opus negotiated: the browser then sends its voice as RED.
        assert [c.mimeType.lower() for c in mic.rtp.codecs][:2] == ["audio/red", "audio/opus"]
        assert mic.fmt[:2] == [RED, opus]
        assert f"a=fmtp:{RED} {opus}/{opus}\r\n" in answer
        assert [d.red_payload_type for d in downs[:2]] == [RED, 0]
        first_slot, second_slot = parsed.media[3], parsed.media[4]
        assert [(c.mimeType.lower(), c.payloadType) for c in first_slot.rtp.codecs] == [
            ("audio/opus", opus), ("audio/red", RED),
        ]  # fmt: skip
        assert [c.mimeType.lower() for c in second_slot.rtp.codecs] == ["audio/opus"]
        # The browser's side takes the answer.
        await client.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("fmtp", "pt"),
    [
        ("{opus}/{other}", RED),  # a block of another codec
        ("{other}/{other}", RED),  # RED of another codec
        ("{opus}", RED),  # one block: nothing redundant
        ("{opus}/{opus}/{opus}/{opus}", RED),  # more than MOST_BLOCKS
        ("{opus}/{opus};x=1", RED),
        ("{opus}/{opus}", 80),  # a payload type RTCP would be mistaken for
        ("{opus}/{opus}", "{opus}"),  # Opus's own payload type
    ],
)
async def test_red_that_is_not_of_the_voices_opus_is_not_taken(fmtp: str, pt: Any) -> None:
    client = await browser_like(1)
    try:
        text = client.localDescription.sdp
        opus = int(re.findall(r"a=rtpmap:(\d+) opus/48000", text)[0])
        numbers = {"opus": opus, "other": 9}
        number = int(str(pt).format(**numbers))
        offer = with_red(text, [0, 3], fmtp.format(**numbers), number)
        answer, downs, red_pt, server = await answered(offer)
        await server.close()
        assert red_pt == -1 and downs[0].red_payload_type == 0
        assert "red/48000" not in answer
    finally:
        await client.close()


# -- when --------------------------------------------------------------------------------


def test_red_goes_to_a_subscriber_while_their_voices_lose_and_for_a_while_after() -> None:
    redundancy = red.Redundancy()
    clean = [(0, 10.0), (0, 10.0)]
    assert redundancy.look(clean, 10.0) is None and not redundancy.on  # off to begin with
    # One slot's latest report says 1.2 % lost: on, for every voice.
    assert redundancy.look([(0, 10.0), (red.LOSS_ON, 10.5)], 11.0) is True
    assert redundancy.look([(0, 12.0), (red.LOSS_ON - 1, 12.0)], 12.0) is None  # holds
    # A report of loss that is no longer fresh does not keep it on.
    stale = [(0, 20.0), (255, 11.0 - red.FRESH_S)]
    assert redundancy.look(stale, 11.0 + red.HOLD_S - 0.1) is None and redundancy.on
    assert redundancy.look(stale, 11.0 + red.HOLD_S) is False and not redundancy.on
    assert redundancy.look([(255, 30.0)], 30.0 + red.FRESH_S + 0.01) is None


# -- through the server ----------------------------------------------------------------


def as_red(bot: Bot, opus: int, every: int) -> dict[str, int]:
    """From now on, the bot's microphone sends every ``every``-th packet as RED (payload type
    RED: a block "OLD", then the primary "NEW" + its sequence number) and the next one as
    junk under RED's payload type (a block header that runs past the end). The packets are
    changed before SRTP, where a browser's encoder would make them. Returns the counts."""
    sent = {"red": 0, "junk": 0}
    ssrc = bot.pc.getTransceivers()[0].sender._ssrc
    transport = bot.pc.getTransceivers()[0].sender.transport
    original = transport._send_rtp

    async def send(data: bytes) -> None:
        if int.from_bytes(data[8:12], "big") == ssrc and data[1] & 0x7F == opus:
            seq = int.from_bytes(data[2:4], "big")
            at = 12 + 4 * (data[0] & 0x0F)  # the header: CSRCs, then the extensions, if any
            if data[0] & 0x10:
                at += 4 + 4 * int.from_bytes(data[at + 2 : at + 4], "big")
            header = bytes([data[0], (data[1] & 0x80) | RED]) + data[2:at]
            if seq % every == 0:
                data = header + red_payload(b"NEW" + data[2:4], (960, b"OLD"))
                sent["red"] += 1
            elif seq % every == 1:
                data = header + bytes([0x80 | opus, 0, 0x3C, 200, opus]) + b"JUNK"
                sent["junk"] += 1
        await original(data)

    transport._send_rtp = send
    return sent


async def test_a_publishers_red_reaches_a_subscriber_without_red_as_its_primary(
    school: School,
) -> None:
    """An aiortc publisher whose offer adds RED after Opus (aiortc sends Opus, some of its
    packets are made RED on the way out); a student whose offer has no RED."""
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    tutor_bot = await publish(tutor, offer=lambda sdp: with_red(sdp, [0], first=False))
    sfu = school.server.app[LIVE].deps.sfu
    peer = sfu.peer(lesson_id, tutor.user.id)
    assert peer is not None and peer.sources["audio"].red_payload_type == RED
    opus = int(re.findall(r"a=rtpmap:(\d+) opus/48000", tutor_bot.pc.localDescription.sdp)[0])
    student = await join(school, *setup.students[0], lesson_id)
    bot = await publish(student)
    slot = await slot_of(student, tutor.user.id)
    receiver = bot.pc.getTransceivers()[3 + slot].receiver
    counted = receiver._handle_rtp_packet
    got: list[tuple[int, bytes]] = []

    async def keep(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        got.append((packet.payload_type, packet.payload))
        await counted(packet, arrival_time_ms)

    receiver._handle_rtp_packet = keep
    sent = as_red(tutor_bot, opus, every=4)
    await bot.until(lambda: sum(p.startswith(b"NEW") for _, p in got) >= 10)
    # Every packet the student got is plain Opus, under the student's own Opus payload type:
    # the RED ones as their primary block alone, the junk ones not at all.
    student_opus = int(re.findall(r"a=rtpmap:(\d+) opus/48000", bot.pc.localDescription.sdp)[0])
    assert {pt for pt, _ in got} == {student_opus}
    primaries = [p for _, p in got if p.startswith(b"NEW")]
    assert all(len(p) == 5 for p in primaries), primaries[:3]
    assert not any(b"OLD" in p or b"JUNK" in p for _, p in got)
    source = peer.sources["audio"]
    assert 5 <= source.unreadable <= sent["junk"]  # the junk is dropped, and counted
