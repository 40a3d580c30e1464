"""Token buckets: a steady rate with room for a burst, with the clock passed in.

One bucket (``TokenBucket``) for a thing that holds its own, such as a socket connection;
``Buckets`` keeps one per key (a client address) in bounded memory. The HTTP limits on logins
and sign-ups (web/ratelimit.py) and the live sockets' limits use the same two classes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """``per_second`` sustained, up to ``burst`` at once; a rate of 0 is no limit."""

    per_second: float
    burst: int

    @classmethod
    def per_minute(cls, count: float, burst: int) -> Rate:
        return cls(per_second=count / 60, burst=max(burst, 1))


class TokenBucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.burst)
        self.at = now

    def level(self, now: float) -> float:
        """The tokens there would be at ``now``."""
        elapsed = max(0.0, now - self.at)
        return min(float(self.rate.burst), self.tokens + elapsed * self.rate.per_second)

    def take(self, now: float) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        if self.rate.per_second <= 0:
            return 0.0
        self.tokens, self.at = self.level(now), now
        # Refills summed over many calls may fall a rounding error short of a whole token.
        if self.tokens >= 1.0 - 1e-9:
            self.tokens = max(self.tokens - 1.0, 0.0)
            return 0.0
        return (1.0 - self.tokens) / self.rate.per_second


class Buckets:
    """A bucket per key, at most ``limit`` keys. Past that, buckets that have filled up
    again are forgotten first (forgetting one forgives nobody), then the least recently
    used, so a flood of keys costs bounded memory."""

    def __init__(self, rate: Rate, clock: Callable[[], float], limit: int = 10_000) -> None:
        self.rate = rate
        self._clock = clock
        self._limit = limit
        self._buckets: dict[Hashable, TokenBucket] = {}  # least recently used first

    def take(self, key: Hashable) -> float:
        now = self._clock()
        bucket = self._buckets.pop(key, None) or TokenBucket(self.rate, now)
        self._buckets[key] = bucket
        wait = bucket.take(now)
        if len(self._buckets) > self._limit:
            self._forget(now)
        return wait

    def _forget(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.level(now) >= self.rate.burst]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > self._limit:
            del self._buckets[next(iter(self._buckets))]
