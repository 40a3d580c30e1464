"""The speaking-equity meter of one live class: who speaks how much (pure, no I/O).

It hears what the SFU already reads: the RFC 6464 audio level in each audio packet's header
extension, nothing decoded. The SFU calls ``loud`` for each packet louder than its speech
threshold whose microphone the room forwards (signaling/media/sfu.py); the room layer says
who is in the room (``arrive``, ``depart``) and looks about twice a second (``tick``): that
closes the stretches of speech that ended and says which prompts for the tutor are due. Time
is passed in (seconds, monotonic), never read here.

- **Speaking time**: a stretch of speech runs from its first loud packet to the end of its
  last (a packet carries 20 ms), timed by the packets' RTP timestamps (so the server's own
  pauses do not shorten it); a pause shorter than ``Rules.pause_s`` (a breath, a word looked
  for) is part of it, as hangover.
- **Turns**: a stretch that starts after at least ``Rules.turn_gap_s`` without speech from
  that person: short pauses do not split a turn.
- **Silence** (students): from the end of their last speech, or from when they came in (and
  not before the tutor first came: students who wait are not silent yet), to their next
  speech or their leaving; the longest so far, and the current one.
- **The tutor's share** of the last ``Rules.window_s``: their speaking time in that window
  over its length, from buckets of a ring (no list grows with the class).

``loud`` is the one call per audio packet: on the usual path (a person already speaking) it
is a dictionary look-up, a comparison and an attribute store, and allocates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from classroom.speaking import Spoken

FRAME_S = 0.02  # what one Opus packet carries: 20 ms, as browsers send it
RTP_HZ = 48_000  # Opus's RTP clock (RFC 7587), whatever the sampling rate
TICK_S = 1 / RTP_HZ
LATE_TICKS = 0xFFFFFFFF - RTP_HZ  # a timestamp up to 1 s before the last: a late packet
BUCKETS = 60  # the sliding window's ring: 10 s buckets for a 10-minute window
REARM_BELOW = 0.1  # the tutor's share must fall this far under the threshold to prompt again


@dataclass(frozen=True)
class Rules:
    """The meter's rules and the thresholds of the tutor's prompts (settings:
    KELAS_SPEAKING_SILENT_MINUTES, KELAS_SPEAKING_TUTOR_SHARE, KELAS_SPEAKING_WINDOW_MINUTES)."""

    pause_s: float = 0.5  # a shorter pause is part of the speech around it
    turn_gap_s: float = 2.0  # speech after at least this long without speech is a new turn
    silent_after_s: float = 6 * 60.0  # prompt: a student has not spoken for this long
    tutor_share: float = 0.7  # prompt: the tutor spoke this share of the window, or more
    window_s: float = 10 * 60.0


@dataclass(frozen=True)
class Figure:
    """One person's figures now."""

    user_id: int
    tutor: bool
    here: bool
    seconds: float
    turns: int
    longest_silence: float  # students; the current silence included
    silence: float  # students: how long they have not spoken now (0 while speaking or away)


@dataclass(frozen=True)
class Figures:
    tutor_seconds: float
    student_seconds: float
    tutor_window_share: float | None  # None until a whole window has passed with the tutor
    people: tuple[Figure, ...]

    @property
    def students(self) -> int:
        return sum(not f.tutor for f in self.people)


@dataclass(frozen=True)
class Silent:
    """Prompt: a student has not spoken for ``seconds``."""

    user_id: int
    seconds: float


@dataclass(frozen=True)
class TutorShare:
    """Prompt: the tutor spoke ``share`` of the last ``window_s``."""

    share: float
    window_s: float


Prompt = Silent | TutorShare


class _Voice:
    """One person's running figures."""

    __slots__ = (
        "user_id",
        "name",
        "tutor",
        "here",
        "seconds",
        "turns",
        "longest",
        "start",
        "last",
        "last_ts",
        "pending",
        "quiet_since",
        "prompted",
    )

    def __init__(self, user_id: int, tutor: bool) -> None:
        self.user_id = user_id
        self.name = ""
        self.tutor = tutor
        self.here = False
        self.seconds = 0.0
        self.turns = 0
        self.longest = 0.0
        self.start: float | None = None  # the current stretch of speech began (arrival)
        self.last = float("-inf")  # the last loud packet arrived
        self.last_ts = 0  # its RTP timestamp
        self.pending = 0.0  # media seconds of the current stretch not counted yet
        self.quiet_since: float | None = None  # students: silent since (None: speaking/away)
        self.prompted = False  # the silence prompt was given for the current silence


class Meter:
    """One class's speaking figures. Not thread-safe: the event loop is its lock."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules()
        self._pause_ticks = round(self.rules.pause_s * RTP_HZ)  # read for every loud packet
        self._voices: dict[int, _Voice] = {}
        self._bucket_s = self.rules.window_s / BUCKETS
        self._ids = [-1] * BUCKETS  # which bucket (time // bucket_s) each slot holds
        self._tutor_ring = [0.0] * BUCKETS
        self._student_ring = [0.0] * BUCKETS
        self._started: float | None = None  # the tutor first came in
        self._share_prompted = False
        self.saved_at: float | None = None  # when the figures were last handed to be kept

    def restore(self, kept: Iterable[Spoken]) -> None:
        """Continue from what a previous home of the class kept (a failover, a restart)."""
        for spoken in kept:
            voice = self._voices.setdefault(spoken.user_id, _Voice(spoken.user_id, spoken.tutor))
            voice.seconds = max(voice.seconds, spoken.seconds)
            voice.turns = max(voice.turns, spoken.turns)
            voice.longest = max(voice.longest, spoken.longest_silence)

    # -- who is in the room -------------------------------------------------------------

    def arrive(self, user_id: int, tutor: bool, now: float, name: str = "") -> None:
        voice = self._voices.get(user_id)
        if voice is None:
            voice = self._voices[user_id] = _Voice(user_id, tutor)
        voice.tutor, voice.here, voice.prompted = tutor, True, False
        voice.name = name or voice.name
        if tutor:
            if self._started is None:
                self._started = now
                for other in self._voices.values():  # the waiting was not silence
                    if other.quiet_since is not None:
                        other.quiet_since = now
        else:
            voice.quiet_since = now

    def name(self, user_id: int) -> str:
        """The name someone had when they were last here ("" if not here since a restart)."""
        voice = self._voices.get(user_id)
        return voice.name if voice else ""

    def depart(self, user_id: int, now: float) -> None:
        voice = self._voices.get(user_id)
        if voice is None or not voice.here:
            return
        self._close(voice)
        self._end_silence(voice, now)
        voice.here = False

    # -- the hot path: one call per loud audio packet -----------------------------------

    def loud(self, user_id: int, now: float, timestamp: int) -> None:
        """A packet louder than speech's threshold from this person, arrived ``now``, with
        this RTP ``timestamp`` (Opus: 48 kHz). Within a stretch, time is counted from the
        timestamps, not from arrival: a server that stalls for a moment, and then reads a
        burst of packets, counts the speech as it was spoken."""
        voice = self._voices.get(user_id)
        if voice is None or not voice.here:
            return
        if voice.start is not None:
            ticks = (timestamp - voice.last_ts) & 0xFFFFFFFF
            if ticks <= self._pause_ticks:
                voice.pending += ticks * TICK_S
                voice.last, voice.last_ts = now, timestamp
                return
            if ticks > LATE_TICKS:  # reordered: its time is counted already
                return
        self._begin(voice, now, timestamp)

    def _begin(self, voice: _Voice, now: float, timestamp: int) -> None:
        if voice.start is not None:  # a pause longer than the hangover: a new stretch
            self._close(voice)
        if now - (voice.last + FRAME_S) >= self.rules.turn_gap_s:
            voice.turns += 1
        self._end_silence(voice, now)
        voice.prompted = False
        voice.start = voice.last = now
        voice.last_ts, voice.pending = timestamp, FRAME_S  # each packet counts its 20 ms

    def _close(self, voice: _Voice) -> None:
        """End the current stretch of speech (at the end of its last packet)."""
        if voice.start is None:
            return
        self._credit(voice, voice.pending, voice.last)
        voice.pending, voice.start = 0.0, None
        if not voice.tutor:
            voice.quiet_since = voice.last + FRAME_S

    def _end_silence(self, voice: _Voice, now: float) -> None:
        if voice.quiet_since is not None:
            voice.longest = max(voice.longest, now - voice.quiet_since)
            voice.quiet_since = None

    def _credit(self, voice: _Voice, seconds: float, at: float) -> None:
        """Count ``seconds`` of speech, in the totals and in the window's bucket of ``at``."""
        voice.seconds += seconds
        bucket = int(at // self._bucket_s)
        slot = bucket % BUCKETS
        if self._ids[slot] != bucket:
            self._ids[slot] = bucket
            self._tutor_ring[slot] = self._student_ring[slot] = 0.0
        ring = self._tutor_ring if voice.tutor else self._student_ring
        ring[slot] += seconds

    # -- looking now and then -----------------------------------------------------------

    def tick(self, now: float) -> list[Prompt]:
        """Close the stretches of speech that ended, count the others so far, and return
        the prompts for the tutor that are due: each once per crossing of its threshold."""
        rules = self.rules
        self._settle(now)
        prompts: list[Prompt] = []
        for voice in self._voices.values():
            if voice.here and voice.quiet_since is not None and not voice.prompted:
                silence = now - voice.quiet_since
                if silence >= rules.silent_after_s and self._started is not None:
                    voice.prompted = True
                    prompts.append(Silent(voice.user_id, silence))
        share = self.tutor_window_share(now)
        if share is not None:
            if share >= rules.tutor_share and not self._share_prompted:
                self._share_prompted = True
                prompts.append(TutorShare(share, rules.window_s))
            elif share < rules.tutor_share - REARM_BELOW:
                self._share_prompted = False
        return prompts

    def _settle(self, now: float) -> None:
        """Close the stretches of speech that ended; count the others up to now."""
        for voice in self._voices.values():
            if voice.start is not None:
                if now - voice.last > self.rules.pause_s:
                    self._close(voice)
                elif voice.pending:
                    self._credit(voice, voice.pending, now)
                    voice.pending = 0.0

    def tutor_window_share(self, now: float) -> float | None:
        """The tutor's speaking time in the last ``window_s`` over its length; None until
        the tutor has been in the class that long."""
        if self._started is None or now - self._started < self.rules.window_s:
            return None
        newest = int(now // self._bucket_s)
        spoken = sum(
            seconds
            for bucket, seconds in zip(self._ids, self._tutor_ring, strict=True)
            if newest - BUCKETS < bucket <= newest
        )
        return min(1.0, spoken / self.rules.window_s)

    def figures(self, now: float) -> Figures:
        """Everyone's figures now, the speech under way counted so far."""
        self._settle(now)
        people = []
        for v in self._voices.values():
            silence = now - v.quiet_since if v.here and v.quiet_since is not None else 0.0
            people.append(
                Figure(
                    user_id=v.user_id,
                    tutor=v.tutor,
                    here=v.here,
                    seconds=v.seconds,
                    turns=v.turns,
                    longest_silence=0.0 if v.tutor else max(v.longest, silence),
                    silence=0.0 if v.tutor else silence,
                )
            )
        return Figures(
            tutor_seconds=sum(f.seconds for f in people if f.tutor),
            student_seconds=sum(f.seconds for f in people if not f.tutor),
            tutor_window_share=self.tutor_window_share(now),
            people=tuple(people),
        )

    def spoken(self, now: float) -> list[Spoken]:
        """What the class keeps (classroom/speaking.py): each person's time, turns and
        longest silence so far."""
        return [
            Spoken(f.user_id, f.tutor, round(f.seconds, 3), f.turns, round(f.longest_silence, 3))
            for f in self.figures(now).people
        ]

    def due(self, now: float, every_s: float) -> bool:
        """Whether the figures should be kept now (every ``every_s``); marks them kept."""
        if self.saved_at is not None and now - self.saved_at < every_s:
            return False
        self.saved_at = now
        return True
