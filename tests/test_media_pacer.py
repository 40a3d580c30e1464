"""The pacer per subscriber (signaling/media/pacer.py), table-driven where it is pure (times are
passed in), and on the event loop with real packets through a real socket."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import struct
import time
from types import SimpleNamespace

import pytest
from pylibsrtp import Policy, Session

from signaling.media.native import ffi, lib, srtp_of
from signaling.media.pacer import (
    MAX_WAIT_S,
    MIN_BURST,
    PACE_FLOOR_BPS,
    PacedWire,
    Pacer,
    pace,
)
from signaling.media.wire import sockaddr

PACKET = 1200


def rtp(seq: int, size: int = PACKET) -> bytes:
    return struct.pack("!BBHII", 0x80, 96, seq, 0, 1) + bytes(size - 12)


def leave_times(rate: float, offers: list[tuple[float, int, bool]], until: float) -> list[float]:
    """When each offered packet (time, size, resend) leaves, stepping every millisecond."""
    pacer = Pacer(rate=rate)
    left: dict[int, float] = {}
    pending = sorted(enumerate(offers), key=lambda o: o[1][0])
    step = 0.0
    while step <= until:
        while pending and pending[0][1][0] <= step:
            index, (_, size, resend) = pending.pop(0)
            if pacer.offer(rtp(index, size), step, resend=resend):
                left[index] = step
        for index in pacer.due(step, seen=len(offers)):
            left[index] = step
        step = round(step + 0.001, 6)
    return [left.get(i, float("nan")) for i in range(len(offers))]


def test_a_normal_frame_leaves_at_once() -> None:
    # 125 kB/s (1 Mbit/s): the bucket holds 20 ms, 2,500 bytes: two packets of a frame go.
    assert leave_times(125_000, [(0.0, PACKET, False), (0.0, PACKET, False)], 0.01) == [0.0, 0.0]


def test_a_keyframe_burst_is_spread_at_the_pace() -> None:
    burst = [(0.0, PACKET, False)] * 30  # 36 kB at once
    left = leave_times(125_000, burst, 1.0)
    assert left[:2] == [0.0, 0.0]
    # At 125 kB/s, 36 kB take about 0.27 s; the queue rule (MAX_WAIT_S) lets it go a bit
    # faster while it is long, never slower.
    assert 0.15 <= left[-1] <= 0.3, left
    gaps = [b - a for a, b in zip(left, left[1:], strict=False)]
    assert max(gaps) <= 0.012 and left == sorted(left)


def test_a_pace_set_far_too_low_delays_but_never_starves() -> None:
    burst = [(0.0, PACKET, False)] * 100  # 120 kB at a pace of 1 kB/s
    left = leave_times(1_000, burst, 2.0)
    assert max(left) <= 2 * MAX_WAIT_S, left  # the queue rule drains it


def test_resends_overtake_queued_media() -> None:
    offers = [(0.0, PACKET, False)] * 10 + [(0.001, PACKET, True)]
    left = leave_times(125_000, offers, 1.0)
    assert left[10] < left[5], left


def test_audio_takes_from_the_bucket_without_waiting() -> None:
    pacer = Pacer(rate=125_000)
    for _ in range(10):
        pacer.take(PACKET, 0.0)  # audio: left at once
    assert not pacer.offer(rtp(1), 0.0)  # video behind it waits for the bucket
    assert pacer.due(0.0, seen=1) == [] and pacer.due(0.1, seen=1) == [1]
    assert len(pacer) == 0 and pacer.queued_bytes == 0


@pytest.mark.parametrize(
    ("estimate", "forwarded", "planned", "expected"),
    [
        (1_000_000, 2_000_000, 2_000_000, 1_500_000),  # the link is known full: 1.5 x it
        (None, 1_000_000, 400_000, 2_500_000),  # not known: 2.5 x what goes, or is planned
        (None, 100_000, 600_000, 1_500_000),
        (None, 0, 0, PACE_FLOOR_BPS),  # nothing yet: the floor
        (50_000, 0, 0, PACE_FLOOR_BPS),
    ],
)
def test_the_pace(estimate: int | None, forwarded: float, planned: float, expected: int) -> None:
    assert pace(estimate, forwarded, planned) == pytest.approx(expected)


async def test_on_the_event_loop_a_burst_leaves_in_order_at_the_pace() -> None:
    """Through a real UDP socket, SRTP-protected by the subscriber's way out: 40 packets
    offered at once at 400 kbit/s (50 kB/s) leave in order, the first at once and the last
    some 0.2 s later (the queue rule); what waited carries the abs-send-time it left at."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    key, profile = bytes(range(30)), Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    session = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
    out = SimpleNamespace(c=ffi.gc(lib.kl_out_new(), lib.kl_out_free))
    out.c.srtp = srtp_of(session)
    address = sockaddr(*receiver.getsockname())
    lib.kl_out_route(out.c, os.dup(sender.fileno()), address, len(address))
    opened = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile))
    loop = asyncio.get_running_loop()
    arrived: list[tuple[float, bytes]] = []
    done = asyncio.Event()

    def readable() -> None:
        while True:
            try:
                data = receiver.recv(2048)
            except BlockingIOError:
                return
            arrived.append((time.monotonic(), opened.unprotect(data)))
            if sum(struct.unpack("!H", d[2:4])[0] < 1000 for _, d in arrived) == 40:
                done.set()

    loop.add_reader(receiver.fileno(), readable)
    stamps: list[bool] = []

    def leave(data: bytes, stamp: bool) -> None:
        stamps.append(stamp)
        assert lib.kl_out_send(out.c, data, len(data), stamp, time.monotonic()) == lib.KL_SENT

    paced, gone = PacedWire(), PacedWire()
    for wire in (paced, gone):  # two subscribers: one timer steps both (pacer._Steps)
        wire.attach(out)
        wire.set_pace(400_000)
    start = time.monotonic()
    try:
        for n in range(40):
            for wire, seq, ssrc in ((paced, n, 1), (gone, 1000 + n, 2)):
                # abs-send-time as C builds it (id 3), zero until stamped
                header = struct.pack("!BBHIIHHB3x", 0x90, 96, seq, 0, ssrc, 0xBEDE, 1, 0x32)
                data = header + bytes(PACKET - 20)
                wire.send(leave, data, time.monotonic(), audio=False, stamp=True)
        assert len(gone.pacer) > 0
        gone.close()  # that subscriber left: what waited for them never leaves
        assert len(gone.pacer) == 0
        await asyncio.wait_for(done.wait(), 5)
    finally:
        loop.remove_reader(receiver.fileno())
        paced.close()
        receiver.close()
        sender.close()
    went = MIN_BURST // PACKET
    arrived_gone = [d for _, d in arrived if struct.unpack("!H", d[2:4])[0] >= 1000]
    assert len(arrived_gone) == went  # only what left before the close
    arrived = [(at, d) for at, d in arrived if struct.unpack("!H", d[2:4])[0] < 1000]
    assert [struct.unpack("!H", d[2:4])[0] for _, d in arrived] == list(range(40))
    assert arrived[0][0] - start < 0.05
    spread = arrived[-1][0] - arrived[0][0]
    assert 0.1 <= spread <= 1.0, spread  # 48 kB at 50 kB/s, hurried by the queue rule
    # The bucket let the first packets go as they came, as built; the rest waited in C and
    # were stamped when they left.
    assert stamps == [False] * 2 * went
    assert all(d[17:20] == bytes(3) for _, d in arrived[:went])
    assert all(d[17:20] != bytes(3) for _, d in arrived[went:])
    assert len(paced.pacer) == 0


def test_the_steps_drain_every_waiting_bucket_and_let_go_of_the_empty_ones() -> None:
    """kl_steps: the buckets that wait, stepped in one C call; a bucket leaves them once
    nothing waits in it, when it is cleared, or when it is freed; steps freed first leave
    their buckets unlisted (no dangling pointer either way)."""
    steps = ffi.gc(lib.kl_steps_new(), lib.kl_steps_free)
    pacers = [Pacer(rate=10_000) for _ in range(3)]  # 10 kB/s: two packets leave at once
    for extra, pacer in enumerate(pacers):
        for _ in range(3 + extra):
            pacer.offer(bytes(1200), 0.0)
        lib.kl_steps_add(steps, pacer.bucket)
        lib.kl_steps_add(steps, pacer.bucket)  # once, however often it is said
    assert steps.count == 3
    assert [len(p) for p in pacers] == [1, 2, 3]
    assert lib.kl_steps_run(steps, 0.05) == 2  # one more each: the first is empty, let go
    assert [len(p) for p in pacers] == [0, 1, 2]
    pacers[1].clear()  # a subscriber who left
    assert steps.count == 1 and pacers[2].bucket.steps == steps
    assert lib.kl_steps_run(steps, 0.5) == 0  # what waited MAX_WAIT_S leaves anyway
    assert steps.first == ffi.NULL and steps.last == ffi.NULL
    lib.kl_steps_add(steps, pacers[0].bucket)
    lib.kl_steps_add(steps, pacers[2].bucket)
    del pacers[0]
    gc.collect()  # its bucket is freed: it unlists itself
    assert steps.count == 1 and steps.first == pacers[1].bucket
    del steps
    gc.collect()  # the steps are freed first: the bucket is unlisted
    assert pacers[1].bucket.steps == ffi.NULL
