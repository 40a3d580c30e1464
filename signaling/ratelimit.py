"""Token buckets: a steady rate with room for a burst, per key, with the clock passed in."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """``per_second`` sustained, up to ``burst`` at once."""

    per_second: float
    burst: int


class TokenBucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self._tokens = float(rate.burst)
        self._at = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        elapsed = max(0.0, now - self._at)
        self._tokens = min(float(self.rate.burst), self._tokens + elapsed * self.rate.per_second)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate.per_second


class Buckets:
    """A bucket per key (an address, a class), at most ``limit`` keys: the least recently
    used is dropped first, so a flood of keys costs bounded memory."""

    def __init__(self, rate: Rate, clock: Callable[[], float], limit: int = 10_000) -> None:
        self.rate = rate
        self._clock = clock
        self._limit = limit
        self._buckets: OrderedDict[Hashable, TokenBucket] = OrderedDict()

    def take(self, key: Hashable) -> float:
        now = self._clock()
        bucket = self._buckets.pop(key, None) or TokenBucket(self.rate, now)
        self._buckets[key] = bucket
        while len(self._buckets) > self._limit:
            self._buckets.popitem(last=False)
        return bucket.take(now)
