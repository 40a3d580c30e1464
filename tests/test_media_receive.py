"""An inbound RTP packet in C (native/fanout.c, ``kl_receive``): unprotected with an inbound
session as aiortc makes it, then read exactly as aiortc's RtpPacket.parse reads it, for
every shape of header; what fails authentication or replays, and what is not RTP, is
refused with a reason."""

from __future__ import annotations

import os
import struct
from typing import Any

import pylibsrtp
import pytest
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session

from signaling.media.native import ffi, lib, srtp_of
from tests.test_media_native import PROFILES, outbound

SSRC = 0x0BAD_CAFE


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
