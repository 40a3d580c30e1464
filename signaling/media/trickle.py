"""Trickled ICE candidates that arrive before the peer connection they belong to.

The page sends its offer, then each candidate as its browser finds it (``media:candidate``).
The server builds the peer connection while those candidates arrive: python-socketio handles
each event in its own task, and an offer takes tens of milliseconds to answer. A candidate
that comes meanwhile has no peer connection to go to yet, or worse, would go to the previous
one (after a reconnect). So each candidate says which offer it belongs to (its
``usernameFragment``, the offer's ``a=ice-ufrag``), and one that has no peer connection of its
own yet waits here, a few per person at most, until its peer connection exists. A candidate
that names no ufrag (an older client) belongs to the current peer connection unless a new one
is being built.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from aiortc.rtcicetransport import RTCIceCandidate

LIMIT = 64  # a browser finds a handful per network interface and TURN server


@dataclass(frozen=True)
class Trickled:
    """One candidate, parsed; ``candidate`` None is the end of candidates."""

    candidate: RTCIceCandidate | None
    mid: str | None
    index: int | None
    ufrag: str | None


class Waiting:
    """Candidates waiting for their peer connection, per person: at most LIMIT each."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._items: dict[tuple[int, int], deque[Trickled]] = {}

    def add(self, key: tuple[int, int], item: Trickled) -> bool:
        """Keep ``item``; False when this person already has LIMIT waiting for the same
        offer. A full queue first lets go of the candidates of other offers: the page has
        moved on to a new peer connection, so theirs will never be used."""
        items = self._items.setdefault(key, deque())
        if len(items) >= self._limit and item.ufrag is not None:
            items = self._items[key] = deque(i for i in items if i.ufrag in (None, item.ufrag))
        if len(items) >= self._limit:
            return False
        items.append(item)
        return True

    def take(self, key: tuple[int, int], ufrag: str | None) -> list[Trickled]:
        """The candidates of the peer connection whose offer had ``ufrag``, in the order they
        came; the others (an earlier offer's) are dropped."""
        items = self._items.pop(key, deque())
        return [item for item in items if item.ufrag in (None, ufrag)]

    def forget(self, key: tuple[int, int]) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return sum(len(items) for items in self._items.values())
