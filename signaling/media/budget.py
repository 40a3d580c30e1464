"""A downlink budget per subscriber: which videos each person receives. Pure: no media, no
clock (times are passed in). The policy is documented in docs/protocol.md, "Downlink budget".

Audio is never part of the budget: everyone's audio always goes to everyone (Opus with DTX
makes a silent person nearly free), and it comes off the estimate first.

Video, in order of importance (``wanted``):
1. the main video: the spotlighted person's camera, else the tutor's;
2. the shared screen;
3. the tutor's camera, when someone else is spotlighted;
4. the cameras of the last ``last_n`` people who spoke, most recent first (while fewer have
   spoken, the others in the room's order fill up to ``last_n``). The SFU asks for no limit
   on the tutor's behalf: they see every student, as far as their link carries them.
Every other camera is paused, and so is every video for someone who chose audio only.

The subscriber's estimate (downlink.py) is known only when something says the link is full
(their browser's REMB fell, or their receiver reports show loss). ``Budget.decide`` then
keeps what it showed, most important first, as long as it fits, and pauses the rest: least
important first, since the walk is in order of importance; with no estimate, it keeps all it
showed. What was shown when a pause came is the ceiling: the link gave out there (it only
comes down, until a probe holds). A paused
video comes back at most one per decision, and not within RESUME_AFTER_S of a pause:
- when everything shown with it fits in FIT of the estimate (if there is one; the margin is
  the hysteresis) and stays below the ceiling (a browser's estimate grows again after a
  fall without knowing where the link ends, and would bring back the very load it fell
  under, again and again). Nothing paused yet, no estimate: everything at once. A hint
  (the browser's latest REMB) or an estimate past CEILING_LIFT times the ceiling lifts it;
- or as a probe, beyond the ceiling: a browser's estimate stays near what it receives
  (libwebrtc's REMB never grows past 1.5 x the incoming rate), so it would never say that a
  link recovered. A probe resumes the most important paused video that would not exceed
  PROBE_LIMIT times the estimate (any, with no estimate), or else the cheapest one. For
  PROBE_WINDOW_S nothing changes unless the link says it is full (an estimate that appears,
  or falls below PROBE_FALL of what it was). If it does, or the
  videos do not fit the estimate by then, the probe failed: what no longer fits pauses, and
  the next probe waits twice as long (PROBE_FIRST_S up to PROBE_MAX_S; DARK_PROBE of that
  when the pause left no video at all: someone who sees nobody is worse off than someone who
  sees fewer, and a browser whose REMB fell hard, to some 70 kbit/s behind 500 kbit/s, says
  nothing better while only audio arrives). A probe that holds
  lifts the ceiling and resets the wait, and the next may follow at once. A failed probe
  overloads the link for the second or so it takes the browser to notice: that is the
  price of finding out, without padding probes, that a link recovered, paid at most every
  two minutes on a link that stays thin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

LAST_N = 4
FIT = 0.9
RESUME_AFTER_S = 2.0
PROBE_FIRST_S = 10.0
DARK_PROBE = 0.3  # the share of that wait while no video is shown at all: 3 s, 6 s, ...
PROBE_MAX_S = 120.0
PROBE_WINDOW_S = 10.0
PROBE_FALL = 0.95
CEILING_LIFT = 1.5
PROBE_LIMIT = 2.0
AUDIO_FLOOR_BPS = 40_000  # one speaker's Opus, before anything is measured

Key = tuple[int, bool, bool]  # (publisher, screen, upgrade)


@dataclass(frozen=True)
class Video:
    """A video the subscriber could receive, and what it carries now (bits/s). A camera sent
    as simulcast is two: its small layer, and an ``upgrade`` to its full layer that costs
    the difference; the upgrade is shown only with its small layer, and then replaces it."""

    publisher: int
    bitrate: int
    screen: bool = False
    upgrade: bool = False

    @property
    def key(self) -> Key:
        return (self.publisher, self.screen, self.upgrade)

    @property
    def base(self) -> Key:
        """The key of what an upgrade upgrades (itself, for any other video)."""
        return (self.publisher, self.screen, False)


def wanted(
    videos: Sequence[Video],
    *,
    main: int | None,
    tutor: int | None,
    speakers: Sequence[int],
    last_n: int = LAST_N,
    audio_only: bool = False,
) -> list[Video]:
    """The videos the policy would send with no limit, most important first. ``videos``
    are the cameras (and the screen) forwarded now, in the room's order; ``speakers`` the
    people who spoke, most recent first."""
    if audio_only:
        return []
    upgrades = {v.publisher: v for v in videos if v.upgrade}
    cameras = {v.publisher: v for v in videos if not v.screen and not v.upgrade}
    order = [cameras.pop(main)] if main in cameras else []
    order += [v for v in videos if v.screen]
    if tutor in cameras:
        order.append(cameras.pop(tutor))
    recent = [cameras[p] for p in dict.fromkeys(speakers) if p in cameras]
    rest = [v for v in cameras.values() if v not in recent]
    # A camera's upgrade to its full layer comes right after its small layer: the main
    # video sharp matters more than one more thumbnail.
    result: list[Video] = []
    for video in order + (recent + rest)[:last_n]:
        result.append(video)
        if not video.screen and video.publisher in upgrades:
            result.append(upgrades[video.publisher])
    return result


@dataclass
class Budget:
    """One subscriber's videos, decided again about twice a second."""

    shown: frozenset[Key] = frozenset()
    _paused_at: float = -math.inf
    _probe_at: float = -math.inf  # no probe before this
    _probe_wait: float = PROBE_FIRST_S
    _probed_at: float | None = None  # the running probe's start
    _probed_estimate: int = 0  # the estimate when it started
    _ceiling: float | None = None  # bits/s shown when the last pause came

    def decide(
        self,
        videos: Sequence[Video],
        estimate: int | None,
        audio_bps: float,
        now: float,
        hint: int | None = None,
    ) -> frozenset[Key]:
        """What to show of ``videos`` (``wanted``'s order) within ``estimate`` bits/s (None:
        the link is not known to be full), ``audio_bps`` of it going to audio (RTP payload,
        as a browser's estimate counts); ``hint``: the browser's latest REMB."""
        wanted_keys = frozenset(v.key for v in videos)
        probing = self._probed_at is not None and now - self._probed_at < PROBE_WINDOW_S
        if probing and (
            estimate is None
            if not self._probed_estimate
            else estimate is not None and estimate >= PROBE_FALL * self._probed_estimate
        ):
            self.shown &= wanted_keys  # what the policy still wants
            return self.shown
        said = max(estimate or 0, hint or 0)
        if self._ceiling is not None and said >= CEILING_LIFT * self._ceiling:
            self._ceiling = None
        total = max(audio_bps, AUDIO_FLOOR_BPS)
        keep: list[Key] = []
        for video in videos:
            if (
                video.key in self.shown
                and (not video.upgrade or video.base in keep)
                and (estimate is None or total + video.bitrate <= estimate)
            ):
                keep.append(video.key)
                total += video.bitrate
        if any(v.key in self.shown and v.key not in keep for v in videos):
            shown = max(audio_bps, AUDIO_FLOOR_BPS) + sum(
                v.bitrate for v in videos if v.key in self.shown
            )
            self._ceiling = min(shown, self._ceiling or math.inf)
            self._paused(now, dark=not keep)
        else:
            if self._probed_at is not None:  # the probe held: the next may follow at once
                self._probed_at, self._probe_wait, self._probe_at = None, PROBE_FIRST_S, now
                self._ceiling = None
            if now - self._paused_at >= RESUME_AFTER_S:
                keep += self._resume(videos, keep, total, estimate, now)
        self.shown = frozenset(keep)
        return self.shown

    def _paused(self, now: float, dark: bool) -> None:
        self._paused_at = now
        if self._probed_at is not None:  # the probe failed: the estimate fell, or never grew
            self._probe_wait = min(2 * self._probe_wait, PROBE_MAX_S)
        self._probed_at = None
        self._probe_at = now + self._probe_wait * (DARK_PROBE if dark else 1)

    def _resume(
        self,
        videos: Sequence[Video],
        keep: list[Key],
        total: float,
        estimate: int | None,
        now: float,
    ) -> list[Key]:
        paused = [v for v in videos if v.key not in keep]
        if not paused:
            return []
        if estimate is None and self._ceiling is None:
            return [v.key for v in paused]
        paused = [v for v in paused if not v.upgrade or v.base in keep]  # with its base only
        if not paused:
            return []
        limit = min(
            FIT * estimate if estimate is not None else math.inf,
            PROBE_FALL * self._ceiling if self._ceiling is not None else math.inf,
        )
        fits = [v for v in paused if total + v.bitrate <= limit]
        if fits:
            return [fits[0].key]
        if now < self._probe_at:
            return []
        reach = PROBE_LIMIT * estimate if estimate is not None else math.inf
        within = [v for v in paused if total + v.bitrate <= reach]
        probe = within[0] if within else min(paused, key=lambda v: v.bitrate)
        self._probed_at, self._probed_estimate = now, estimate or 0
        self._probe_at = now + self._probe_wait
        return [probe.key]
