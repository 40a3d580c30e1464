"""An inbound RTP packet in C (native/fanout.c, ``kl_receive``): unprotected with an inbound
session as aiortc makes it, then read exactly as aiortc's RtpPacket.parse reads it, for
every shape of header; what fails authentication or replays, and what is not RTP, is
refused with a reason. An inbound RTCP packet (``kl_receive_rtcp``): unprotected, and let
through to Python unless it holds nothing anyone reads (``kl_rtcp_matters``)."""

from __future__ import annotations

import os
import random
import struct
from typing import Any

import pylibsrtp
import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import (
    HeaderExtensions,
    HeaderExtensionsMap,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
)
from pylibsrtp import Policy, Session

from signaling.media.inbound import Received
from signaling.media.native import ffi, lib, srtp_of
from tests.test_media_native import PROFILES, outbound

SSRC = 0x0BAD_CAFE
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"


def inbound(profile: int, key: bytes) -> Session:
    """An inbound session as aiortc's DTLS transport makes it (its ``_rx_srtp``)."""
    policy = Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile)
    policy.window_size = 1024
    return Session(policy)


def receive(session: Session, datagram: bytes) -> tuple[int, Any, bytearray]:
    read = ffi.new("kl_received *")
    buffer = bytearray(datagram)
    status = lib.kl_receive(srtp_of(session), ffi.from_buffer(buffer), len(buffer), read)
    return status, read, buffer


def rtp(seq: int, body: bytes, *, cc: int = 0, extension: bytes | None = None,
        padding: int = 0, marker: int = 1, pt: int = 111) -> bytes:  # fmt: skip
    first = 0x80 | (0x20 if padding else 0) | (0x10 if extension is not None else 0) | cc
    packet = struct.pack("!BBHII", first, marker << 7 | pt, seq, seq * 960, SSRC)
    packet += b"".join(struct.pack("!I", 0xC0 + n) for n in range(cc))
    if extension is not None:
        packet += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    if padding:
        body += bytes(padding - 1) + bytes([padding])
    return packet + body


SHAPES = {
    "plain": dict(),
    "no marker": dict(marker=0, pt=96),
    "csrcs": dict(cc=3),
    "extension": dict(extension=b"\x10\xff\x22\x01\x02\x03\x00\x00"),  # ids 1 and 2, padded
    "padding": dict(padding=7),
    "everything": dict(cc=15, extension=b"\x10\xff\x00\x00", padding=1),
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("shape", SHAPES)
def test_a_packet_reads_as_aiortc_reads_it(profile: int, shape: str) -> None:
    key = os.urandom(PROFILES[profile])
    tx, rx = outbound(profile, key), inbound(profile, key)
    for seq in (1, 2, 0xFFFF):
        plain = rtp(seq, os.urandom(50 + seq % 700), **SHAPES[shape])  # type: ignore[arg-type]
        status, read, buffer = receive(rx, tx.protect(plain))
        assert status == 0
        expected = RtpPacket.parse(plain)
        assert bytes(buffer[: read.len]) == plain
        assert (read.ssrc, read.seq, read.timestamp, read.marker, read.payload_type) == (
            expected.ssrc, expected.sequence_number, expected.timestamp, expected.marker,
            expected.payload_type,
        )  # fmt: skip
        payload = bytes(buffer[read.payload_at : read.payload_at + read.payload_len])
        assert payload == expected.payload
        assert read.has_extension == (SHAPES[shape].get("extension") is not None)
        if read.has_extension:
            at = read.extension_at
            assert read.profile == 0xBEDE
            assert bytes(buffer[at : at + read.extension_len]) == SHAPES[shape]["extension"]


def test_tampered_replayed_and_foreign_packets_are_refused_with_libsrtps_reason() -> None:
    profile = Policy.SRTP_PROFILE_AEAD_AES_128_GCM
    key = os.urandom(PROFILES[profile])
    tx, rx = outbound(profile, key), inbound(profile, key)
    good = tx.protect(rtp(10, b"voice"))
    tampered = bytearray(tx.protect(rtp(11, b"voice")))
    tampered[14] ^= 1
    other = outbound(profile, os.urandom(PROFILES[profile])).protect(rtp(12, b"voice"))
    assert receive(rx, good)[0] == 0
    reasons = {
        name: pylibsrtp.ERRORS[receive(rx, bytes(datagram))[0]]
        for name, datagram in (("tampered", tampered), ("replayed", good), ("foreign", other))
    }
    assert reasons == {
        "tampered": "authentication failure",
        "replayed": "replay check failed (bad index)",
        "foreign": "authentication failure",
    }


@pytest.mark.parametrize(
    "plain",
    [
        # (CSRCs or an extension past the end: libsrtp refuses to protect or unprotect it)
        rtp(22, b"ab", padding=1)[:-1] + b"\x09",  # padding longer than the payload
        rtp(23, b"ab", padding=1)[:-1] + b"\x00",  # padding of no bytes
        b"\x40" + rtp(24, b"version 1")[1:],
    ],
)
def test_what_is_not_rtp_after_unprotecting_is_refused(plain: bytes) -> None:
    profile = Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    key = os.urandom(PROFILES[profile])
    tx, rx = outbound(profile, key), inbound(profile, key)
    datagram = tx.protect(plain)
    with pytest.raises(ValueError):
        RtpPacket.parse(plain)
    assert receive(rx, datagram)[0] == -1


@pytest.mark.parametrize("size", [0, 1, 11, 1501, 4000])
def test_datagrams_too_short_or_too_long_are_not_rtp(size: int) -> None:
    profile = Policy.SRTP_PROFILE_AEAD_AES_128_GCM
    rx = inbound(profile, os.urandom(PROFILES[profile]))
    assert receive(rx, bytes([0x80]) + os.urandom(max(size - 1, 0)) if size else b"")[0] == -1


# -- RTCP ------------------------------------------------------------------------------------

BLOCK = RtcpReceiverInfo(SSRC, 12, 40, 1000, 0, 0, 0)


def sr(packets: int = 0, reports: tuple[RtcpReceiverInfo, ...] = ()) -> bytes:
    info = RtcpSenderInfo(ntp_timestamp=1 << 40, rtp_timestamp=960, packet_count=packets,
                          octet_count=packets * 100)  # fmt: skip
    return bytes(RtcpSrPacket(ssrc=7, sender_info=info, reports=list(reports)))


SDES = bytes(RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=7, items=[(1, b"{cname}")])]))
EMPTY_RR = bytes(RtcpRrPacket(ssrc=7))
APP = struct.pack("!BBHI4s", 0x80, 204, 2, 7, b"kels")
XR = struct.pack("!BBHIBBHII", 0x80, 207, 4, 7, 4, 0, 2, 1, 2)  # an RRTR block
NACK = bytes(RtcpRtpfbPacket(fmt=1, ssrc=7, media_ssrc=SSRC, lost=[5, 6]))
PLI = bytes(RtcpPsfbPacket(fmt=1, ssrc=7, media_ssrc=SSRC))
REMB = bytes(RtcpPsfbPacket(fmt=15, ssrc=7, media_ssrc=0, fci=pack_remb_fci(300_000, [SSRC])))

NOTHING = {  # compound packets that nobody reads: idle senders and receivers
    "idle sender (aiortc's, every second)": sr() + SDES,
    "empty receiver report": EMPTY_RR + SDES,
    "app and xr": EMPTY_RR + APP + XR,
    "sdes alone": SDES,
}
SOMETHING = {  # what Kelas or aiortc reads, alone or after an idle report
    "sender report of packets sent": sr(packets=3) + SDES,
    "idle sender report with a block": sr(reports=(BLOCK,)),
    "receiver report with a block": bytes(RtcpRrPacket(ssrc=7, reports=[BLOCK])) + SDES,
    "bye": sr() + bytes(RtcpByePacket(sources=[7])),
    "nack": EMPTY_RR + NACK,
    "pli": sr() + SDES + PLI,
    "remb": EMPTY_RR + REMB,
    "an unknown type": EMPTY_RR + struct.pack("!BBHI", 0x80, 199, 1, 7),
}
MALFORMED = {  # Python's parse decides, as aiortc's would
    "too short": b"\x80\xc9\x00",
    "version 1": b"\x40" + EMPTY_RR[1:],
    "length past the end": EMPTY_RR[:2] + b"\x00\x09" + EMPTY_RR[4:],
    "bytes left over": EMPTY_RR + b"\x00\x00",
    "a sender report cut short": sr()[:1] + b"\xc8\x00\x04" + sr()[4:20],
}


def matters(plain: bytes) -> int:
    return int(lib.kl_rtcp_matters(plain, len(plain)))


@pytest.mark.parametrize("name", NOTHING)
def test_rtcp_that_nobody_reads_goes_no_further(name: str) -> None:
    plain = NOTHING[name]
    assert matters(plain) == 0
    for packet in RtcpPacket.parse(plain):  # and indeed: no report, nothing sent
        assert not getattr(packet, "reports", []), packet
        info = getattr(packet, "sender_info", None)
        assert info is None or info.packet_count == 0


@pytest.mark.parametrize("name", SOMETHING)
def test_rtcp_with_something_to_read_goes_to_python(name: str) -> None:
    assert matters(SOMETHING[name]) == 1


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_rtcp_goes_to_python_which_drops_it_as_aiortc_does(name: str) -> None:
    assert matters(MALFORMED[name]) == 1


def receive_rtcp(session: Session, datagram: bytes) -> tuple[int, int, bytearray]:
    plain = ffi.new("int *")
    buffer = bytearray(datagram)
    status = lib.kl_receive_rtcp(srtp_of(session), ffi.from_buffer(buffer), len(buffer), plain)
    return status, int(plain[0]), buffer


@pytest.mark.parametrize("profile", PROFILES)
def test_srtcp_is_unprotected_in_place_and_only_what_matters_is_handed_on(profile: int) -> None:
    key = os.urandom(PROFILES[profile])
    tx, rx = outbound(profile, key), inbound(profile, key)
    for compound in (*SOMETHING.values(), *NOTHING.values()):
        status, plain, buffer = receive_rtcp(rx, tx.protect_rtcp(compound))
        assert status == 0
        assert plain == (len(compound) if matters(compound) else 0)
        assert bytes(buffer[: len(compound)]) == compound


def test_tampered_replayed_and_short_srtcp_is_refused() -> None:
    profile = Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    key = os.urandom(PROFILES[profile])
    tx, rx = outbound(profile, key), inbound(profile, key)
    good = tx.protect_rtcp(NACK)
    tampered = bytearray(tx.protect_rtcp(PLI))
    tampered[9] ^= 1
    assert receive_rtcp(rx, good)[:2] == (0, len(NACK))
    assert pylibsrtp.ERRORS[receive_rtcp(rx, bytes(tampered))[0]] == "authentication failure"
    assert pylibsrtp.ERRORS[receive_rtcp(rx, good)[0]] == "replay check failed (bad index)"
    for size in (0, 7, 1501):
        assert receive_rtcp(rx, bytes([0x80, 200]) + os.urandom(max(size - 2, 0)))[0] == -1


def test_a_received_packets_extensions_are_aiortcs_read_when_first_asked_for() -> None:
    extensions_map = HeaderExtensionsMap()
    extensions_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri=AUDIO_LEVEL),
                RTCRtpHeaderExtensionParameters(id=3, uri=MID),
            ]
        )
    )
    profile, elements = extensions_map.set(HeaderExtensions(audio_level=(True, 30), mid="1"))
    packet = Received(111, 0, 5, 960, SSRC, b"voice")
    assert packet.extensions == HeaderExtensions()  # none came with it
    packet.unparsed = (extensions_map, profile, elements)
    assert packet.extensions == extensions_map.get(profile, elements)
    assert (packet.extensions.audio_level, packet.extensions.mid) == ((True, 30), "1")
    packet.extensions = HeaderExtensions(mid="2")  # set, as aiortc's code may
    assert packet.extensions.mid == "2" and packet.unparsed is None


def test_random_and_mangled_rtcp_is_dropped_in_c_only_when_aiortc_would_route_nothing() -> None:
    """What C drops (kl_rtcp_matters 0) is never something aiortc's parser would hand anyone:
    over random bytes and over valid compounds cut, extended and with bytes flipped."""
    rng = random.Random(11)
    seeds = [*NOTHING.values(), *SOMETHING.values()]
    dropped = 0
    for attempt in range(20_000):
        if attempt % 4 == 0:
            data = rng.randbytes(rng.randrange(0, 120))
        else:
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data[: rng.randrange(len(data) + 1)] + rng.randbytes(rng.choice((0, 4))))
        if matters(data):
            continue
        dropped += 1
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            continue  # aiortc drops it too
        for packet in packets:
            assert isinstance(packet, (RtcpSrPacket, RtcpRrPacket, RtcpSdesPacket)), data
            assert not getattr(packet, "reports", []), data
            assert not isinstance(packet, RtcpSrPacket) or packet.sender_info.packet_count == 0
    assert dropped > 100  # the property was tried on what C drops
