"""What one subscriber's link carries: its estimate, what is forwarded on it, and the share of
it that resends may take. Pure: times are passed in.

The estimate (``Downlink.estimate``) is what the link is known to carry at most, when
something says so: the lower of two signals of congestion.

- the subscriber's **REMB** (RTCP PSFB "REMB", draft-alvestrand-rmcat-remb), its browser's
  own estimate from the arrival times of what it receives, about every second and at once
  when it falls. Measured with Chromium, a REMB starts low and grows by some 8 % a second,
  then stays near what arrives (75 kbit/s while 180 kbit/s arrived on loopback, 181 kbit/s
  15 s later), whatever the link could carry: taken as a limit, it paused every video,
  which then kept it from growing. It is a limit only when it says the link is full: when
  it fell (below REMB_FALL of the previous one: libwebrtc drops to 85 % of what got
  through when it sees its link overloaded), for FALL_HOLD_S; or when it is below
  REMB_BELOW of what is forwarded and stopped growing (over REMB_STALL_S: libwebrtc holds
  its estimate while overloaded if it is below what gets through). Such a stalled REMB
  says the link is full, not how full: it may be the ramp's start value. The limit is
  then DECREASE x what is forwarded (or the REMB, if higher): each look takes off 15 %, as
  Google congestion control's own decrease does, rather than pausing every video at
  once. The budget (budget.py)
  remembers where the link gave out, and probes beyond. The latest REMB is also a hint
  (``Downlink.hint``): a browser that says much more than what was paused lifts that
  memory.
- a **loss-based** cap, after Google congestion control's loss controller
  (draft-ietf-rmcat-gcc-02 section 6), from the loss the subscriber's receiver reports show
  (quality.py: what stayed lost after resends): above 10 % the cap falls to
  forwarded x (1 - loss / 2), below 2 % it grows by 8 % a second (so paused videos come back
  one by one as it grows, budget.py) and is dropped past LOSS_DROP_BPS, more than any class
  needs; between, it holds. Checked once a second. It catches a link that loses without the
  browser's REMB falling (a browser that sends no REMB, a policer that drops rather than
  queues).

No estimate means no limit is known: the budget keeps what it sends, and brings back what it
paused as budget.py says.

Rates are RTP payload, as a browser's estimate counts them (not headers, not resends). The
rate forwarded to the subscriber is measured from what its slots forwarded, smoothed. The
resend cap (repair.py) is a share of the estimate or, while there is none, of the larger of
that rate and the rate of the streams the subscriber's slots show (``planned_bps``): a slot
that waits for a keyframe after its resends gave way sends nothing for a moment, which must
not shrink its own resend budget further.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from signaling.media.repair import ResendBudget

REMB_FALL = 0.9
FALL_HOLD_S = 5.0
REMB_BELOW = 0.9
REMB_STALL_S = 2.0
REMB_GROWING = 1.03  # over REMB_STALL_S: less is a REMB that stopped growing
DECREASE = 0.85
REMB_STALE_S = 10.0
LOSS_HIGH, LOSS_LOW = 0.10, 0.02
LOSS_GROWTH = 1.08  # per LOSS_EVERY_S
LOSS_EVERY_S = 1.0
LOSS_DROP_BPS = 20_000_000
ALPHA = 0.5  # weight of a new rate sample (one per measurement, about every 0.5 s)


@dataclass
class Downlink:
    """One subscriber's link."""

    resends: ResendBudget = field(default_factory=ResendBudget)
    remb: int | None = None
    remb_at: float = -math.inf
    fell_at: float = -math.inf  # when the REMB last fell
    _rembs: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=16))
    loss_cap: float | None = None
    audio_bps: float = 0.0  # forwarded, smoothed
    video_bps: float = 0.0
    planned_bps: float = 0.0  # the streams the slots show (unpaused), as they arrive
    resent: int = 0  # packets resent to this subscriber
    refused: int = 0  # packets asked for again that the budget refused
    _sent: tuple[int, int] | None = None  # audio and video bytes at the last measurement
    _sent_at: float = 0.0
    _loss_at: float = -math.inf

    def heard_remb(self, bitrate: int, now: float) -> None:
        if self.remb is not None and bitrate < REMB_FALL * self.remb:
            self.fell_at = now
        self.remb, self.remb_at = bitrate, now
        self._rembs.append((now, bitrate))

    def _stalled(self, now: float) -> bool:
        """Whether the REMB grew by less than REMB_GROWING over the last REMB_STALL_S."""
        before = [bitrate for at, bitrate in self._rembs if now - at >= REMB_STALL_S]
        return bool(before) and self.remb is not None and self.remb <= REMB_GROWING * before[-1]

    def measured(self, now: float, audio_bytes: int, video_bytes: int, loss: float | None) -> None:
        """The payload bytes the slots had forwarded in all by ``now``, and the subscriber's
        smoothed loss."""
        if self._sent is not None and now > self._sent_at:
            seconds = now - self._sent_at
            audio = 8 * (audio_bytes - self._sent[0]) / seconds
            video = 8 * (video_bytes - self._sent[1]) / seconds
            self.audio_bps += ALPHA * (audio - self.audio_bps)
            self.video_bps += ALPHA * (video - self.video_bps)
        self._sent, self._sent_at = (audio_bytes, video_bytes), now
        if loss is not None and now - self._loss_at >= LOSS_EVERY_S:
            self._loss_at = now
            self._loss(loss)

    def _loss(self, loss: float) -> None:
        forwarded = self.audio_bps + self.video_bps
        if loss > LOSS_HIGH and forwarded > 0:
            base = min(self.loss_cap, forwarded) if self.loss_cap is not None else forwarded
            self.loss_cap = base * (1 - loss / 2)
        elif loss < LOSS_LOW and self.loss_cap is not None:
            self.loss_cap *= LOSS_GROWTH
            if self.loss_cap > LOSS_DROP_BPS:
                self.loss_cap = None

    def estimate(self, now: float) -> int | None:
        """What the link carries at most, in bits/s; None while nothing says it is full."""
        known = [self.loss_cap] if self.loss_cap is not None else []
        if self.remb is not None and now - self.remb_at <= REMB_STALE_S:
            forwarded = self.audio_bps + self.video_bps
            if now - self.fell_at <= FALL_HOLD_S:
                known.append(self.remb)
            elif self.remb < REMB_BELOW * forwarded and self._stalled(now):
                known.append(max(self.remb, DECREASE * forwarded))
        return int(min(known)) if known else None

    def hint(self, now: float) -> int | None:
        """The browser's latest REMB, fallen or not (None if there is none, or it is old)."""
        return self.remb if now - self.remb_at <= REMB_STALE_S else None

    def may_resend(self, size: int, now: float) -> bool:
        """Whether ``size`` bytes (an RTP packet) may be resent now."""
        estimate = self.estimate(now)
        if estimate is not None:
            link: float = estimate
        else:
            link = max(self.audio_bps + self.video_bps, self.planned_bps)
        if self.resends.take(size, now, link):
            self.resent += 1
            return True
        self.refused += 1
        return False
