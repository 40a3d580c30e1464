"""The downlink budget, table-driven (pure: times are passed in): which videos the policy
wants for a subscriber, and which of them fit in their link, with hysteresis and probes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from signaling.media.budget import Budget, Video, wanted
from signaling.media.downlink import Downlink

TUTOR, A, B, C, D, E, F = 1, 2, 3, 4, 5, 6, 7
CAMERAS = [Video(TUTOR, 1_000_000)] + [Video(p, 300_000) for p in (A, B, C, D, E, F)]
SCREEN = Video(TUTOR, 500_000, screen=True)


def keys(videos: list[Video]) -> list[str]:
    return [f"{v.publisher}{'s' if v.screen else ''}" for v in videos]


WANTED = [
    # videos, main, speakers (most recent first), last_n, audio_only -> wanted, in order
    ("the tutor, then the first four others while nobody spoke",
     CAMERAS, TUTOR, [], 4, False, ["1", "2", "3", "4", "5"]),
    ("the last four speakers, most recent first",
     CAMERAS, TUTOR, [F, B, E, D, C], 4, False, ["1", "7", "3", "6", "5"]),
    ("fewer speakers than four: the others fill up, in the room's order",
     CAMERAS, TUTOR, [E], 4, False, ["1", "6", "2", "3", "4"]),
    ("the tutor speaking takes no place among the four",
     CAMERAS, TUTOR, [TUTOR, C], 4, False, ["1", "4", "2", "3", "5"]),
    ("a spotlighted student is the main video; the tutor comes after the screen",
     [*CAMERAS, SCREEN], B, [D], 2, False, ["3", "1s", "1", "5", "2"]),
    ("the screen right after the main video", [*CAMERAS, SCREEN], TUTOR, [], 1, False,
     ["1", "1s", "2"]),
    ("a speaker whose camera is off takes no place", CAMERAS[:3], TUTOR, [F, A], 4, False,
     ["1", "2", "3"]),
    ("no tutor in the room", CAMERAS[1:], None, [], 2, False, ["2", "3"]),
    ("audio only: nothing", [*CAMERAS, SCREEN], TUTOR, [A], 4, True, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "videos", "main", "speakers", "last_n", "audio_only", "expected"),
    WANTED,
    ids=[w[0] for w in WANTED],
)
def test_what_the_policy_wants(
    name: str,
    videos: list[Video],
    main: int | None,
    speakers: list[int],
    last_n: int,
    audio_only: bool,
    expected: list[str],
) -> None:
    got = wanted(
        videos, main=main, tutor=TUTOR, speakers=speakers, last_n=last_n, audio_only=audio_only
    )
    assert keys(got) == expected


FIVE = CAMERAS[:5]  # the tutor at 1 Mbit/s, four students at 300 kbit/s: 2.2 Mbit/s
K = 1000

BUDGETS = [
    # (time, estimate in bits/s or None, audio bits/s) -> publishers shown after it
    ("no estimate: everything", [(0, None, 0)], [[1, 2, 3, 4, 5]]),
    ("enough: everything", [(0, None, 0), (1, 3000 * K, 100 * K)], [[1, 2, 3, 4, 5]] * 2),
    (
        "1.5 Mbit/s: the least important go first",
        [(0, None, 0), (1, 1500 * K, 100 * K)],
        [[1, 2, 3, 4, 5], [1, 2]],
    ),
    (
        "a video that does not fit is skipped, a smaller one after it kept",
        [(0, None, 0), (1, 800 * K, 100 * K)],
        [[1, 2, 3, 4, 5], [2, 3]],
    ),
    (
        "300 kbit/s: audio and nothing else (audio counts at least 40 kbit/s)",
        [(0, None, 0), (1, 300 * K, 0)],
        [[1, 2, 3, 4, 5], []],
    ),
    (
        "up to 4 Mbit/s: nothing within 2 s of a pause, then one video per decision",
        [(0, None, 0), (1, 300 * K, 0), (2, 4000 * K, 0), (3, 4000 * K, 0),
         (3.5, 4000 * K, 0), (4, 4000 * K, 0), (4.5, 4000 * K, 0), (5, 4000 * K, 0)],
        [[1, 2, 3, 4, 5], [], [], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4, 5]],
    ),
    (
        "hysteresis: a video comes back only when all fits in 90 % of the estimate",
        [(0, None, 0), (1, 1300 * K, 0), (4, 1480 * K, 0), (5, 1520 * K, 0)],
        [[1, 2, 3, 4, 5], [1], [1], [1, 2]],
    ),
    (
        "not back to what was shown when the pause came, while the estimate is below 1.5 x that",
        [(0, None, 0), (1, 1500 * K, 0), (4, 2600 * K, 0), (4.5, 2600 * K, 0), (5, 2600 * K, 0),
         (5.5, 3500 * K, 0)],
        [[1, 2, 3, 4, 5], [1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4, 5]],
    ),
    (
        "and stays while it fits in the whole estimate",
        [(0, None, 0), (1, 1300 * K, 0), (4, 1520 * K, 0), (5, 1370 * K, 0)],
        [[1, 2, 3, 4, 5], [1], [1, 2], [1, 2]],
    ),
]  # fmt: skip


def run(budget: Budget, steps: list[tuple[float, int | None, int]]) -> list[list[int]]:
    shown = []
    for at, estimate, audio in steps:
        decided = budget.decide(FIVE, estimate, audio, at)
        shown.append(sorted(p for p, _, _ in decided))
    return shown


@pytest.mark.parametrize(("name", "steps", "shown"), BUDGETS, ids=[b[0] for b in BUDGETS])
def test_what_fits_in_the_link(
    name: str, steps: list[tuple[float, int | None, int]], shown: list[list[int]]
) -> None:
    assert run(Budget(), steps) == shown


def browser(
    link: Callable[[float], int], ticks: int, budget: Budget
) -> list[tuple[float, list[int]]]:
    """Half a second at a time, a browser's REMB behind a link of ``link(time)`` bits/s, as
    Chromium's was measured: when more arrives than the link carries, it falls to 85 % of
    the link; otherwise it grows by 8 % a second, but only to what it gets + 5 % (and
    stays where it is when less arrives). Through
    the server's reading of it (downlink.py) into the budget. Returns when what was shown
    changed, and to what."""
    downlink = Downlink()
    remb, shown, changes, sent = 75.0 * K, FIVE, [], 0
    for tick in range(ticks):
        now = tick / 2
        capacity = link(now)
        getting = 40 * K + sum(v.bitrate for v in shown)
        if getting > capacity:  # overloaded: falls to 85 % of the link, or holds if below
            remb = min(remb, 0.85 * capacity)
        else:  # grows by 8 % a second up to what it gets + 5 %, never falls by itself
            remb = min(remb * 1.08**0.5, max(remb, 1.05 * getting))
        downlink.heard_remb(int(remb), now)
        sent += int(getting / 8 / 2)  # bytes in half a second
        downlink.measured(now, 0, sent, None)
        decided = budget.decide(FIVE, downlink.estimate(now), 40 * K, now, downlink.hint(now))
        if {v.key for v in shown} != decided:
            shown = [v for v in FIVE if v.key in decided]
            changes.append((now, sorted(v.publisher for v in shown)))
    return changes


def test_a_link_that_recovers_gets_every_video_back_though_its_browser_cannot_say_so() -> None:
    """Joining on 300 kbit/s, everything pauses; when the link is back at 3 Mbit/s (at 30 s)
    the browser's estimate stays near what it gets: probes bring the videos back."""
    budget = Budget(shown=frozenset(v.key for v in FIVE))
    changes = browser(lambda now: 300 * K if now < 30 else 3000 * K, 240, budget)
    # The browser's estimate stopped growing below what came: 15 % less at each look.
    assert changes[:4] == [(2.0, [1, 2, 3]), (2.5, [1, 2]), (3.5, [1]), (4.5, [])], changes
    assert all(len(shown) <= 1 for at, shown in changes if 4.5 <= at < 30), changes
    assert changes[-1][1] == [1, 2, 3, 4, 5] and changes[-1][0] <= 60, changes


@pytest.mark.parametrize(("link", "steady"), [(500 * K, [2]), (1500 * K, [1, 2])])
def test_on_a_thin_link_what_fits_stays_and_failed_probes_come_ever_more_rarely(
    link: int, steady: list[int]
) -> None:
    """At 500 kbit/s, audio and one student's video fit; at 1.5 Mbit/s, the tutor's and one
    student's. After the first minute that is what shows, but for probes beyond (and a
    moment after a failed one, the browser's estimate having fallen below what fits), each
    waiting longer than the last, never more than two minutes."""
    budget = Budget(shown=frozenset(v.key for v in FIVE))
    changes = browser(lambda now: link, 1200, budget)  # ten minutes
    settled = [(at, shown) for at, shown in changes if at >= 60]
    probes = [at for at, shown in settled if len(shown) > len(steady)]
    after_probe = {at for at, _ in settled if any(0 < at - p <= 5 for p in probes)}
    assert all(shown == steady for at, shown in settled if at not in {*probes, *after_probe})
    gaps = [b - a for a, b in zip(probes, probes[1:], strict=False)]
    assert gaps == sorted(gaps) and max(gaps) <= 121 and len(probes) <= 6, probes


def test_a_probe_goes_no_further_than_twice_the_estimate_if_a_video_can() -> None:
    budget = Budget()
    run(budget, [(0, None, 0), (1, 1100 * K, 0)])  # the tutor alone
    assert run(budget, [(11, 1200 * K, 0)]) == [[1, 2]]  # a student, never the screen-sized
