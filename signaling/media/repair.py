"""Repair within a budget: which lost packets the server asks a publisher for again, how much
it resends to a subscriber, and how often it asks a publisher for a keyframe.

Pure: times are passed in (seconds on a monotonic clock); nothing reads a clock or a socket.

Why each rule (measured with Chromium behind impaired links, issue 9):

- **Upstream NACKs are retried on a timer.** A NACK or the retransmission it asks for may be
  lost too. aiortc's NackGenerator asks again only when a new gap appears, so under 2 % loss
  a packet could stay missing until every subscriber froze on it. Here each missing packet
  is asked for at once, then again every round trip (50-200 ms), NACK_TRIES times at most,
  and given up after NACK_GIVE_UP_S: by then the subscribers' jitter buffers have moved on,
  and a keyframe repairs faster.
- **Resends to a subscriber are capped** to RESEND_SHARE of what that subscriber's link
  carries (a token bucket). On a congested link a browser NACKs more the more it loses; the
  server resent 7,800-13,400 packets/s to a student whose link carried about 250, which
  only deepened the congestion. A packet is also resent at most once per RESEND_AGAIN_S
  however often it is asked for. When the bucket is empty, the resends would not catch up:
  the slot waits for a keyframe instead (one request to the publisher, merged below).
- **Keyframe requests are merged per publisher**: whatever the number of subscribers asking
  (their PLIs and FIRs, new slots, resends that gave way), the publisher is asked at most
  once per KEYFRAME_EVERY_S. Each keyframe costs every subscriber of that stream several
  times a normal frame; one slow student's 359 requests a minute once made the tutor's
  camera send 145 keyframes to the whole class. A request is repeated while any subscriber
  still waits (a request or its keyframe can be lost), at the same pace.
- **Except for someone who just joined**: a subscriber whose connection just came up and
  waits for its first picture may ask again JOIN_KEYFRAME_S after the last request (unless
  a keyframe went out since it came up). With one request a second, people joining a class
  of 64, 8 at a time, waited half a second for their first picture on average and a whole
  second at worst (issue 11). A browser's encoder answers one request per 300 ms at most
  (libwebrtc), so asking more often would gain nothing. A connection comes up once per
  offer, and offers are rate-limited per person, so this cannot be used to flood.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

KEYFRAME_EVERY_S = 1.0
JOIN_KEYFRAME_S = 0.3
NACK_RETRY_S = (0.05, 0.2)  # the round trip, bounded; 0.1 s while it is not measured
NACK_TRIES = 4
NACK_GIVE_UP_S = 0.5
MISSING_KEPT = 128  # as aiortc: a NACK for more than this is not worth sending
MAX_JUMP = 1000  # a larger jump forward is a restarted stream, not a loss
RESEND_SHARE = 0.25
RESEND_BURST_S = 0.5  # the bucket holds this much of its rate
RESEND_MIN_BURST = 4 * 1200  # bytes: a few packets even before the link is measured
RESEND_AGAIN_S = 0.1


@dataclass
class KeyframeRequests:
    """When to ask one publisher's stream for a keyframe."""

    every_s: float = KEYFRAME_EVERY_S
    join_s: float = JOIN_KEYFRAME_S
    _wanted: bool = False
    _joined: bool = False
    _asked_at: float = -math.inf

    def want(self) -> None:
        """Someone needs a keyframe: a PLI or FIR, a slot that gave up or starts again."""
        self._wanted = True

    def joined(self) -> None:
        """A subscriber's connection just came up, and it waits for its first keyframe."""
        self._wanted = self._joined = True

    def arrived(self) -> None:
        """A keyframe went out to the subscribers: it answers what was wanted."""
        self._wanted = self._joined = False

    def due(self, now: float, waiting: Callable[[], bool]) -> bool:
        """Whether to ask now; ``waiting()``: whether some subscriber still waits for a
        keyframe (asked only when it matters: this runs for every packet)."""
        since = now - self._asked_at
        if not (self._joined and since >= self.join_s) and (
            since < self.every_s or not (self._wanted or waiting())
        ):
            return False
        self._asked_at, self._wanted, self._joined = now, False, False
        return True


@dataclass
class _Missing:
    first: float
    asked: float = -math.inf
    tries: int = 0


@dataclass
class Gaps:
    """The packets missing from a publisher's stream, and when to NACK each of them."""

    _highest: int | None = None
    _missing: dict[int, _Missing] = field(default_factory=dict)
    _next: float = math.inf  # nothing is due before this

    def received(self, seq: int, now: float) -> None:
        if self._highest is None:
            self._highest = seq
            return
        ahead = (seq - self._highest) & 0xFFFF
        if ahead == 0:
            return
        if ahead >= 0x8000:  # older than the highest: a retransmission or a late packet
            self._missing.pop(seq, None)
            return
        if ahead > MAX_JUMP:
            self._missing.clear()
        else:
            for step in range(1, ahead):
                self._missing[(self._highest + step) & 0xFFFF] = _Missing(now)
            if ahead > 1:
                self._next = now
            while len(self._missing) > MISSING_KEPT:
                del self._missing[next(iter(self._missing))]
        self._highest = seq

    def due(self, now: float, rtt: float | None) -> list[int]:
        """The packets to NACK now (cheap when nothing is due: most packets)."""
        if now < self._next:
            return []
        low, high = NACK_RETRY_S
        retry = min(max(rtt if rtt is not None else 0.1, low), high)
        asked: list[int] = []
        self._next = math.inf
        for seq, missing in list(self._missing.items()):
            if missing.tries >= NACK_TRIES or now - missing.first > NACK_GIVE_UP_S:
                del self._missing[seq]
                continue
            if now - missing.asked >= retry:
                missing.asked, missing.tries = now, missing.tries + 1
                asked.append(seq)
            self._next = min(self._next, missing.asked + retry)
        return asked

    @property
    def missing(self) -> list[int]:
        return list(self._missing)


@dataclass
class ResendBudget:
    """A token bucket of bytes: RESEND_SHARE of what the subscriber's link carries."""

    share: float = RESEND_SHARE
    _tokens: float = 0.0
    _at: float | None = None

    def take(self, size: int, now: float, link_bps: float) -> bool:
        """Whether ``size`` bytes may be resent now on a link carrying ``link_bps``."""
        rate = self.share * link_bps / 8
        cap = max(rate * RESEND_BURST_S, RESEND_MIN_BURST)
        if self._at is None:
            self._tokens = cap
        else:
            self._tokens = min(cap, self._tokens + (now - self._at) * rate)
        self._at = now
        if self._tokens < size:
            return False
        self._tokens -= size
        return True
