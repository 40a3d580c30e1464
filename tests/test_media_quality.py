"""The connection-quality estimate from receiver reports, table-driven (pure: no clock)."""

from __future__ import annotations

import pytest

from signaling.media.quality import Block, Estimate, grade
from signaling.protocol import Quality

A, B = 1111, 2222  # the SSRCs of two of our slots
S = 65536  # DLSR units per second


def sr(ssrc: int, lsr: int, at: float) -> tuple[str, int, int, float]:
    """An SR of ours left at ``at``; ``lsr`` is the middle 32 bits of its NTP timestamp."""
    return ("sr", ssrc, lsr << 16, at)


def rr(
    ssrc: int, at: float, lsr: int = 0, dlsr: float = 0.0, lost: int = 0, highest: int = 100
) -> tuple[str, Block, float]:
    """A report block about ``ssrc`` arriving at ``at`` (``dlsr`` in seconds)."""
    return ("rr", Block(ssrc, lost, highest, lsr, round(dlsr * S)), at)


def run(events: list[tuple[object, ...]]) -> Quality | None:
    estimate = Estimate()
    for event in events:
        if event[0] == "sr":
            _, ssrc, ntp, at = event
            estimate.sent(ssrc, ntp, at)  # type: ignore[arg-type]
        else:
            _, block, at = event
            estimate.report(block, at)  # type: ignore[arg-type]
    return estimate.quality()


CASES = [
    # a round trip: sent at 10.0, held 0.4 s, back at 10.5 -> 100 ms
    ([sr(A, 7, 10.0), rr(A, 10.5, lsr=7, dlsr=0.4)], Quality(grade="good", rtt_ms=100, loss=0.0)),
    # LSR 0: the browser has heard no SR yet, so no round trip; loss still counts
    ([sr(A, 7, 10.0), rr(A, 10.5, lost=0)], Quality(grade="good", rtt_ms=None, loss=0.0)),
    # DLSR longer than the time since we sent that SR: a bad sample, no round trip
    ([sr(A, 7, 10.0), rr(A, 10.1, lsr=7, dlsr=0.5)], Quality(grade="good", rtt_ms=None, loss=0.0)),
    # an LSR we never sent (or forgot): no round trip
    ([sr(A, 7, 10.0), rr(A, 10.5, lsr=8, dlsr=0.1)], Quality(grade="good", rtt_ms=None, loss=0.0)),
    # fraction lost 255: all but nothing lost
    ([sr(A, 7, 10.0), rr(A, 10.5, lost=255)], Quality(grade="poor", rtt_ms=None, loss=0.996)),
    # a report about a stream we sent no SR for (not this participant's, or too early)
    ([sr(A, 7, 10.0), rr(B, 10.5, lsr=7, dlsr=0.1, lost=255)], None),
    ([rr(A, 10.5, lost=255)], None),
    # loss is smoothed: 0 then 10 % -> 3 %
    ([sr(A, 7, 10.0), rr(A, 11.0), rr(A, 12.0, lost=26, highest=200)],
     Quality(grade="fair", rtt_ms=None, loss=0.03)),
    # a stream that moved no packets since its last block says nothing about loss
    ([sr(A, 7, 10.0), rr(A, 11.0), rr(A, 12.0, lost=128)],
     Quality(grade="good", rtt_ms=None, loss=0.0)),
    # several streams of one person make one estimate
    ([sr(A, 7, 10.0), sr(B, 9, 10.0), rr(A, 10.5, lost=0), rr(B, 10.6, lost=26)],
     Quality(grade="fair", rtt_ms=None, loss=0.03)),
    # an idle slot repeats its NTP timestamp: a report answers the latest sending
    ([sr(A, 7, 10.0), sr(A, 7, 11.0), rr(A, 11.3, lsr=7, dlsr=0.25)],
     Quality(grade="good", rtt_ms=50, loss=0.0)),
    # a report may answer an SR that is not the latest
    ([sr(A, 7, 10.0), sr(A, 8, 11.0), rr(A, 11.2, lsr=7, dlsr=1.1)],
     Quality(grade="good", rtt_ms=100, loss=0.0)),
    # a far path: poor on the round trip alone
    ([sr(A, 7, 10.0), rr(A, 10.8, lsr=7, dlsr=0.1)], Quality(grade="poor", rtt_ms=700, loss=0.0)),
    # the round trip is smoothed too: 100 ms then 400 ms -> 190 ms
    ([sr(A, 7, 10.0), rr(A, 10.5, lsr=7, dlsr=0.4),
      sr(A, 8, 11.0), rr(A, 11.5, lsr=8, dlsr=0.1, highest=200)],
     Quality(grade="good", rtt_ms=190, loss=0.0)),
]  # fmt: skip


@pytest.mark.parametrize(("events", "expected"), CASES)
def test_estimate_from_reports(events: list[tuple[object, ...]], expected: Quality | None) -> None:
    assert run(events) == expected


GRADES = [
    # rtt_ms, loss -> grade
    (None, 0.0, "good"),
    (299, 0.019, "good"),
    (300, 0.0, "fair"),
    (100, 0.02, "fair"),
    (600, 0.08, "fair"),
    (601, 0.0, "poor"),
    (None, 0.081, "poor"),
    (10, 1.0, "poor"),
]


@pytest.mark.parametrize(("rtt_ms", "loss", "expected"), GRADES)
def test_grades(rtt_ms: int | None, loss: float, expected: str) -> None:
    assert grade(rtt_ms, loss) == expected


def test_a_new_grade_is_told_at_once_and_other_changes_every_two_seconds() -> None:
    estimate = Estimate()
    estimate.sent(A, 7 << 16, 0.0)
    told = []
    # at, rtt (s), fraction lost
    for at, rtt, lost in [
        (1.0, 0.100, 0),  # the first estimate: told
        (1.5, 0.200, 0),  # moved, but too soon after
        (3.5, 0.300, 0),  # late enough, and moved: told
        (6.0, 0.180, 0),  # late enough, but moved by less than 20 ms
        (6.1, 0.180, 18),  # 2.1 % lost, fair: at once
        (6.2, 0.180, 0),  # good again, but a grade was told just now
        (6.7, 0.180, 0),  # still good: told
    ]:
        estimate.report(Block(A, lost, int(at * 100), 7, round((at - rtt) * S)), at)
        found = estimate.due(at)
        told.append(found and (found.grade, found.rtt_ms))
    assert told == [("good", 100), None, ("good", 181), None, ("fair", 180), None, ("good", 180)]
