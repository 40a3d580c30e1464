"""Seeded generators of hostile input: random JSON, bad text, mutated valid payloads.

KELAS_FUZZ_EXAMPLES sets how many cases each fuzz test tries per surface (a default that
keeps scripts/check quick; thousands for a long run)."""

from __future__ import annotations

import math
import os
import random
from typing import Any

EXAMPLES = int(os.environ.get("KELAS_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("KELAS_FUZZ_SEED", "20261130"))

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x07\x1b[31mred",
    "\u202eevil",
    "\ud7ff\ue000",
    "😀" * 50,
    "x" * 2001,
    "x" * 70_000,
    "<script>alert(1)</script>",
    "'; DROP TABLE users; --",
    "%s%s%n",
    "{name}",
    "candidate:1 1 udp 1 1.2.3.4 5 typ host",
]
NASTY_NUMBERS = [
    0,
    -1,
    1,
    2**31 - 1,
    2**31,
    2**63,
    -(2**63) - 1,
    10**100,
    0.5,
    -0.0,
    math.inf,
    -math.inf,
    math.nan,
    True,
    False,
]


class Fuzzer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def scalar(self) -> Any:
        pick = self.rng.random()
        if pick < 0.35:
            return self.rng.choice(NASTY_TEXT)
        if pick < 0.7:
            return self.rng.choice(NASTY_NUMBERS)
        if pick < 0.8:
            return None
        return "".join(chr(self.rng.randrange(0, 0x3000)) for _ in range(self.rng.randrange(12)))

    def value(self, depth: int = 0) -> Any:
        pick = self.rng.random()
        if depth > 3 or pick < 0.5:
            return self.scalar()
        if pick < 0.75:
            return [self.value(depth + 1) for _ in range(self.rng.randrange(4))]
        return {
            str(self.scalar())[:20]: self.value(depth + 1) for _ in range(self.rng.randrange(4))
        }

    def mutate(self, valid: dict[str, Any]) -> Any:
        """A valid payload, changed a little: a field's value or type swapped, a field
        dropped or added."""
        payload = dict(valid)
        action = self.rng.randrange(5)
        keys = list(payload) or ["x"]
        key = self.rng.choice(keys)
        if action == 0:
            payload[key] = self.scalar()
        elif action == 1:
            payload.pop(key, None)
        elif action == 2:
            payload[self.rng.choice(["extra", "__proto__", "constructor", key + "_"])] = (
                self.value()
            )
        elif action == 3:
            payload[key] = self.value()
        else:
            return self.rng.choice([payload, [payload], str(payload), None, 42])
        return payload

    def payload(self, valid: dict[str, Any] | None) -> Any:
        if valid is not None and self.rng.random() < 0.6:
            return self.mutate(valid)
        return self.value()
