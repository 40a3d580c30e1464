"""Garbage-collector pauses of a Python process, logged from inside it.

A collection stops the event loop: in a process that holds many peer connections a full one
can take a large part of a second, and every stream it forwards waits. The benchmark starts
the servers with ``BENCH_GC_LOG=path`` (bench/loopback.py), and each collection longer than
a millisecond is appended there as ``<CLOCK_MONOTONIC seconds> <generation> <pause seconds>``,
comparable with ``time.perf_counter()`` in the benchmark process.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV = "BENCH_GC_LOG"
LOGGED_S = 0.001


def install_from_env() -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    log = open(path, "a", buffering=1)  # open for the process's lifetime
    started = [0.0]

    def pause(phase: str, info: dict[str, Any]) -> None:
        now = time.monotonic()
        if phase == "start":
            started[0] = now
        elif now - started[0] >= LOGGED_S:
            log.write(f"{now:.6f} {info['generation']} {now - started[0]:.6f}\n")

    gc.callbacks.append(pause)


@dataclass(frozen=True)
class Pauses:
    count: int
    longest: float
    total: float
    full: int  # generation-2 collections


def between(path: Path, start: float, end: float) -> Pauses:
    """The pauses that ended in [start, end]."""
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            at, generation, seconds = line.split()
            if start <= float(at) <= end:
                rows.append((int(generation), float(seconds)))
    return Pauses(
        count=len(rows),
        longest=max((s for _, s in rows), default=0.0),
        total=sum(s for _, s in rows),
        full=sum(1 for g, _ in rows if g == 2),
    )
