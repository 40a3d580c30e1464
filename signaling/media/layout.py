"""Which publisher each of a subscriber's slots shows: pure rules, no media."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def assign_slots(
    current: Mapping[int, int], publishers: Sequence[int], me: int, count: int
) -> dict[int, int]:
    """Slot index -> publisher for the subscriber ``me``.

    Everyone who stays keeps the slot they had, so a browser's tiles never jump; newcomers
    take the lowest free slots in the order of ``publishers`` (the tutor first); nobody is
    shown to themselves; with more publishers than ``count`` slots, the last ones wait for a
    slot to free up.
    """
    others = [p for p in publishers if p != me]
    wanted = set(others)
    kept = {i: p for i, p in current.items() if p in wanted and 0 <= i < count}
    shown = set(kept.values())
    free = [i for i in range(count) if i not in kept]
    for publisher in others:
        if publisher not in shown and free:
            kept[free.pop(0)] = publisher
            shown.add(publisher)
    return dict(sorted(kept.items()))
