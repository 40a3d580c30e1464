"""The receiver reports the server sends each publisher (RTCP RR, RFC 3550 section 6.4.2).

aiortc's receiver sends an RR about every second from the statistics its own receive path
keeps. Kelas replaces that path (forwarding.py), so those statistics stayed empty and the
server sent publishers no report at all: a browser never heard of any loss, and its Opus
encoder never turned in-band FEC on (Opus adds FEC only when its packet-loss estimate, fed
by RRs, says there is loss; measured: 4.8 % of a lossy student's audio concealed).

Each published stream now keeps an :class:`Upstream`, which aiortc's RR loop reads in place
of its own statistics (hooks.report_upstream). What it reports as fraction lost:

- for **video**, the loss between the publisher and the server, after the server's NACKs
  repaired what they could. Video loss further down is each subscriber's own business: NACKs,
  the resend cap and the downlink budget handle it, and a browser's sender lowers its video
  bitrate when RRs say it loses more than 10 %, which would make one lossy student's link
  blur the tutor's camera for everyone.
- for **audio**, the larger of that and the worst loss that the stream's subscribers report
  (their RRs about the slots showing it, at most DOWNSTREAM_FRESH_S old), capped at
  DOWNSTREAM_CAP. Audio is not NACKed: Opus FEC is its only repair, it travels end to end
  unchanged through the server, and the publisher's encoder must hear of the worst link for
  that student to get it. The cap (20 %, where libwebrtc's Opus stops adding protection)
  keeps one very bad link from weighing on the publisher's own bandwidth estimate, into
  which audio reports count as well.

Jitter is not measured (reported as 0): nothing on the publisher's side acts on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

DOWNSTREAM_FRESH_S = 5.0
DOWNSTREAM_CAP = 51  # in 1/256: 20 %


@dataclass
class Upstream:
    """One published stream as the server receives it, shaped as aiortc's
    ``StreamStatistics`` for its RR loop: ``fraction_lost`` (read once per report: the loss
    since the previous one), ``packets_lost``, ``max_seq`` and ``jitter``."""

    downstream: Callable[[], int] = field(default=lambda: 0)  # worst subscriber loss, 1/256
    jitter: int = 0
    _base: int | None = None
    _highest: int = 0
    _cycles: int = 0
    _received: int = 0
    _expected_prior: int = 0
    _received_prior: int = 0

    def add(self, seq: int) -> None:
        self._received += 1
        if self._base is None:
            self._base = self._highest = seq
            return
        ahead = (seq - self._highest) & 0xFFFF
        if 0 < ahead < 0x8000:
            if seq < self._highest:
                self._cycles += 1 << 16
            self._highest = seq

    @property
    def max_seq(self) -> int:
        """The extended highest sequence number received (RFC 3550 A.1)."""
        return self._cycles | self._highest

    @property
    def _expected(self) -> int:
        return 0 if self._base is None else self.max_seq - self._base + 1

    @property
    def packets_lost(self) -> int:
        """Cumulative, clamped to the report's signed 24 bits; duplicates make it negative."""
        return max(-(1 << 23), min(self._expected - self._received, (1 << 23) - 1))

    @property
    def fraction_lost(self) -> int:
        expected = self._expected - self._expected_prior
        received = self._received - self._received_prior
        self._expected_prior, self._received_prior = self._expected, self._received
        own = (expected - received) * 256 // expected if expected > 0 and received < expected else 0
        return min(255, max(own, min(self.downstream(), DOWNSTREAM_CAP)))
