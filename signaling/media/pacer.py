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

The bucket and the queue are pure (``Pacer.offer``, ``Pacer.due``: times are passed in);
``PacedWire`` runs them on the event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

BURST_S = 0.02  # the bucket holds 20 ms at the pace: a normal frame leaves at once
STEP_S = 0.005
MAX_WAIT_S = 0.25
PACE_LIMITED = 1.5
PACE_FREE = 2.5
PACE_FLOOR_BPS = 300_000
MIN_BURST = 2 * 1300  # bytes: two full packets, whatever the pace
SEND_TIME_AT = 17  # where abs-send-time's 3 bytes are in a packet the slot built (forwarding.py)

Item = TypeVar("Item")


def pace(estimate: int | None, forwarded_bps: float, planned_bps: float) -> float:
    """The pace for a subscriber, in bits/s of RTP payload (as the estimate counts)."""
    if estimate is not None:
        return max(PACE_LIMITED * estimate, PACE_FLOOR_BPS)
    return max(PACE_FREE * max(forwarded_bps, planned_bps), PACE_FLOOR_BPS)


def stamped(packet: bytes, now: float) -> bytes:
    """``packet`` with its abs-send-time (6.18 fixed-point seconds, 24 bits) set to ``now``."""
    value = int(now * 262144) & 0xFFFFFF
    return packet[:SEND_TIME_AT] + value.to_bytes(3, "big") + packet[SEND_TIME_AT + 3 :]


@dataclass
class Pacer(Generic[Item]):
    """A token bucket and a queue of ``(item, size)``; ``rate`` in bytes/s."""

    rate: float = PACE_FLOOR_BPS / 8
    _tokens: float = 0.0
    _at: float | None = None
    _resends: deque[tuple[Item, int, float]] = field(default_factory=deque)
    _media: deque[tuple[Item, int, float]] = field(default_factory=deque)
    queued_bytes: int = 0

    def __len__(self) -> int:
        return len(self._resends) + len(self._media)

    def _refill(self, now: float) -> None:
        # A queue that would wait more than MAX_WAIT_S at this pace goes faster.
        rate = max(self.rate, self.queued_bytes / MAX_WAIT_S)
        cap = max(rate * BURST_S, MIN_BURST)
        if self._at is None:
            self._tokens = cap
        elif now > self._at:
            self._tokens = min(cap, self._tokens + (now - self._at) * rate)
        self._at = now

    def take(self, size: int, now: float) -> None:
        """``size`` bytes that left without waiting (audio)."""
        self._refill(now)
        self._tokens -= size

    def offer(self, item: Item, size: int, now: float, resend: bool = False) -> bool:
        """Whether ``item`` may leave now; if not, it waits (``due``)."""
        self._refill(now)
        if not self and self._tokens >= size:
            self._tokens -= size
            return True
        (self._resends if resend else self._media).append((item, size, now))
        self.queued_bytes += size
        return False

    def due(self, now: float) -> list[Item]:
        """What may leave now, in order: resends first."""
        self._refill(now)
        leaving: list[Item] = []
        for queue in (self._resends, self._media):
            # Within the bucket, and whatever has waited MAX_WAIT_S already.
            while queue and (self._tokens > 0 or now - queue[0][2] >= MAX_WAIT_S):
                item, size, _ = queue.popleft()
                self._tokens -= size
                self.queued_bytes -= size
                leaving.append(item)
        return leaving

    def clear(self) -> None:
        self._resends.clear()
        self._media.clear()
        self.queued_bytes = 0


Leave = Callable[[bytes, bool], None]  # send a packet; True: stamp its abs-send-time anew


class PacedWire:
    """One subscriber's pacer on the event loop: packets of all their slots, each with the
    slot's way of sending it (``Leave``)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.pacer: Pacer[tuple[Leave, bytes, bool]] = Pacer()
        self._clock = clock
        self._timer: asyncio.TimerHandle | None = None

    def set_pace(self, bits_per_second: float) -> None:
        self.pacer.rate = bits_per_second / 8

    def send(self, leave: Leave, data: bytes, now: float, *, audio: bool, stamp: bool,
             resend: bool = False) -> None:  # fmt: skip
        """Send ``data`` now or when the pace allows. ``stamp``: it carries abs-send-time,
        stamped when it was built; a resend is stamped again whenever it leaves."""
        if audio:
            self.pacer.take(len(data), now)
            leave(data, stamp and resend)
        elif self.pacer.offer((leave, data, stamp), len(data), now, resend):
            leave(data, stamp and resend)
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(STEP_S, self._step)

    def _step(self) -> None:
        self._timer = None
        for leave, data, stamp in self.pacer.due(self._clock()):
            leave(data, stamp)
        if self.pacer:
            self._timer = asyncio.get_running_loop().call_later(STEP_S, self._step)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.pacer.clear()
