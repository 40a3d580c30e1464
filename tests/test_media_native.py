"""The native packet path (signaling/media/native/fanout.c) on its own, through real UDP
sockets: what it sends, protected with an outbound session as aiortc makes it, is SRTP that
libsrtp (pylibsrtp, as aiortc's receive side) opens to exactly the packet a slot should
send; bad sizes, missing keys and routes are refused cleanly."""

from __future__ import annotations

import os
import random
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from aiortc.rtp import RtcpPacket, RtcpSdesPacket, RtcpSrPacket
from pylibsrtp import Policy, Session

from signaling.media.native import ffi, lib, srtp_of
from signaling.media.wire import sockaddr

PROFILES = {  # libsrtp profile -> master key + salt length
    Policy.SRTP_PROFILE_AES128_CM_SHA1_80: 30,
    Policy.SRTP_PROFILE_AEAD_AES_128_GCM: 28,
    Policy.SRTP_PROFILE_AEAD_AES_256_GCM: 44,
}
SSRC, PT = 0x1234_5678, 96


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def outbound(profile: int, key: bytes) -> Session:
    """An outbound session as aiortc's DTLS transport makes it (its ``_tx_srtp``)."""
    policy = Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
    policy.allow_repeat_tx, policy.window_size = True, 1024
    return Session(policy)


def out_to(receiver: socket.socket, profile: int, key: bytes) -> Any:
    session = outbound(profile, key)
    out = ffi.gc(lib.kl_out_new(), lambda out, kept=session: lib.kl_out_free(out))
    out.srtp = srtp_of(session)  # the session lives as long as the out (the destructor's)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    address = sockaddr(*receiver.getsockname())
    lib.kl_out_route(out, os.dup(sender.fileno()), address, len(address))
    sender.close()  # C sends on its own duplicate
    return out


def opener(profile: int, key: bytes) -> Session:
    policy = Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile)
    return Session(policy)


def slot(
    out: Any, *, audio: bool = False, send_time_id: int = 0, bucket: Any = None,
    history: Any = None,
) -> Any:  # fmt: skip
    core = ffi.gc(lib.kl_slot_new(), lib.kl_slot_free)
    core.out, core.ssrc, core.payload_type = out, SSRC, PT
    core.audio, core.send_time_id, core.clock_rate = audio, send_time_id, 90_000
    if bucket is not None:
        core.bucket = bucket
    if history is not None:
        core.history = history
    return core


def history() -> Any:
    return ffi.gc(lib.kl_history_new(), lib.kl_history_free)


def forward(
    core: Any, kept: Any, payload: bytes, seq: int, ts: int, marker: int, now: float
) -> int:
    """What Source.on_rtp does for one slot: keep the packet, then forward it."""
    lib.kl_history_add(kept, payload, len(payload), seq, ts, marker, now)
    return int(lib.kl_forward(core, payload, len(payload), ffi.NULL, seq, ts, marker, now))


def rebuilt(core: Any, seq: int, now: float) -> bytes:
    into = ffi.new("uint8_t[]", lib.KL_MAX)
    return ffi.buffer(into, lib.kl_rebuild(core, seq, now, into))[:]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_forwarded_packet_opens_with_the_same_keys_to_the_renumbered_packet(
    receiver: socket.socket, profile: int
) -> None:
    key = bytes(range(PROFILES[profile]))
    out = out_to(receiver, profile, key)
    core = slot(out)
    session = opener(profile, key)
    payload = bytes(random.Random(profile).randrange(256) for _ in range(1100))
    for n, (seq, ts) in enumerate([(40_000, 7_000), (40_001, 10_000)]):
        assert (
            lib.kl_forward(core, payload, len(payload), ffi.NULL, seq, ts, n == 1, 5.0)
            == lib.KL_SENT
        )
        packet = session.unprotect(receiver.recv(2048))
        first, second, out_seq, out_ts, ssrc = struct.unpack("!BBHII", packet[:12])
        assert (first, second & 0x7F, second >> 7) == (0x80, PT, n)
        assert (out_seq, out_ts, ssrc) == (n, 1 + 3000 * n, SSRC)  # the slot's own numbering
        assert packet[12:] == payload
    assert (core.packets, core.octets, core.sr_rtp) == (2, 2 * len(payload), 3001)
    assert (out.sent, out.dropped, out.errors) == (2, 0, 0)


def test_abs_send_time_is_written_at_build_and_again_when_a_packet_is_sent_later(
    receiver: socket.socket,
) -> None:
    profile = Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    key = bytes(30)
    out, session = out_to(receiver, profile, key), opener(profile, key)
    kept = history()
    core = slot(out, send_time_id=3, history=kept)
    assert forward(core, kept, b"\x10abc", 1, 1, 1, 2.0) == lib.KL_SENT
    packet = session.unprotect(receiver.recv(2048))
    assert packet[0] == 0x90 and packet[12:17] == bytes([0xBE, 0xDE, 0, 1, 0x32])
    assert int.from_bytes(packet[17:20], "big") == 2 * 262144
    assert packet[20:] == b"\x10abc"
    # A resend, built again from history, and stamped anew when it leaves.
    kept_packet = rebuilt(core, 0, 2.5)
    assert len(kept_packet) == 24 and int.from_bytes(kept_packet[17:20], "big") == 2.5 * 262144
    assert lib.kl_out_send(out, kept_packet, 24, 1, 3.5) == lib.KL_SENT
    # (a receiver that had the packet would refuse it as a replay: a NACKed one never came)
    again = opener(profile, key).unprotect(receiver.recv(2048))
    assert int.from_bytes(again[17:20], "big") == int(3.5 * 262144)
    assert again[:17] == packet[:17] and again[20:] == packet[20:]


def test_a_source_keeps_its_last_256_packets_and_each_slot_resends_with_its_numbers(
    receiver: socket.socket,
) -> None:
    key = bytes(30)
    out = out_to(receiver, Policy.SRTP_PROFILE_AES128_CM_SHA1_80, key)  # owned here
    kept = history()
    first, second = slot(out, history=kept), slot(out, history=kept)
    for seq in range(1000, 1300):  # 300 packets in 0.3 s
        lib.kl_history_add(kept, bytes([seq % 256]) * 10, 10, seq, seq * 3000, 1, seq / 1000)
        lib.kl_forward(first, bytes([seq % 256]) * 10, 10, ffi.NULL, seq, seq * 3000, 1, seq / 1000)
        if seq >= 1200:  # the second joined later: its numbers start at 0 there
            lib.kl_forward(
                second, bytes([seq % 256]) * 10, 10, ffi.NULL, seq, seq * 3000, 1, seq / 1000
            )
    assert rebuilt(first, 43, 1.5) == b""  # source's 1043: overwritten by 1299
    again = rebuilt(first, 299, 1.5)
    assert struct.unpack("!HI", again[2:8]) == (299, 1 + 299 * 3000)
    assert again[12:] == bytes([1299 % 256]) * 10
    again = rebuilt(second, 99, 1.5)  # the same packet, in the second slot's numbering
    assert struct.unpack("!HI", again[2:8]) == (99, 1 + 99 * 3000)
    assert again[12:] == bytes([1299 % 256]) * 10
    assert rebuilt(second, 65535, 1.5) == b""  # before it joined
    assert rebuilt(first, 300, 1.5) == b""  # not sent yet
    second.fresh = 1  # switched: until its next packet, no number of it maps to anything
    assert rebuilt(second, 99, 1.5) == b""
    lib.kl_history_add(kept, bytes(1500), 1500, 1300, 0, 1, 1.5)  # too big to keep
    lib.kl_forward(first, bytes(1500), 1500, ffi.NULL, 1300, 0, 1, 1.5)
    assert rebuilt(first, 300, 1.5) == b""
    audio = slot(out, audio=True)
    lib.kl_forward(audio, b"x", 1, ffi.NULL, 1, 1, 0, 1.0)
    assert rebuilt(audio, 0, 1.0) == b""  # audio keeps nothing


def test_a_source_forgets_what_it_kept_a_second_ago_and_gives_the_memory_back(
    receiver: socket.socket,
) -> None:
    """A student's camera, some 30 packets a second: 256 packets would be 8 s of it."""
    out = out_to(receiver, Policy.SRTP_PROFILE_AES128_CM_SHA1_80, bytes(30))
    kept = history()
    core = slot(out, history=kept)
    for n in range(300):  # 10 s
        assert forward(core, kept, bytes([n % 256]) * 900, 5000 + n, n * 3000, 1, n / 30) == 0
    now = 299 / 30
    held = [i for i in range(lib.KL_KEEP) if kept.ring[i].payload != ffi.NULL]
    assert 29 <= len(held) <= 31  # the last second's, not 256 of them
    assert rebuilt(core, 299, now + 0.5)[12:] == bytes([299 % 256]) * 900
    assert rebuilt(core, 299 - 27, now)[12:] == bytes([(299 - 27) % 256]) * 900  # 0.9 s ago
    assert rebuilt(core, 299 - 33, now) == b""  # 1.1 s ago: gone
    assert rebuilt(core, 299, now + 1.0) == b""  # nothing new came, yet it is a second old
    # One that comes late and out of order is kept, forgets nothing younger than 1 s, and
    # is forgotten in its turn.
    lib.kl_history_add(kept, b"late", 4, 5000 + 298 - 40, 0, 1, now)
    assert rebuilt(core, 298 - 40, now)[12:] == b"late"
    assert rebuilt(core, 299 - 27, now)[12:] == bytes([(299 - 27) % 256]) * 900
    # A source that was silent for a while forgets all it had, at its next packet.
    forward(core, kept, b"next", 5000 + 300, 300 * 3000, 1, now + 5)
    held = [i for i in range(lib.KL_KEEP) if kept.ring[i].payload != ffi.NULL]
    assert held == [(5000 + 300) % lib.KL_KEEP]


def test_an_empty_bucket_holds_video_in_order_and_audio_goes_anyway(
    receiver: socket.socket,
) -> None:
    key = bytes(30)
    out = out_to(receiver, Policy.SRTP_PROFILE_AES128_CM_SHA1_80, key)
    bucket = ffi.gc(lib.kl_bucket_new(), lib.kl_bucket_free)
    bucket.rate, bucket.out = 1000.0, out  # bytes/s: the bucket starts with MIN_BURST, 2,600
    kept = history()
    video = slot(out, bucket=bucket, history=kept, send_time_id=3)
    audio = slot(out, audio=True, bucket=bucket)
    payload = bytes(1200)
    results = [forward(video, kept, payload, n, 0, 0, 1.0) for n in range(3)]
    assert results == [lib.KL_SENT, lib.KL_SENT, lib.KL_WAIT]
    assert (bucket.queued, bucket.queued_bytes) == (1, 1220)  # built, held in C
    assert lib.kl_forward(audio, b"a" * 100, 100, ffi.NULL, 1, 0, 0, 1.0) == lib.KL_SENT
    assert bucket.tokens == 2600 - 2 * 1220 - 112  # audio took its bytes too
    bucket.tokens = 1e6  # later video waits behind what is held, whatever the tokens
    assert lib.kl_forward(video, payload, 1200, ffi.NULL, 3, 0, 0, 1.0) == lib.KL_WAIT
    assert out.sent == 3 and bucket.queued == 2
    left = ffi.new("uint16_t[]", 4)
    assert lib.kl_drain(bucket, 2.0, left, 4) == 2 and list(left)[:2] == [2, 3]
    assert out.sent == 5 and bucket.queued == 0 and bucket.queued_bytes == 0
    # (a fresh opener each: the two slots share an SSRC here, so their numbers interleave)
    packets = [
        opener(Policy.SRTP_PROFILE_AES128_CM_SHA1_80, key).unprotect(receiver.recv(2048))
        for _ in range(5)
    ]
    video_seqs = [
        struct.unpack("!H", p[2:4])[0] for p in packets if p[1] & 0x7F == PT and len(p) > 200
    ]
    assert video_seqs[-2:] == [video_seqs[0] + 2, video_seqs[0] + 3]
    # What waited carries the abs-send-time of when it left, not of when it was built.
    assert packets[-1][17:20] == (int(2.0 * 262144) & 0xFFFFFF).to_bytes(3, "big")
    assert packets[0][17:20] == (int(1.0 * 262144) & 0xFFFFFF).to_bytes(3, "big")


def test_what_waits_is_dropped_without_a_way_out_and_freed_on_clear() -> None:
    bucket = ffi.gc(lib.kl_bucket_new(), lib.kl_bucket_free)
    bucket.rate = 1000.0
    packet = struct.pack("!BBHII", 0x80, PT, 7, 0, SSRC) + bytes(100)
    assert lib.kl_hold(bucket, packet, len(packet), 0, 0, 0.0) == 0
    assert lib.kl_hold(bucket, packet[:11], 11, 0, 0, 0.0) == -1  # not RTP
    assert lib.kl_hold(bucket, bytes(1500), 1500, 0, 0, 0.0) == -1  # too big
    assert lib.kl_drain(bucket, 1.0, ffi.NULL, 0) == 1 and bucket.queued == 0  # no out: dropped
    for _ in range(3):
        lib.kl_hold(bucket, packet, len(packet), 0, 1, 0.0)
    lib.kl_bucket_clear(bucket)
    assert (bucket.queued, bucket.queued_bytes, bucket.resends) == (0, 0, ffi.NULL)
    assert lib.kl_drain(bucket, 2.0, ffi.NULL, 0) == 0


def test_sender_reports_say_each_slots_counts_and_the_rtp_time_of_the_report(
    receiver: socket.socket,
) -> None:
    """RFC 3550 6.4.1: one datagram, for each slot asked for an SR and an SDES with the
    CNAME; the RTP time is the slot's last frame's, carried on to the report's time at the
    clock rate; it opens with the same keys, and aiortc's receivers read it."""
    profile, key = Policy.SRTP_PROFILE_AES128_CM_SHA1_80, bytes(range(30))
    out = out_to(receiver, profile, key)
    video, audio = slot(out), slot(out, audio=True)
    audio.ssrc, audio.clock_rate = 0x0BAD_CAFE, 48_000
    lib.kl_forward(video, bytes(1000), 1000, ffi.NULL, 5, 90_000, 1, 10.0)
    for n in range(3):
        lib.kl_forward(audio, bytes(100), 100, ffi.NULL, n, 960 * n, 0, 10.0)
    for _ in range(4):
        receiver.recv(2048)  # the RTP
    ntp = (3_000_000_000 << 32) | (1 << 31)
    array = ffi.new("kl_slot *[]", [video, audio])
    assert lib.kl_reports(out, array, 2, ntp, 10.5, b"kelas-cname", 11) == 1
    packets = RtcpPacket.parse(opener(profile, key).unprotect_rtcp(receiver.recv(2048)))
    assert [type(p) for p in packets] == [RtcpSrPacket, RtcpSdesPacket] * 2
    sr_video, sdes_video, sr_audio, sdes_audio = packets
    assert (sr_video.ssrc, sr_audio.ssrc) == (SSRC, 0x0BAD_CAFE)
    assert sr_video.sender_info.ntp_timestamp == ntp == sr_audio.sender_info.ntp_timestamp
    base_video = sr_video.sender_info.rtp_timestamp - 45_000  # 0.5 s on at 90 kHz
    base_audio = sr_audio.sender_info.rtp_timestamp - 24_000  # at 48 kHz
    assert (base_video, base_audio) == (video.sr_rtp, audio.sr_rtp)
    assert (sr_video.sender_info.packet_count, sr_video.sender_info.octet_count) == (1, 1000)
    assert (sr_audio.sender_info.packet_count, sr_audio.sender_info.octet_count) == (3, 300)
    assert [(c.ssrc, c.items) for sdes in (sdes_video, sdes_audio) for c in sdes.chunks] == [
        (SSRC, [(1, b"kelas-cname")]),
        (0x0BAD_CAFE, [(1, b"kelas-cname")]),
    ]


def test_many_slots_report_in_datagrams_that_fit_and_bad_calls_are_refused(
    receiver: socket.socket,
) -> None:
    profile, key = Policy.SRTP_PROFILE_AEAD_AES_128_GCM, bytes(28)
    out = out_to(receiver, profile, key)
    slots = [slot(out) for _ in range(40)]
    for n, core in enumerate(slots):
        core.ssrc = 1000 + n
        lib.kl_forward(core, b"x", 1, ffi.NULL, 1, 1, 1, 1.0)
        receiver.recv(2048)  # its RTP
    array = ffi.new("kl_slot *[]", slots)
    cname = b"c" * 255
    sent = lib.kl_reports(out, array, 40, 1 << 32, 1.0, cname, 255)
    assert sent > 1
    opened, reported = opener(profile, key), []
    for _ in range(sent):
        datagram = receiver.recv(4096)
        assert len(datagram) <= 1200
        packets = RtcpPacket.parse(opened.unprotect_rtcp(datagram))
        reported += [p.ssrc for p in packets if isinstance(p, RtcpSrPacket)]
        names = [c for p in packets if isinstance(p, RtcpSdesPacket) for c in p.chunks]
        assert [c.ssrc for c in names] == reported[-len(names) :]
        assert all(c.items == [(1, cname)] for c in names)
    assert reported == [1000 + n for n in range(40)]
    assert lib.kl_reports(out, array, 1, 0, 1.0, bytes(256), 256) == -lib.KL_TOOBIG
    unrouted = ffi.gc(lib.kl_out_new(), lib.kl_out_free)
    assert lib.kl_reports(unrouted, array, 1, 0, 1.0, b"c", 1) == -lib.KL_NOROUTE


def test_a_subscribers_slots_are_summed_and_the_ones_that_forwarded_picked_in_c(
    receiver: socket.socket,
) -> None:
    """What Peer.measure and Peer.report read of all of a subscriber's slots each second."""
    profile, key = Policy.SRTP_PROFILE_AES128_CM_SHA1_80, bytes(range(30))
    out = out_to(receiver, profile, key)
    slots = [slot(out, audio=True), slot(out, audio=True), slot(out), slot(out), slot(out)]
    for n, core in enumerate(slots):
        core.ssrc = 2000 + n
    sizes = {1: 100, 2: 1000, 4: 700}  # slots 0 and 3 forward nothing
    for index, size in sizes.items():
        for seq in range(3):
            lib.kl_forward(slots[index], bytes(size), size, ffi.NULL, seq, seq * 960, 1, 1.0)
            receiver.recv(2048)
    array = ffi.new("kl_slot *[]", slots)
    totals = ffi.new("unsigned long long[2]")
    lib.kl_octets(array, len(slots), 2, totals)
    assert (totals[0], totals[1]) == (3 * 100, 3 * (1000 + 700))
    lib.kl_octets(array, len(slots), 0, totals)  # no audio slots: all of it is video
    assert (totals[0], totals[1]) == (0, 3 * (100 + 1000 + 700))
    used = ffi.new("kl_slot *[]", len(slots))
    count = lib.kl_used(array, len(slots), used)
    assert [int(used[i].ssrc) for i in range(count)] == [2001, 2002, 2004]
    assert lib.kl_used(array, 0, used) == 0


def test_bad_sizes_keys_and_routes_are_refused(receiver: socket.socket) -> None:
    profile = Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    out = ffi.gc(lib.kl_out_new(), lib.kl_out_free)
    core = slot(out)
    assert (
        lib.kl_forward(core, b"x", 1, ffi.NULL, 1, 1, 1, 1.0) == lib.KL_NOROUTE
    )  # no keys, no socket
    session = outbound(profile, bytes(30))
    out.srtp = srtp_of(session)
    assert (
        lib.kl_forward(core, b"x", 1, ffi.NULL, 1, 1, 1, 1.0) == lib.KL_NOROUTE
    )  # keys, no socket
    out.srtp = ffi.NULL
    routed = out_to(receiver, profile, bytes(30))
    core = slot(routed)
    largest = lib.KL_MAX - 20  # the payload of the largest packet, abs-send-time or not
    assert (
        lib.kl_forward(core, bytes(largest + 1), largest + 1, ffi.NULL, 2, 2, 1, 1.0)
        == lib.KL_TOOBIG
    )
    assert lib.kl_forward(core, bytes(largest), largest, ffi.NULL, 2, 2, 1, 1.0) == lib.KL_SENT
    assert lib.kl_out_send(routed, b"short", 5, 0, 1.0) == lib.KL_TOOBIG  # no RTP header
    assert lib.kl_out_send(routed, bytes(1485), 1485, 0, 1.0) == lib.KL_TOOBIG
    fds = len(os.listdir("/proc/self/fd"))
    lib.kl_out_route(routed, -1, ffi.NULL, 0)  # the transport left CONNECTED
    assert len(os.listdir("/proc/self/fd")) == fds - 1  # its duplicate closed
    assert lib.kl_forward(core, b"x", 1, ffi.NULL, 3, 3, 1, 1.0) == lib.KL_NOROUTE
    too_long = bytes(200)
    lib.kl_out_route(routed, os.dup(receiver.fileno()), too_long, len(too_long))
    assert routed.fd == -1 and len(os.listdir("/proc/self/fd")) == fds - 1


def test_random_packets_never_crash_and_always_get_an_answer(receiver: socket.socket) -> None:
    rng = random.Random(11)
    profile = Policy.SRTP_PROFILE_AEAD_AES_128_GCM
    key = bytes(28)
    out = out_to(receiver, profile, key)
    core = slot(out, send_time_id=rng.randrange(1, 15))
    answers, received = set(), 0
    for n in range(2000):
        size = rng.choice([0, 1, 2, rng.randrange(1500), 1464, 1465, 1600])
        payload = rng.randbytes(size)
        seq, ts = rng.randrange(1 << 16), rng.randrange(1 << 32)
        if rng.random() < 0.05:
            core.fresh = 1
        session = outbound(profile, key)  # a new sender, as the receiver is
        out.srtp = srtp_of(session)
        answer = lib.kl_forward(core, payload, size, ffi.NULL, seq, ts, rng.randrange(2), n / 50)
        answers.add(answer)
        if answer == lib.KL_SENT:
            # every datagram opens (both ends fresh: random numbers make no stream)
            packet = opener(profile, key).unprotect(receiver.recv(2048))
            assert packet[20:] == payload
            received += 1
    assert answers == {lib.KL_SENT, lib.KL_OLD, lib.KL_TOOBIG}
    assert received == out.sent > 500 and out.dropped == out.errors == 0
