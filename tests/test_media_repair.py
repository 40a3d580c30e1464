"""Repair within a budget, table-driven (pure: times are passed in): keyframe requests merged
per publisher, upstream NACKs retried on a timer, resends capped, the loss reported upstream,
and what a subscriber's link is estimated to carry."""

from __future__ import annotations

import pytest

from signaling.media.downlink import Downlink
from signaling.media.repair import Gaps, KeyframeRequests, ResendBudget
from signaling.media.reports import Upstream

# -- keyframe requests: (time, event) -> the times at which the publisher is asked ----------
# "want": a PLI/FIR from a subscriber or a new slot; "join": a subscriber's connection came up
# and it waits for its first keyframe; "wait": a packet while a slot waits;
# "packet": a packet while nobody waits; "key": a keyframe went out.

FLOOD = [(t / 50, "want") for t in range(150)]  # one subscriber asking 50 times a second

KEYFRAMES = [
    ("a first request goes at once", [(0.0, "want")], [0.0]),
    ("50 requests a second for 3 s: once a second", FLOOD, [0.0, 1.0, 2.0]),
    ("a keyframe answers what was wanted", [(0.0, "want"), (0.3, "key"), (1.2, "packet")], [0.0]),
    (
        "asked again while a slot still waits (the PLI or its keyframe was lost)",
        [(0.0, "want"), (0.5, "wait"), (1.0, "wait"), (1.5, "wait"), (2.1, "wait")],
        [0.0, 1.0, 2.1],
    ),
    (
        "a request within the second waits for it, and is not forgotten",
        [(0.0, "want"), (0.2, "key"), (0.4, "want"), (0.9, "packet"), (1.01, "packet")],
        [0.0, 1.01],
    ),
    ("nobody waiting, nothing wanted: never", [(0.0, "packet"), (5.0, "packet")], []),
    (
        "someone whose connection just came up is asked for 0.3 s after the last request",
        [(0.0, "want"), (0.1, "join"), (0.2, "packet"), (0.3, "packet"), (0.5, "packet")],
        [0.0, 0.3],
    ),
    (
        "a keyframe that went out after they came up answers them",
        [(0.0, "want"), (0.1, "join"), (0.2, "key"), (0.35, "packet"), (1.2, "packet")],
        [0.0],
    ),
    (
        "joins cannot flood the publisher: once per 0.3 s",
        [(t / 20, "join") for t in range(21)],
        [0.0, 0.3, 0.6, 0.9],
    ),
    (
        "a request for someone who joined does not make the others' pace faster",
        [(0.0, "join"), (0.3, "want"), (0.6, "want"), (1.0, "want"), (1.3, "packet")],
        [0.0, 1.0],
    ),
]


@pytest.mark.parametrize(("name", "events", "asked"), KEYFRAMES, ids=[k[0] for k in KEYFRAMES])
def test_keyframe_requests_are_merged_per_publisher(
    name: str, events: list[tuple[float, str]], asked: list[float]
) -> None:
    requests = KeyframeRequests(every_s=1.0)
    times = []
    for at, event in events:
        if event == "want":
            requests.want()
        elif event == "join":
            requests.joined()
        elif event == "key":
            requests.arrived()
            continue
        if requests.due(at, lambda event=event: event == "wait"):  # type: ignore[misc]
            times.append(at)
    assert times == asked


# -- upstream NACKs: (time, "rx", seq) packets received, (time, "due", rtt) -> NACKed ---------

GAPS = [
    ("no gap, no NACK", [(0.0, "rx", 1), (0.01, "rx", 2), (0.02, "due", None)], [[]]),
    ("a gap is NACKed at once", [(0.0, "rx", 1), (0.01, "rx", 4), (0.01, "due", None)], [[2, 3]]),
    (
        "and again after the round trip (50-200 ms), not before",
        [(0.0, "rx", 1), (0.0, "rx", 3), (0.0, "due", 0.08), (0.05, "due", 0.08),
         (0.08, "due", 0.08)],
        [[2], [], [2]],
    ),
    (
        "a round trip below 50 ms retries after 50 ms; none measured: 100 ms",
        [(0.0, "rx", 1), (0.0, "rx", 3), (0.0, "due", 0.001), (0.03, "due", 0.001),
         (0.0625, "due", 0.001), (0.125, "due", None), (0.1875, "due", None)],
        [[2], [], [2], [], [2]],
    ),
    (
        "what arrives (a retransmission) is no longer asked for",
        [(0.0, "rx", 1), (0.0, "rx", 4), (0.0, "due", 0.05), (0.02, "rx", 2),
         (0.05, "due", 0.05)],
        [[2, 3], [3]],
    ),
    (
        "four tries at most",
        [(0.0, "rx", 1), (0.0, "rx", 3)] + [(t * 0.05, "due", 0.05) for t in range(6)],
        [[2], [2], [2], [2], [], []],
    ),
    (
        "given up after 0.5 s however few the tries",
        [(0.0, "rx", 1), (0.0, "rx", 3), (0.0, "due", 0.2), (0.2, "due", 0.2),
         (0.4, "due", 0.2), (0.6, "due", 0.2)],
        [[2], [2], [2], []],
    ),
    (
        "sequence numbers wrap",
        [(0.0, "rx", 65534), (0.0, "rx", 1), (0.0, "due", None)],
        [[65535, 0]],
    ),
    (
        "a jump of more than 1000 is a restart, not a loss",
        [(0.0, "rx", 1), (0.0, "rx", 5000), (0.0, "due", None)],
        [[]],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "events", "nacked"), GAPS, ids=[g[0] for g in GAPS])
def test_upstream_nacks_are_retried_on_a_timer(
    name: str, events: list[tuple[float, str, float | None]], nacked: list[list[int]]
) -> None:
    gaps = Gaps()
    asked = []
    for at, what, value in events:
        if what == "rx":
            gaps.received(int(value or 0), at)
        else:
            asked.append(gaps.due(at, value))
    assert asked == nacked


def test_at_most_128_packets_are_kept_missing() -> None:
    gaps = Gaps()
    gaps.received(0, 0.0)
    gaps.received(300, 0.0)
    assert gaps.missing == list(range(172, 300))


# -- resends: a token bucket of 25 % of the link, half a second deep ------------------------

RESENDS = [
    # link bits/s, [(time, bytes)] -> allowed
    ("1 Mbit/s: 31 kB/s; the bucket starts full (15.6 kB)", 1_000_000,
     [(0.0, 15_000), (0.0, 1_000), (0.1, 1_000), (0.1, 3_000)], [True, False, True, False]),
    ("it refills at 25 % of the link", 1_000_000,
     [(0.0, 15_625), (0.5, 15_625), (0.5, 1)], [True, True, False]),
    ("an unmeasured link still allows a few packets", 0,
     [(0.0, 1200)] * 5, [True, True, True, True, False]),
    ("250 packets/s (300 kbit/s): at most ~60 resends/s", 300_000,
     [(i / 250, 1200) for i in range(250)], None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "link", "asks", "allowed"), RESENDS, ids=[r[0] for r in RESENDS])
def test_resends_are_capped_to_a_share_of_the_link(
    name: str, link: int, asks: list[tuple[float, int]], allowed: list[bool] | None
) -> None:
    budget = ResendBudget()
    got = [budget.take(size, at, link) for at, size in asks]
    if allowed is not None:
        assert got == allowed
    else:  # a second of asking for everything: the burst plus a second of 25 %
        assert sum(got) * 1200 <= 0.25 * link / 8 * 1.5 + 1200


# -- what the publisher hears in its receiver reports ---------------------------------------


def test_the_upstream_report_counts_the_loss_between_reports() -> None:
    stream = Upstream()
    for seq in [65530, 65531, 65533, 65534, 65535, 0, 2, 3]:  # 65532 and 1 lost, wrapping
        stream.add(seq)
    assert stream.max_seq == (1 << 16) | 3
    assert stream.packets_lost == 2
    assert stream.fraction_lost == 2 * 256 // 10
    for seq in range(4, 14):  # nothing lost since the last report
        stream.add(seq)
    assert stream.fraction_lost == 0
    assert stream.packets_lost == 2


@pytest.mark.parametrize(
    ("own_lost", "downstream", "reported"),
    [
        (0, 0, 0),
        (0, 20, 20),  # a subscriber's loss reaches the publisher (Opus turns FEC on)
        (25, 10, 25),  # the larger of the two
        (0, 200, 51),  # a subscriber's loss counts up to 20 %
        (128, 200, 128),  # the server's own measure is never capped
    ],
)
def test_the_audio_report_says_the_worst_of_upstream_and_downstream(
    own_lost: int, downstream: int, reported: int
) -> None:
    stream = Upstream(downstream=lambda: downstream)
    stream.add(0)
    stream.fraction_lost  # noqa: B018 (a report went: the interval starts here)
    for seq in range(own_lost + 1, 257):  # 256 expected since, the first own_lost lost
        stream.add(seq)
    assert stream.fraction_lost == reported


# -- what a subscriber's link carries --------------------------------------------------------


def link_after(steps: list[tuple[str, float, float]]) -> list[int | None]:
    """("remb", time, bits/s) heard; ("sent", time, bits/s forwarded since the last step;
    "loss" the same at 1 Mbit/s, with the loss reported): the estimate after each step.
    Every table starts with 20 s at 1 Mbit/s, which the smoothed rate has then learnt."""
    downlink = Downlink()
    for second in range(21):
        downlink.measured(second - 20.0, 0, second * 125_000, None)
    sent, last = 20 * 125_000, 0.0
    out = []
    for what, at, value in steps:
        if what == "remb":
            downlink.heard_remb(int(value), at)
        else:
            rate, loss = (value, None) if what == "sent" else (1e6, value)
            sent += int(rate / 8 * (at - last))
            downlink.measured(at, 0, sent, loss)
            last = at
        out.append(downlink.estimate(at))
    return out


ESTIMATES = [
    ("nothing known: no limit", [("sent", 1.0, 1e6)], [None]),
    (
        "a REMB that grows is a browser's ramp, not a limit, below what is sent as it may be",
        [
            ("remb", 0.0, 100_000),
            ("remb", 1.0, 108_000),
            ("remb", 2.0, 117_000),
            ("remb", 3.0, 126_000),
        ],
        [None, None, None, None],
    ),
    (
        "one that falls is a limit, for 5 s",
        [
            ("remb", 0.0, 1_200_000),
            ("remb", 1.0, 1_000_000),
            ("remb", 6.0, 1_000_000),
            ("remb", 7.0, 1_000_000),
        ],
        [None, 1_000_000, 1_000_000, None],
    ),
    (
        "one below 90 % of what is sent that stopped growing (for 2 s) says the link is"
        " full: the limit is 15 % less than is sent, or the REMB if higher",
        [
            ("remb", 0.0, 500_000),
            ("remb", 1.0, 510_000),
            ("remb", 2.0, 505_000),
            ("remb", 4.0, 560_000),
            ("remb", 6.0, 870_000),
            ("remb", 8.0, 880_000),
        ],
        [None, None, 850_000, None, None, 880_000],
    ),
    (
        "a REMB is forgotten after 10 s",
        [("remb", -10.0, 800_000), ("remb", 0.0, 700_000), ("sent", 10.5, 1e6)],
        [None, 700_000, None],
    ),
    ("loss above 10 % caps it at forwarded x (1 - loss / 2)", [("loss", 1.0, 0.2)], [900_000]),
    ("loss of 2-10 % neither caps nor lifts", [("loss", 1.0, 0.05)], [None]),
    (
        "the lower of REMB and the loss cap",
        [("remb", -10.0, 900_000), ("remb", 0.5, 700_000), ("loss", 1.0, 0.2)],
        [None, 700_000, 700_000],
    ),
    (
        "the cap falls again while the loss stays, once a second",
        [("loss", 1.0, 0.2), ("loss", 1.5, 0.2), ("loss", 2.0, 0.2)],
        [900_000, 900_000, 810_000],
    ),
    (
        "little loss lifts the cap by 8 % a second",
        [("loss", 1.0, 0.2), ("loss", 2.0, 0.0), ("loss", 3.0, 0.05)],
        [900_000, 972_000, 972_000],
    ),
    (
        "and drops it past 20 Mbit/s",
        [("loss", 1.0, 0.2)] + [("loss", 2.0 + s, 0.0) for s in range(41)],
        [900_000, *(round(900_000 * 1.08**k) for k in range(1, 41)), None],
    ),
]


@pytest.mark.parametrize(("name", "steps", "estimates"), ESTIMATES, ids=[e[0] for e in ESTIMATES])
def test_the_downlink_estimate(
    name: str, steps: list[tuple[str, float, float]], estimates: list[int | None]
) -> None:
    assert link_after(steps) == [e if e is None else pytest.approx(e, rel=1e-3) for e in estimates]


def test_resends_take_their_share_of_the_estimate_or_else_of_what_is_forwarded() -> None:
    downlink = Downlink()
    downlink.measured(0.0, 0, 0, None)
    downlink.measured(1.0, 0, 125_000, None)  # 1 Mbit/s forwarded, measured once: 0.5 Mbit/s
    asked = [downlink.may_resend(1200, 1.0 + i / 1000) for i in range(20)]
    assert sum(asked) == 0.25 * 500_000 / 8 * 0.5 // 1200  # the bucket's half second
    downlink.planned_bps = 2_000_000  # the streams shown come to more than was measured
    downlink.resends = type(downlink.resends)()
    assert sum(downlink.may_resend(1200, 2.0) for _ in range(60)) == 26  # 2 Mbit/s' bucket
    downlink.heard_remb(200_000, -10.0)
    downlink.heard_remb(100_000, 2.0)
    downlink.resends = type(downlink.resends)()
    assert sum(downlink.may_resend(1200, 2.0) for _ in range(10)) == 4  # the smallest bucket
    assert (downlink.resent, downlink.refused) == (sum(asked) + 26 + 4, 20 - sum(asked) + 34 + 6)
