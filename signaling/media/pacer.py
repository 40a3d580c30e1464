"""A pacer per subscriber: what the server sends a person leaves at about the pace their link
carries, not in bursts (issue 9, "Lossy and slow links").

A keyframe is several times a normal frame, and the server forwards each packet the moment it
arrives: some 30 packets in a millisecond, onto a home link whose router holds 100 ms of
traffic. On a 1.5 Mbit/s link that is 19 KB; a camera's keyframe and the frames of the
others around it overflow it, the tail of the keyframe is lost, and the picture freezes
while it is resent or asked for again. libwebrtc paces what a browser sends for the same
reason (its pacer sends at 2.5 x its estimate, in 5 ms steps).

Here video packets and resends leave within a token bucket of ``rate`` bytes/s holding
BURST_S of it; what does not fit waits in order (resends first: a resend that comes late is
of no use) and leaves every STEP_S. Audio never waits: it leaves at once and only takes its
bytes from the bucket, so the voices never queue behind a keyframe. Nothing waits more than
MAX_WAIT_S: while the queue holds more than that at the pace, the pace rises to empty it
within that time, and what has waited that long leaves anyway (as libwebrtc's queue time
limit), so a pace set too low delays, never starves.

The pace (``pace``) is PACE_LIMITED times the subscriber's estimate while their link is
known to be full (downlink.py), else PACE_FREE times what they receive (or are planned to),
never below PACE_FLOOR_BPS.

A packet that waited is stamped with its abs-send-time again when it leaves: a browser
estimates its link from those stamps (its REMB), and a stamp from before the wait would show
it the pacer's queue as a congested link.

The bucket and the queue are C's (native/fanout.c): a packet is held as built, and leaves
protected by the subscriber's way out (``PacedWire.attach``), so a paced packet costs no
Python. ``Pacer`` passes the times in (its tests are table-driven); ``PacedWire`` runs it on
the event loop: one timer per loop steps every pacer that has something waiting, in one C
call (at 64 subscribers, a Python call per pacer per step was 12,800 calls a second).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any

from signaling.media.native import ffi, lib

# The bucket is C's (native/fanout.c: a forwarded packet takes from it there); these are its.
BURST_S = float(lib.KL_BURST_S)  # the bucket holds 20 ms at the pace: a frame leaves at once
MAX_WAIT_S = float(lib.KL_MAX_WAIT_S)
MIN_BURST = int(lib.KL_MIN_BURST)  # bytes: two full packets, whatever the pace
STEP_S = 0.005
PACE_LIMITED = 1.5
PACE_FREE = 2.5
PACE_FLOOR_BPS = 300_000


def pace(estimate: int | None, forwarded_bps: float, planned_bps: float) -> float:
    """The pace for a subscriber, in bits/s of RTP payload (as the estimate counts)."""
    if estimate is not None:
        return max(PACE_LIMITED * estimate, PACE_FLOOR_BPS)
    return max(PACE_FREE * max(forwarded_bps, planned_bps), PACE_FLOOR_BPS)


class Pacer:
    """A token bucket and its queue (C's ``kl_bucket``), ``rate`` in bytes/s. A slot's packets
    take from the same bucket in C, and wait there when it is empty; they leave only while
    nothing waits (order is kept)."""

    def __init__(self, rate: float = PACE_FLOOR_BPS / 8) -> None:
        self.bucket: Any = ffi.gc(lib.kl_bucket_new(), lib.kl_bucket_free)
        if self.bucket == ffi.NULL:  # pragma: no cover
            raise MemoryError
        self.bucket.rate = rate

    @property
    def rate(self) -> float:
        return float(self.bucket.rate)

    @rate.setter
    def rate(self, rate: float) -> None:
        self.bucket.rate = rate

    @property
    def queued_bytes(self) -> int:
        return int(self.bucket.queued_bytes)

    def __len__(self) -> int:
        return int(self.bucket.queued)

    def take(self, size: int, now: float) -> None:
        """``size`` bytes that left without waiting (audio)."""
        lib.kl_take(self.bucket, size, now)

    def offer(self, rtp: bytes, now: float, *, resend: bool = False, restamp: bool = False) -> bool:
        """Whether the RTP packet ``rtp`` may leave now; if not, it waits (``restamp``: its
        abs-send-time is set when it leaves)."""
        if lib.kl_try(self.bucket, len(rtp), now):
            return True
        lib.kl_hold(self.bucket, rtp, len(rtp), restamp, resend, now)
        return False

    def due(self, now: float, seen: int = 0) -> list[int]:
        """Let leave what may leave now; the sequence numbers of the first ``seen`` of them."""
        left = ffi.new("uint16_t[]", seen) if seen else ffi.NULL
        count = lib.kl_drain(self.bucket, now, left, seen)
        return [int(left[i]) for i in range(min(count, seen))]

    def clear(self) -> None:
        lib.kl_bucket_clear(self.bucket)


Leave = Callable[[bytes, bool], None]  # send a packet; True: stamp its abs-send-time anew


class PacedWire:
    """One subscriber's pacer on the event loop, for the packets of all their slots: what
    waits leaves by their way out (``attach``)."""

    def __init__(self) -> None:
        self.pacer = Pacer()
        self._out: Any = None  # kept: C sends by it
        self._steps: _Steps | None = None  # its loop's, once something waited

    def attach(self, out: Any) -> None:
        """The subscriber's way out (wire.Out, one per bundled transport)."""
        if self._out is not out:
            self._out = out
            self.pacer.bucket.out = out.c

    def set_pace(self, bits_per_second: float) -> None:
        self.pacer.rate = bits_per_second / 8

    def send(self, leave: Leave, data: bytes, now: float, *, audio: bool, stamp: bool,
             resend: bool = False) -> None:  # fmt: skip
        """Send ``data`` now (by ``leave``) or when the pace allows. ``stamp``: it carries
        abs-send-time, stamped when it was built; a resend is stamped again when it leaves,
        and so is whatever waited."""
        if audio:
            self.pacer.take(len(data), now)
            leave(data, stamp and resend)
        elif self.pacer.offer(data, now, resend=resend, restamp=stamp):
            leave(data, stamp and resend)
        else:
            self.arm()

    def arm(self) -> None:
        """Something waits (C's kl_forward held it, or ``send`` did): step until it left."""
        if self._steps is None:  # (asking for the loop each time costs a getpid)
            self._steps = _Steps.of(asyncio.get_running_loop())
        self._steps.add(self.pacer.bucket)

    def close(self) -> None:
        self.pacer.clear()  # and out of the steps (C)


class _Steps:
    """The pacers' 5 ms steps on one event loop: one timer for every pacer with something
    waiting, not one per subscriber (at 64 subscribers those were 12,800 timers a second),
    and one C call per step (``kl_steps``: the buckets that wait)."""

    _of: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Steps] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _Steps:
        steps = cls._of.get(loop)
        if steps is None:
            steps = cls._of[loop] = cls()
        return steps

    def __init__(self) -> None:
        self.c: Any = ffi.gc(lib.kl_steps_new(), lib.kl_steps_free)
        if self.c == ffi.NULL:  # pragma: no cover
            raise MemoryError
        self._timer: asyncio.TimerHandle | None = None

    def add(self, bucket: Any) -> None:
        lib.kl_steps_add(self.c, bucket)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(STEP_S, self._step)

    def _step(self) -> None:
        self._timer = None
        if lib.kl_steps_run(self.c, time.monotonic()):
            self._timer = asyncio.get_running_loop().call_later(STEP_S, self._step)
