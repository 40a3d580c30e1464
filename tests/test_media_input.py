"""What reaches a participant's media port, and what their browser offers, never stops anyone's
media: real aiortc peers through Kelas; junk sent with plain UDP sockets, from elsewhere and
from the participant's own address."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aioice import stun as ice_stun
from aiortc import RTCCertificate, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCConfiguration
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from signaling.media.guard import Gate, Tally
from signaling.media.peer import Peer
from signaling.media.sfu import Sfu
from signaling.room import LARGE, SCREEN, Plans, Room
from tests.conftest import School, SchoolFactory
from tests.live import Member, join, live_class, publish, slot_of
from web.catalog import KEYWORDS, po_path
from web.live import LIVE

ROOT = Path(__file__).parent.parent
# Media does not touch the database: one backend is enough.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
Address = tuple[str, int]


def server_peer(school: School, member: Member) -> Peer:
    """The server's side of ``member``'s peer connection."""
    sfu = school.server.app[LIVE].deps.sfu
    found = [sfu.peer(lid, uid) for lid, uid in sfu._peers if uid == member.user.id]
    assert len(found) == 1 and found[0] is not None
    return found[0]


def media_addresses(peer: Peer) -> list[Address]:
    """Every local address and port on which the server listens for this peer."""
    ice = peer.pc.getTransceivers()[0].receiver.transport.transport
    return [(c.ip, c.port) for c in ice.iceGatherer.getLocalCandidates()]


async def send_from_elsewhere(addresses: list[Address], datagrams: list[bytes]) -> None:
    """Send from a fresh socket: another port than the participant's, any address."""
    loop = asyncio.get_running_loop()
    for address in addresses:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        # A plain socket: an asyncio datagram transport silently skips empty datagrams.
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            for data in datagrams:
                await loop.sock_sendto(sock, data, address)


def bot_link(member: Member) -> tuple[socket.socket, Address]:
    """The participant's own socket (a duplicate) and the server address ICE chose: what is
    sent there comes from the participant's address and port, as if they sent it."""
    assert member.bot is not None
    connection = member.bot.pc.getTransceivers()[0].sender.transport.transport._connection
    pair = connection._nominated[1]
    sock = pair.protocol.transport.get_extra_info("socket").dup()
    sock.setblocking(False)
    return sock, pair.remote_addr


async def send_as(member: Member, datagrams: list[bytes]) -> None:
    sock, address = bot_link(member)
    loop = asyncio.get_running_loop()
    with sock:
        for data in datagrams:
            await loop.sock_sendto(sock, data, address)


async def send_protected_as(member: Member, packets: list[bytes], rtcp: bool = False) -> int:
    """Send RTP (or RTCP) protected with the participant's own SRTP keys: what a browser that
    misbehaves could send. Returns how many could be protected at all."""
    assert member.bot is not None
    dtls = member.bot.pc.getTransceivers()[0].sender.transport
    protected = []
    for packet in packets:
        try:
            protect = dtls._tx_srtp.protect_rtcp if rtcp else dtls._tx_srtp.protect
            protected.append(protect(packet))
        except Exception:  # libsrtp refuses what it cannot parse as RTP or RTCP
            continue
    await send_as(member, protected)
    return len(protected)


async def flowing(receiver: Member, sender: Member, packets: int = 50) -> None:
    """Wait until ``receiver`` has had ``packets`` more video and audio packets of ``sender``."""
    index = await slot_of(receiver, sender.user.id)
    bot = receiver.bot
    assert bot is not None
    video, audio = bot.received[("video", index)], bot.received[("audio", index)]
    await bot.until(
        lambda: (
            bot.received[("video", index)] > video + packets
            and bot.received[("audio", index)] > audio + packets
        )
    )


async def counted(member: Member, gate: Gate, dropped: int) -> None:
    """Wait until ``gate`` has dropped ``dropped`` datagrams (checked as media arrives)."""
    assert member.bot is not None
    await member.bot.until(lambda: gate.dropped >= dropped)


@asynccontextmanager
async def publishing(school: School) -> AsyncIterator[tuple[Member, Member]]:
    """A tutor and a student in a live class, each receiving the other's media."""
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)
    try:
        await publish(tutor)
        await publish(student)
        await flowing(student, tutor)
        await flowing(tutor, student)
        yield tutor, student
    finally:
        for member in (tutor, student):
            await member.close()


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records that carry a traceback or an error (warnings from the guard are fine)."""
    gc.collect()  # "Task exception was never retrieved" is logged when the task is collected
    return [
        r.getMessage()
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()
    ]


def stun(attributes: bytes, method: int = 0x0001) -> bytes:
    """A STUN message with this attribute block, as-is."""
    return struct.pack("!HHI12s", method, len(attributes), 0x2112A442, os.urandom(12)) + attributes


# Datagrams that are malformed in each way the guard has to survive.
JUNK = [
    b"",
    b"\x00",
    b"\x05\x06\x07",
    bytes([70]) + os.urandom(100),  # between DTLS and SRTP: nobody's
    bytes([200]) + os.urandom(50),  # above SRTP
    bytes([22, 0xFE, 0xFD]) + os.urandom(40),  # a DTLS record header, then noise
    bytes([0x80, 111]) + os.urandom(30),  # RTP-looking, fails SRTP authentication
    bytes([0x80, 200]) + os.urandom(30),  # SRTCP-looking, fails authentication
    bytes([0x80]),  # one byte in the SRTP range
    stun(struct.pack("!HH", 0x0024, 2) + b"\x00\x01\x00\x00"),  # PRIORITY of 2 bytes
    stun(struct.pack("!HH", 0x8029, 3) + b"\x00\x01\x02\x00"),  # ICE-CONTROLLED of 3 bytes
    stun(struct.pack("!HH", 0x0006, 2) + b"\xff\xfe\x00\x00"),  # USERNAME, not UTF-8
    stun(b"", method=0x0FFF),  # unknown method
]


@SQLITE_ONLY
async def test_an_empty_datagram_from_anywhere_does_not_stop_media(
    school: School, caplog: pytest.LogCaptureFixture
) -> None:
    async with publishing(school) as (tutor, student):
        peer = server_peer(school, tutor)
        addresses = media_addresses(peer)
        await send_from_elsewhere(addresses, [b""])
        await counted(student, peer.gate, len(addresses))
        await send_as(tutor, [b""])
        await counted(student, peer.gate, len(addresses) + 1)
        await flowing(student, tutor)
        await flowing(tutor, student)
        assert peer.pc.connectionState == "connected"
        stats = school.server.app[LIVE].deps.sfu.stats()
        assert stats["datagrams_dropped"] == len(addresses) + 1
    assert tracebacks(caplog) == []


@SQLITE_ONLY
async def test_junk_from_anywhere_is_dropped_counted_and_reported_once(
    school: School, caplog: pytest.LogCaptureFixture
) -> None:
    async with publishing(school) as (tutor, student):
        peer = server_peer(school, tutor)
        addresses = media_addresses(peer)
        await send_from_elsewhere(addresses, JUNK)
        expected = len(addresses) * len(JUNK)
        await counted(student, peer.gate, expected)
        # From the participant's own address, STUN goes to aioice and DTLS to OpenSSL, which
        # discards bad records quietly: everything else must be dropped and counted.
        await send_as(tutor, JUNK)
        must = [d for d in JUNK if not d or (d[0] > 3 and not 20 <= d[0] < 64)]
        await counted(student, peer.gate, expected + len(must))
        await flowing(student, tutor)
        await flowing(tutor, student)
        assert peer.pc.connectionState == "connected"
        assert server_peer(school, student).gate.dropped == 0
    warnings = [r for r in caplog.records if r.name == "signaling.media.guard"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert tracebacks(caplog) == []


def binding_request(username: str, password: str) -> bytes:
    """An ICE connectivity check as the browser (the controlling side) sends it."""
    message = ice_stun.Message(
        message_method=ice_stun.Method.BINDING, message_class=ice_stun.Class.REQUEST
    )
    message.attributes["USERNAME"] = username
    message.attributes["PRIORITY"] = 1_853_824_767
    message.attributes["ICE-CONTROLLING"] = 1
    message.add_message_integrity(password.encode())
    message.add_fingerprint()
    return bytes(message)


@SQLITE_ONLY
async def test_an_address_that_passed_an_ice_check_of_its_own_is_trusted_and_no_other(
    school: School,
) -> None:
    """Chromium may send media on a pair it checked itself (an authenticated binding request
    the server answered) while aioice, done with its own checks, never marked that pair
    succeeded: its media is taken. A request without the right password proves nothing."""
    async with publishing(school) as (tutor, _student):
        peer = server_peer(school, tutor)
        connection = peer.pc.getTransceivers()[0].receiver.transport.transport._connection
        protocol = connection._nominated[1].protocol
        server = (protocol.local_candidate.host, protocol.local_candidate.port)
        username = f"{connection.local_username}:{connection.remote_username}"
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((server[0], 0))
            sock.setblocking(False)
            source = sock.getsockname()[:2]

            async def answer(request: bytes) -> ice_stun.Message:
                await loop.sock_sendto(sock, request, server)
                return ice_stun.parse_message(await asyncio.wait_for(loop.sock_recv(sock, 2048), 5))

            assert not peer.gate.trusts(protocol, source)
            refused = await answer(binding_request(username, "not-the-password-at-all"))
            assert refused.message_class == ice_stun.Class.ERROR
            assert not peer.gate.trusts(protocol, source)
            wrong_user = await answer(binding_request("someone:else", connection.local_password))
            assert wrong_user.message_class == ice_stun.Class.ERROR
            assert not peer.gate.trusts(protocol, source)
            accepted = await answer(binding_request(username, connection.local_password))
            assert accepted.message_class == ice_stun.Class.RESPONSE
            assert peer.gate.trusts(protocol, source)
            assert not peer.gate.trusts(protocol, (source[0], source[1] + 1))  # that address only


@SQLITE_ONLY
async def test_malformed_media_from_a_participant_itself_stops_no_one(
    school: School, caplog: pytest.LogCaptureFixture
) -> None:
    """RTP and RTCP that pass authentication (the participant's own keys) but are wrong."""
    async with publishing(school) as (tutor, student):
        rtp = [
            struct.pack("!BBHII", 0x80, 111, n, n * 960, 0xBAD00000 + n) + os.urandom(n)
            for n in range(40)  # unknown SSRCs; the Opus payload type
        ]
        rtp += [
            struct.pack("!BBHII", 0x90, 96, n, 0, 0xBAD10000 + n) + b"\xbe\xde\x00\x05" + b"\x00"
            for n in range(20)  # a header extension longer than the packet
        ]
        rtp += [struct.pack("!BBHII", 0x8F, 111, 1, 0, 0xBAD20000) + os.urandom(8)]  # 15 CSRCs
        rtcp = [
            struct.pack("!BBHII", 0x81, 205, 200, 1, 0) + os.urandom(200),  # NACK, bad length
            struct.pack("!BBHII", 0x81, 206, 2, 1, 0xFFFFFFFF),  # PLI for nobody
            struct.pack("!BBHI", 0x80, 203, 1, 7),  # BYE
            struct.pack("!BBHI", 0x9F, 201, 0xFFFF, 7) + os.urandom(32),  # RR, lying length
        ]
        assert await send_protected_as(tutor, rtp) > 0
        assert await send_protected_as(tutor, rtcp, rtcp=True) > 0
        await flowing(student, tutor)
        await flowing(tutor, student)
    assert tracebacks(caplog) == []


@SQLITE_ONLY
async def test_media_that_reads_as_a_stun_header_still_arrives(
    school: School, caplog: pytest.LogCaptureFixture
) -> None:
    """aioice tries every datagram as STUN: an SRTP packet whose sequence number equals its
    length less 20 (about one in 65,536) parsed as a STUN header, and an attribute in its
    clear header extension of the wrong length made aioice raise and lose it, resends and
    all. What is not STUN by its first byte (RFC 7983) is never tried as STUN."""
    ssrc, seq = 0x5EED0001, 300
    async with publishing(school) as (tutor, _student):
        assert tutor.bot is not None
        microphone = server_peer(school, tutor).pc.getTransceivers()[0].receiver
        router = microphone.transport._rtp_router
        pt = next(pt for pt, found in router.payload_type_table.items() if microphone in found)
        session = tutor.bot.pc.getTransceivers()[0].sender.transport._tx_srtp
        probe = struct.pack("!BBHII", 0x80, pt, 1, 0, 0x5EED0002) + bytes(100)
        overhead = len(session.protect(probe)) - len(probe)
        # A header extension (sent in the clear) holding a STUN LIFETIME of length 2 at
        # byte 20, where a STUN message's first attribute would be; to RTP, padding and
        # an element that no one negotiated (its id is 0).
        extension = bytes(4) + b"\x00\x0d\x00\x02" + bytes(12)
        header = struct.pack("!BBHIIHH", 0x90, pt, seq, 0, ssrc, 0xBEDE, len(extension) // 4)
        packet = header + extension
        packet += b"\x01" * (seq + 20 - overhead - len(packet))
        protected = session.protect(packet)
        assert len(protected) - 20 == seq
        with pytest.raises(struct.error):
            ice_stun.parse_message(protected)
        await send_as(tutor, [protected])
        # Routed (a new SSRC for the microphone's payload type is learnt), then dropped as
        # a second stream: it reached the server's RTP path.
        await tutor.bot.until(lambda: ssrc in router.ssrc_table)
    assert tracebacks(caplog) == []
    assert not [r for r in caplog.records if "could not read" in r.getMessage()]


async def test_a_certificate_that_does_not_match_the_fingerprint_fails_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures: list[tuple[int, int, str]] = []
    told = asyncio.Event()

    class Listener:
        def speaking(self, lesson_id: int, user_id: int, speaking: bool) -> bool:
            return False

        def failed(self, lesson_id: int, user_id: int, reason: str) -> None:
            failures.append((lesson_id, user_id, reason))
            told.set()

    sfu = Sfu([])
    sfu.listen(Listener())
    room = Room(lesson_id=5, topic="t", capacity=1)
    client = await browser_like(sfu.slots_for(room))
    offer = client.localDescription.sdp
    other = RTCCertificate.generateCertificate().getFingerprints()[0].value
    mine = next(line for line in offer.split("\r\n") if line.startswith("a=fingerprint:"))
    munged = offer.replace(mine, f"a=fingerprint:sha-256 {other}")
    try:
        answer, _ = await sfu.connect(room, 7, munged, Plans(LARGE, SCREEN))
        await client.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await asyncio.wait_for(told.wait(), 10)
        assert failures == [(5, 7, "dtls")]
        assert sfu.peer(5, 7) is None and sfu.stats()["peers"] == 0
    finally:
        await client.close()
        await sfu.close()
    assert tracebacks(caplog) == []


async def browser_like(slots: int) -> RTCPeerConnection:
    """An aiortc client with the browser's layout and its offer set (docs/protocol.md)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    for kind in ("audio", "video", "video"):
        pc.addTransceiver(kind, direction="sendonly")
    for kind in ["audio"] * slots + ["video"] * (slots + 1):
        pc.addTransceiver(kind, direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def test_a_peer_that_fails_to_close_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    class Unclosable(RTCPeerConnection):  # type: ignore[misc]
        async def close(self) -> None:
            await super().close()
            raise RuntimeError("cannot close")

    peer = Peer(1, Unclosable(), Gate("test", Tally()))
    with caplog.at_level(logging.DEBUG, logger="signaling.media.peer"):
        await peer.close()
    assert any("cannot close" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


BAD_CANDIDATES = [
    "candidate:garbage",
    "candidate:1 1 udp 1 256.1.1.1 9 typ host",
    "candidate:1 1 udp 1 example.invalid 9 typ host",
    "candidate:1 1 udp 99999999999999999999 10.0.0.1 70000 typ host",
    "candidate:1 1 tcp 1 10.0.0.1 9 typ host tcptype active",
    "candidate:1 1 udp 1 10.0.0.1 9 typ nonsense",
    "candidate:1 1 udp 1 10.0.0.1 9 typ srflx raddr 1.2.3.4.5 rport x",
    "candidate:\x00 1 udp 1 10.0.0.1 9 typ host",
]


def bad_offers(offer: str, slots: int) -> dict[str, tuple[str, str]]:
    """Offers that are wrong in one way each, and the start of the message that says why."""
    lines = offer.split("\r\n")

    def without(prefix: str) -> str:
        return "\r\n".join(line for line in lines if not line.startswith(prefix))

    media = [i for i, line in enumerate(lines) if line.startswith("m=")]
    opus = re.search(r"a=rtpmap:(\d+) opus/", offer)[1]  # type: ignore[index]
    first_video = lines[media[1] : media[2]]
    swapped = lines[: media[0]] + first_video + lines[media[0] : media[1]] + lines[media[2] :]
    extra = lines[: media[-1]] + lines[media[1] : media[2]] + lines[media[-1] :]
    mids = [line[6:] for line in lines if line.startswith("a=mid:")]

    def mid_of_slot(value: str) -> str:  # the first slot's mid (its section is Kelas's)
        return offer.replace(f"a=mid:{mids[3]}\r\n", f"a=mid:{value}\r\n", 1)

    unbundled = offer.replace(
        f"a=group:BUNDLE {' '.join(mids)}", "a=group:BUNDLE " + " ".join(mids[:-1])
    )
    bundle = "The media offer must bundle all its sections."
    return {
        "no fingerprint": (without("a=fingerprint:"), "The media offer has no usable DTLS"),
        "a slot not bundled": (unbundled, bundle),
        "no BUNDLE group": (without("a=group:BUNDLE"), bundle),
        "no mid": ("\r\n".join(line for line in lines if line != f"a=mid:{mids[5]}"), bundle),
        "a mid twice": (mid_of_slot(mids[0]), bundle),
        "a mid that is not a token": (mid_of_slot("a b"), bundle),
        "a mid too long": (mid_of_slot("9" * 33), bundle),
        "no ufrag": (without("a=ice-ufrag:"), "The media offer has no valid ICE"),
        "short password": (
            "\r\n".join(
                "a=ice-pwd:short" if line.startswith("a=ice-pwd:") else line for line in lines
            ),
            "The media offer has no valid ICE",
        ),
        "swapped": ("\r\n".join(swapped), "The media sections of the offer are not"),
        "extra": ("\r\n".join(extra), "The media offer must have"),
        "NUL": (offer.replace("a=", "a=\x00", 1), "The media offer contains characters"),
        "no VP8": (offer.replace("VP8/90000", "XP9/90000"), "Your browser did not offer"),
        "payload type": (re.sub(rf"\b{opus}\b", "80", offer), "Your browser did not offer"),
        "garbage": ("v=0\r\nm=garbage\r\n" * 3, "The media offer"),
    }


@SQLITE_ONLY
async def test_bad_offers_are_refused_with_a_reason_and_the_room_goes_on(
    school_with: SchoolFactory, caplog: pytest.LogCaptureFixture
) -> None:
    school = await school_with(live_rate_limits=False)  # more offers than a person makes
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    member = await join(school, *setup.tutor, lesson_id)
    hello = await member.call("hello", {"after": 0})
    client = await browser_like(hello["media"]["slots"])
    try:
        for name, (sdp, reason) in bad_offers(
            client.localDescription.sdp, hello["media"]["slots"]
        ).items():
            ack = await member.call("media:offer", {"type": "offer", "sdp": sdp})
            assert ack.get("error", {}).get("code") == "invalid_input", (name, ack)
            assert ack["error"]["message"].startswith(reason), (name, ack)
        await publish(member)
        for candidate in BAD_CANDIDATES:
            ack = await member.call("media:candidate", {"candidate": candidate, "sdpMid": "0"})
            # A control character is refused with the payload; the rest by the candidate check.
            expected = "invalid_payload" if "\x00" in candidate else "invalid_input"
            assert ack.get("ok") or ack["error"]["code"] == expected, (candidate, ack)
        student = await join(school, *setup.students[0], lesson_id)
        await publish(student)
        await flowing(student, member)
        await student.close()
    finally:
        await client.close()
        await member.close()
    assert tracebacks(caplog) == []


def test_every_media_message_has_an_indonesian_translation() -> None:
    """signaling/ is not in the catalogue's extraction; the media layer's messages are kept
    in the catalogues by hand until it is."""
    with po_path("id").open("rb") as handle:
        shipped = read_po(handle, locale="id")
    found = extract_from_dir(ROOT / "signaling" / "media", [("**.py", "python")], keywords=KEYWORDS)
    messages = [message for _, _, message, *_ in found if message]
    assert "The media offer could not be read." in messages
    assert [m for m in messages if not (shipped.get(m) and shipped[m].string)] == []
