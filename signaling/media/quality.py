"""A participant's connection quality, from the receiver reports their browser sends about
the streams it gets from us (RTCP RR, and the report blocks of its SRs; RFC 3550 section 6.4).

Pure: times are passed in (seconds on a monotonic clock), nothing reads a clock or a socket.

Round trip (RFC 3550 section 6.4.1). A report block names the last SR it heard from us (LSR:
the middle 32 bits of that SR's NTP timestamp) and how long it held it before reporting
(DLSR, in 1/65536 s). The RFC's "arrival - LSR - DLSR" assumes the SR's NTP timestamp is the
moment it was sent; ours is the moment of the last forwarded packet (the RTP/NTP mapping
for lip sync, forwarding.py), which for a slot that sat idle is long before. So each SR's
LSR is remembered with the time it left, and RTT = arrival - sent - DLSR.

Loss: the block's fraction lost (8 bits, in 1/256) since the stream's previous block,
smoothed over blocks (EWMA). A block for a stream that moved no packets since its previous
one (an idle slot) says nothing about loss and is skipped. With no retransmission on a
separate SSRC, a browser counts a packet resent after its NACK as received: the loss is
what remained after repair, which is what the person sees and hears.

Grades, after ITU-T G.114 (one-way delay under 150 ms keeps a conversation natural, past
300 ms people talk over each other) and what Opus FEC and NACKs repair (a few per cent):

    good   RTT < 300 ms and loss < 2 %
    poor   RTT > 600 ms or  loss > 8 %
    fair   anything between

A round trip not measured yet (no SR heard, or every sample unusable) grades on loss alone.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from signaling.protocol import Grade, Quality

GOOD_RTT_MS, POOR_RTT_MS = 300, 600
GOOD_LOSS, POOR_LOSS = 0.02, 0.08
ALPHA = 0.3  # weight of a new sample: a change shows within a few reports (~1 s each)
TELL_EVERY_S = 2.0  # at most this often, unless the grade changes
# A new grade is told at once, but not twice within this: the blocks of one compound report,
# read one by one, must not flip it back and forth, nor must a loss that hovers at a bound.
TELL_FLOOR_S = 0.5
RTT_STEP_MS, LOSS_STEP = 20, 0.01  # smaller moves are not worth telling a whole class
SENT_KEPT = 4  # SRs remembered per stream: a report may answer one that is not the latest
NTP_UNITS = 65536  # DLSR, and the middle 32 bits of NTP, count 1/65536 s


@dataclass(frozen=True)
class Block:
    """What we read of one report block (RFC 3550 section 6.4.1)."""

    ssrc: int
    fraction_lost: int  # lost / expected since the previous block, in 1/256
    highest: int  # extended highest sequence number received
    lsr: int  # 0: no SR heard yet
    dlsr: int


def grade(rtt_ms: int | None, loss: float) -> Grade:
    if loss > POOR_LOSS or (rtt_ms is not None and rtt_ms > POOR_RTT_MS):
        return "poor"
    if loss < GOOD_LOSS and (rtt_ms is None or rtt_ms < GOOD_RTT_MS):
        return "good"
    return "fair"


def _smooth(old: float | None, sample: float) -> float:
    return sample if old is None else old + ALPHA * (sample - old)


@dataclass
class Estimate:
    """One participant's connection, from the reports about every stream we send them."""

    _sent: dict[int, deque[tuple[int, float]]] = field(default_factory=dict)  # (lsr, at)
    _highest: dict[int, int] = field(default_factory=dict)
    _rtt: float | None = None  # seconds
    _loss: float | None = None
    _told: Quality | None = None
    _told_at: float = 0.0

    def sent(self, ssrc: int, ntp: int, at: float) -> None:
        """An SR with this 64-bit NTP timestamp left for stream ``ssrc`` at ``at``. An idle
        slot repeats its NTP timestamp: the latest sending is the one a report answers."""
        lsr = (ntp >> 16) & 0xFFFFFFFF
        kept = self._sent.setdefault(ssrc, deque(maxlen=SENT_KEPT))
        if kept and kept[-1][0] == lsr:
            kept.pop()
        kept.append((lsr, at))

    def report(self, block: Block, at: float) -> None:
        """A report block that arrived at ``at``. Blocks about streams we sent no SR for
        (unknown to this participant, or too early to tell) are ignored."""
        kept = self._sent.get(block.ssrc)
        if kept is None:
            return
        if block.lsr:
            sent = next((when for lsr, when in kept if lsr == block.lsr), None)
            rtt = at - sent - block.dlsr / NTP_UNITS if sent is not None else -1.0
            if rtt >= 0:  # else a DLSR longer than the time since we sent it: a bad sample
                self._rtt = _smooth(self._rtt, rtt)
        previous = self._highest.get(block.ssrc)
        self._highest[block.ssrc] = block.highest
        if previous is None or block.highest != previous:
            fraction = min(max(block.fraction_lost, 0), 255) / 256
            self._loss = _smooth(self._loss, fraction)

    @property
    def rtt(self) -> float | None:
        """The smoothed round trip in seconds; None until measured."""
        return self._rtt

    @property
    def loss(self) -> float | None:
        """The smoothed share of packets that stayed lost; None until reported."""
        return self._loss

    def quality(self) -> Quality | None:
        """The estimate now; None until a report said something."""
        if self._loss is None and self._rtt is None:
            return None
        rtt_ms = round(self._rtt * 1000) if self._rtt is not None else None
        loss = round(self._loss or 0.0, 3)
        return Quality(grade=grade(rtt_ms, loss), rtt_ms=rtt_ms, loss=loss)

    def due(self, now: float) -> Quality | None:
        """The estimate, if it should be told now: the first one at once, a new grade at
        once unless one was told in the last TELL_FLOOR_S; otherwise at most every
        TELL_EVERY_S, and only when it moved noticeably."""
        current, told = self.quality(), self._told
        if current is None:
            return None
        if told is not None:
            since = now - self._told_at
            if current.grade != told.grade and since < TELL_FLOOR_S:
                return None
            if current.grade == told.grade and (since < TELL_EVERY_S or not _moved(told, current)):
                return None
        self._told, self._told_at = current, now
        return current


def _moved(before: Quality, after: Quality) -> bool:
    if before.rtt_ms is None or after.rtt_ms is None:
        rtt_moved = before.rtt_ms != after.rtt_ms
    else:
        rtt_moved = abs(after.rtt_ms - before.rtt_ms) >= RTT_STEP_MS
    return rtt_moved or abs(after.loss - before.loss) >= LOSS_STEP
