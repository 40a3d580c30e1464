"""What one subscriber's link carries: its estimate, what is forwarded on it, and the share of
it that resends may take. Pure: times are passed in.

The estimate (``Downlink.estimate``) is the lower of two:

- the subscriber's **REMB** (RTCP PSFB "REMB", draft-alvestrand-rmcat-remb): the browser's
  own estimate of what its link carries, from the arrival times of what it receives. Chrome
  sends one about every second, and at once when its estimate falls. One older than
  REMB_STALE_S is forgotten.
- a **loss-based** cap, after Google congestion control's loss controller
  (draft-ietf-rmcat-gcc-02 section 6), from the loss the subscriber's receiver reports show
  (quality.py: what stayed lost after resends): above 10 % the cap falls to
  forwarded x (1 - loss / 2), below 2 % it grows by 8 % a second (so paused videos come back
  one by one as it grows, budget.py) and is dropped past LOSS_DROP_BPS, more than any class
  needs; between, it holds. Checked once a second. It catches a link that loses without the
  browser's REMB falling (a browser that sends no REMB, a policer that drops rather than
  queues).

No estimate (no REMB, no loss) means no limit is known: everything the policy wants is sent.

The rate forwarded to the subscriber is measured from what its slots sent (RTP, SRTP, UDP and
IP headers included, resends too), smoothed. The resend cap (repair.py) is a share of the
estimate or, while there is none, of the larger of that rate and the rate of the streams the
subscriber's slots show (``planned_bps``): a slot that waits for a keyframe after its resends
gave way sends nothing for a moment, which must not shrink its own resend budget further.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from signaling.media.repair import ResendBudget

REMB_STALE_S = 10.0
LOSS_HIGH, LOSS_LOW = 0.10, 0.02
LOSS_GROWTH = 1.08  # per LOSS_EVERY_S
LOSS_EVERY_S = 1.0
LOSS_DROP_BPS = 20_000_000
OVERHEAD = 12 + 10 + 8 + 20  # bytes per packet besides the payload: RTP, SRTP tag, UDP, IPv4
ALPHA = 0.5  # weight of a new rate sample (one per measurement, about every 0.5 s)


@dataclass
class Downlink:
    """One subscriber's link."""

    resends: ResendBudget = field(default_factory=ResendBudget)
    remb: int | None = None
    remb_at: float = -math.inf
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
        self.remb, self.remb_at = bitrate, now

    def measured(self, now: float, audio_bytes: int, video_bytes: int, loss: float | None) -> None:
        """What the slots had sent in all by ``now``, and the subscriber's smoothed loss."""
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
        """What the link carries, in bits/s; None while nothing says."""
        known = [self.loss_cap] if self.loss_cap is not None else []
        if self.remb is not None and now - self.remb_at <= REMB_STALE_S:
            known.append(self.remb)
        return int(min(known)) if known else None

    def may_resend(self, size: int, now: float) -> bool:
        estimate = self.estimate(now)
        if estimate is not None:
            link: float = estimate
        else:
            link = max(self.audio_bps + self.video_bps, self.planned_bps)
        if self.resends.take(size + OVERHEAD, now, link):
            self.resent += 1
            return True
        self.refused += 1
        return False
