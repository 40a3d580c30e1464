"""Joining live classes: the per-address join rate held, and nobody else slowed down.

Run from the repository root (about a minute and a half):

    .venv/bin/python bench/joins.py [--sustained 20] [--flood 10] [--flood-rate 50] [--keep]

The exit status is 1 when anything unexpected happened: a client errored, a refusal was not
``rate_limited``, a count is off what the rate allows, or the server logged an error. The
table of such a run is printed with the failures under it, and is not to be quoted.

What it does: starts Kelas as its own process on a fresh SQLite database, as bench/sfu.py
does (``start_kelas``; accounts, logins, classes and bookings from bench/live_school.py),
with a tutor, a student and 50 coordinators, and makes two classes: the *joined* class,
which the coordinators join as observers, and the *chatting* class, its tutor and one
booked student. The join rate is the server's own, ``JOIN_RATE`` in signaling/namespace.py.

A join: a new Socket.IO client (its own aiohttp session, bound to the client address)
connects to /class with the lesson in ``auth`` and the person's session cookie, waits until
it is connected, and disconnects. Connected means admitted: python-socketio sends CONNECT
only after ``on_connect`` returned, so the person was checked, placed in the room and their
attendance recorded. Leaving again at once keeps the room small, so every join costs what
the first one did and the figures are those of the join path, not of a room's size (full
rooms are bench/sfu.py's). No person joins twice at once (their second connection would
replace the first).

Phases, in this order, against the same server process:

1. idle: nobody joins; the chatting class is connected and quiet.
2. sustained: 127.0.0.1 joins at the rate (5/s) for --sustained s, paced by the clock: an
   open loop, each join started on time whether or not the ones before have finished.
3. burst: once the bucket is full again, ``burst`` (10) joins from 127.0.0.1 and, right
   behind them, as many more, all sent at once. ``burst`` of them get in (plus what the bucket
   refilled while they were answered: rate x that time, in the expected column), the others
   are refused with their retry_after. Which ones get in follows the order in which the
   server reaches them, usually the order sent; a busy machine can shuffle it.
4. quiet: for --flood s the chatting class (127.0.0.2) takes turns to send a line every
   0.55 s (each person under the chat limit of one a second) and 127.0.0.3 joins the joined
   class twice a second: the baseline for 5.
5. flood: the same, while 127.0.0.1 tries --flood-rate joins a second, starting full.

Figures: offered/s from the joins' start times; admitted/s over the phase (in the flood,
also after its first second, when the burst is spent); join latency from ``connect()`` to
connected (or to the refusal); retry_after as the refusals carry it; chat ack is
``chat:send`` to its ack, chat delivered is ``chat:send`` to the other person's
``chat:message`` (a database write and a broadcast each). Server CPU % is the process's
utime + stime (/proc/<pid>/stat, every thread) over the phase, in % of one core; in brackets,
CPU ms per join: in the sustained phase per join and leave, in the burst per join tried, in
the flood per refused join (the flood's CPU above the quiet phase's, less its admitted joins
at the sustained phase's cost each). bench % is this process, others % everything else on
the machine (PostgreSQL included), loop lag the most this process's event loop woke up late:
a busy bench or machine makes latencies look worse than the server made them (such phases
are listed under the table).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import live_school
import scheduling
from join_bots import Attempt, ChatPair, Line, Outcome, People, gather, paced
from packet_log import percentile
from server_process import cpu_seconds, machine_busy_seconds
from sfu import log_problems, start_kelas
from sfu_report import f, table
from sfu_workloads import others_quiet

from signaling.namespace import JOIN_RATE

T = TypeVar("T")
MAIN, CHAT, PROBE = "127.0.0.1", "127.0.0.2", "127.0.0.3"
JOINERS, PROBERS = 40, 10  # coordinators who take turns joining from MAIN and from PROBE
PROBE_RATE = 2.0
CHAT_EVERY = 0.55
IDLE_S = 2.0
LAG_TICK_S = 0.005
BUSY_OTHERS = 50.0  # % of a core used by other processes, past which a phase is noted
BUSY_LAG_S = 0.05
COUNT_SLACK = 2  # joins the flood's count may be off by, from when the server sees them


@dataclass
class Usage:
    """CPU seconds of the server, this process and everything else over one phase."""

    seconds: float = 0.0
    server: float = 0.0
    bench: float = 0.0
    others: float = 0.0
    lag: float = 0.0

    def percent(self, cpu: float) -> float:
        return 100 * cpu / self.seconds if self.seconds else math.nan


async def measured(pid: int, work: Awaitable[T]) -> tuple[T, Usage]:
    """``work``'s result and what it cost. The bench's own garbage collector waits until the
    phase is over: a collection among hundreds of finished clients stops this event loop
    and would count as the server's latency."""
    usage, lags = Usage(), [0.0]

    async def lag() -> None:
        while True:
            due = time.perf_counter() + LAG_TICK_S
            await asyncio.sleep(LAG_TICK_S)
            lags.append(time.perf_counter() - due)

    sampler = asyncio.ensure_future(lag())
    busy, server, bench = machine_busy_seconds(), cpu_seconds(pid), cpu_seconds(os.getpid())
    gc.collect()
    gc.disable()
    started = time.perf_counter()
    try:
        result = await work
    finally:
        sampler.cancel()
        gc.enable()
    usage.seconds = time.perf_counter() - started
    usage.server = cpu_seconds(pid) - server
    usage.bench = cpu_seconds(os.getpid()) - bench
    usage.others = max(0.0, machine_busy_seconds() - busy - usage.server - usage.bench)
    usage.lag = max(lags)
    return result, usage


@dataclass
class Phase:
    name: str
    usage: Usage
    joins: Outcome = field(default_factory=Outcome)
    probes: Outcome = field(default_factory=Outcome)
    chat: list[Line] = field(default_factory=list)
    waves: tuple[Outcome, Outcome] | None = None
    refill_s: float = 0.0  # burst: from sending them all to the last answer

    @property
    def problems(self) -> list[str]:
        found = self.joins.problems + self.probes.problems
        for wave in self.waves or ():
            found += wave.problems
        return found


@dataclass
class Bench:
    base_url: str
    pid: int
    lesson: int
    joiners: People
    probers: People
    chat: ChatPair
    args: argparse.Namespace

    def join(self) -> Awaitable[Attempt]:
        return self.joiners.join(self.base_url, MAIN, self.lesson)

    def probe(self) -> Awaitable[Attempt]:
        return self.probers.join(self.base_url, PROBE, self.lesson)

    async def ready(self, refill: bool = False) -> None:
        """Wait until MAIN's bucket is full again (nobody joined from it meanwhile), and
        until the rest of the machine is quiet enough (at most --others-timeout)."""
        started = time.perf_counter()
        await others_quiet(self.pid, self.args.max_others, self.args.others_timeout)
        if refill:
            full = JOIN_RATE.burst / JOIN_RATE.per_second + 0.5
            await asyncio.sleep(max(0.0, full - (time.perf_counter() - started)))

    async def idle(self) -> Phase:
        await self.ready()
        _, usage = await measured(self.pid, asyncio.sleep(IDLE_S))
        return Phase("idle", usage)

    async def sustained(self) -> Phase:
        await self.ready(refill=True)
        work = paced(JOIN_RATE.per_second, self.args.sustained, self.join)
        joins, usage = await measured(self.pid, work)
        return Phase("sustained", usage, joins=joins)

    async def burst(self) -> Phase:
        async def waves() -> tuple[Outcome, Outcome, float]:
            started = time.perf_counter()
            first = [asyncio.ensure_future(self.join()) for _ in range(JOIN_RATE.burst)]
            second = [asyncio.ensure_future(self.join()) for _ in range(JOIN_RATE.burst)]
            outcomes = await gather(first), await gather(second)
            return *outcomes, time.perf_counter() - started

        await self.ready(refill=True)
        (first, second, refill), usage = await measured(self.pid, waves())
        both = Outcome(first.attempts + second.attempts)
        return Phase("burst", usage, joins=both, waves=(first, second), refill_s=refill)

    async def chatting(self, name: str, flood: float) -> Phase:
        seconds = self.args.flood

        async def work() -> tuple[Outcome, Outcome, list[Line]]:
            joins = paced(flood, seconds, self.join) if flood else gather([])
            probes = paced(PROBE_RATE, seconds, self.probe)
            return await asyncio.gather(joins, probes, self.chat.talk(seconds, CHAT_EVERY))

        await self.ready(refill=True)
        (joins, probes, chat), usage = await measured(self.pid, work())
        return Phase(name, usage, joins=joins, probes=probes, chat=chat)


# -- the table --------------------------------------------------------------------------

Row = list[str]


def ms(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{1000 * percentile(list(values), 50):.0f} / {1000 * percentile(list(values), 95):.0f}"


def check(row: Row, ok: bool, failures: list[str]) -> Row:
    if not ok:
        failures.append(f"{row[0]}: {row[1]} is {row[2]}, expected {row[3]}")
    return [*row, "" if ok else "NO"]


def span_rate(attempts: list[Attempt], nominal: float) -> float:
    """Joins a second, from the first start to one interval after the last."""
    if len(attempts) < 2:
        return math.nan
    starts = sorted(a.started for a in attempts)
    return len(starts) / (starts[-1] - starts[0] + 1 / nominal)


def cpu_rows(phase: Phase, per: str = "", server_s: float = math.nan, joins: int = 0) -> list[Row]:
    """The server's CPU over the phase; with ``per``, also ``server_s`` CPU seconds per join."""
    u = phase.usage
    value, measure = f"{f(u.percent(u.server), 0)}", "server CPU %"
    if per:
        value += f" ({f(1000 * server_s / joins, 1) if joins else '-'})"
        measure += f" (ms {per})"
    return [
        [phase.name, measure, value, ""],
        [
            phase.name,
            "bench / others CPU %, loop lag ms",
            f"{f(u.percent(u.bench), 0)} / {f(u.percent(u.others), 0)}, {1000 * u.lag:.0f}",
            "",
        ],
    ]


def sustained_rows(phase: Phase, failures: list[str]) -> list[Row]:
    joins, rate = phase.joins, JOIN_RATE.per_second
    admitted = len(joins.admitted) / (len(joins.attempts) / rate)
    return [
        [phase.name, "offered / admitted joins/s",
         f"{span_rate(joins.attempts, rate):.2f} / {admitted:.2f}", f"{rate:.0f} / {rate:.0f}"],
        check([phase.name, "refused", str(len(joins.refused)), "0"], not joins.refused, failures),
        [phase.name, "join latency p50 / p95 ms", ms([a.seconds for a in joins.admitted]), ""],
    ]  # fmt: skip


def burst_rows(phase: Phase, failures: list[str]) -> list[Row]:
    """The count is the rule; which ones get in depends on the order in which the server
    reaches them, which a busy machine can shuffle (shown, not checked)."""
    assert phase.waves is not None
    first, second = phase.waves
    burst, rate = JOIN_RATE.burst, JOIN_RATE.per_second
    refilled = math.floor(rate * phase.refill_s)  # tokens back while they were answered
    admitted, refused = len(phase.joins.admitted), len(phase.joins.refused)
    retry = sorted(a.retry_after or 0.0 for a in phase.joins.refused)
    plus = f" (+{refilled}: all answered in {1000 * phase.refill_s:.0f} ms)" if refilled else ""
    return [
        check([phase.name, f"2 x {burst} sent at once: admitted / refused",
               f"{admitted} / {refused}", f"{burst} / {burst}{plus}"],
              burst <= admitted <= burst + refilled and admitted + refused == 2 * burst,
              failures),
        [phase.name, f"first {burst} sent admitted, next {burst} refused",
         f"{len(first.admitted)}, {len(second.refused)}", f"{burst}, {burst} if in order"],
        check([phase.name, "retry_after ms, min - max",
               f"{1000 * retry[0]:.0f} - {1000 * retry[-1]:.0f}" if retry else "-",
               f"0 < r <= {1000 / rate:.0f}"], all(0 < r <= 1 / rate for r in retry), failures),
        [phase.name, "join latency p50 / p95 ms: admitted, refused",
         f"{ms([a.seconds for a in phase.joins.admitted])}, "
         f"{ms([a.seconds for a in phase.joins.refused])}", ""],
    ]  # fmt: skip


def flood_rows(phase: Phase, seconds: float, rate: float, failures: list[str]) -> list[Row]:
    joins, limit = phase.joins, JOIN_RATE
    start = min((a.started for a in joins.attempts), default=0.0)
    later = [a for a in joins.admitted if a.started >= start + 1.0]
    arrivals = max((a.started for a in joins.attempts), default=start) - start
    expected = limit.burst + limit.per_second * arrivals
    return [
        [phase.name, "offered joins/s", f"{span_rate(joins.attempts, rate):.1f}", f"{rate:.0f}"],
        check([phase.name, "admitted (per s after the first s)",
               f"{len(joins.admitted)} ({len(later) / (seconds - 1):.2f}/s)",
               f"{expected:.0f} ± {COUNT_SLACK} ({limit.per_second:.0f}/s)"],
              abs(len(joins.admitted) - expected) <= COUNT_SLACK, failures),
        [phase.name, "refused rate_limited", str(len(joins.refused)), ""],
        [phase.name, "join latency p50 / p95 ms: admitted, refused",
         f"{ms([a.seconds for a in joins.admitted])}, {ms([a.seconds for a in joins.refused])}",
         ""],
    ]  # fmt: skip


def others_rows(phase: Phase, failures: list[str]) -> list[Row]:
    probes = phase.probes
    return [
        check([phase.name, f"{PROBE} joins admitted", f"{len(probes.admitted)} of "
               f"{len(probes.attempts)}", "all"], not probes.refused, failures),
        [phase.name, f"{PROBE} join latency p50 / p95 ms", ms([a.seconds for a in probes.admitted]),
         ""],
        [phase.name, f"{CHAT} chat ack p50 / p95 ms ({len(phase.chat)} lines)",
         ms([line.ack for line in phase.chat]), ""],
        [phase.name, f"{CHAT} chat delivered p50 / p95 ms", ms([line.delivered for line in
         phase.chat]), ""],
    ]  # fmt: skip


def report(phases: dict[str, Phase], args: argparse.Namespace, failures: list[str]) -> str:
    sustained, burst, quiet, flood = (phases[n] for n in ("sustained", "burst", "quiet", "flood"))
    rows = cpu_rows(phases["idle"])
    rows += sustained_rows(sustained, failures)
    admitted = len(sustained.joins.admitted)
    rows += cpu_rows(sustained, "per join and leave", sustained.usage.server, admitted)
    rows += burst_rows(burst, failures)
    rows += cpu_rows(burst, "per join tried", burst.usage.server, len(burst.joins.attempts))
    rows += others_rows(quiet, failures) + cpu_rows(quiet)
    rows += flood_rows(flood, args.flood, args.flood_rate, failures)
    # A refusal's cost: the flood's CPU above the quiet phase's (which ran the same other
    # clients), less its admitted joins at what each cost in the sustained phase.
    extra = flood.usage.server - quiet.usage.server * flood.usage.seconds / quiet.usage.seconds
    refusing = extra - len(flood.joins.admitted) * sustained.usage.server / max(admitted, 1)
    rows += others_rows(flood, failures)
    rows += cpu_rows(flood, "per refused join", refusing, len(flood.joins.refused))
    rows = [row + [""] * (5 - len(row)) for row in rows]
    return table(["phase", "measure", "value", "expected", ""], rows, left=2)


# -- the run ----------------------------------------------------------------------------


async def run(args: argparse.Namespace, folder: Path, failures: list[str]) -> dict[str, Phase]:
    if args.database_url:
        await scheduling.recreate(args.database_url)
    server, base_url = await start_kelas(folder / "kelas", JOINERS + PROBERS, args.database_url)
    chat: ChatPair | None = None
    try:
        school = await live_school.open_school(base_url, 1, JOINERS + PROBERS)
        lesson = await live_school.new_class(school, booked=0)
        chatting = await live_school.new_class(school, booked=1)
        people = [school.tutor, school.students[0]]
        chat = ChatPair(base_url, CHAT, chatting, people)
        await chat.open()
        bench = Bench(
            base_url,
            server.pid,
            lesson,
            People(school.observers[:JOINERS]),
            People(school.observers[JOINERS:]),
            chat,
            args,
        )
        steps: list[tuple[str, Callable[[], Awaitable[Phase]]]] = [
            ("idle", bench.idle),
            ("sustained", bench.sustained),
            ("burst", bench.burst),
            ("quiet", lambda: bench.chatting("quiet", 0.0)),
            ("flood", lambda: bench.chatting("flood", args.flood_rate)),
        ]
        phases = {}
        for name, step in steps:
            print(f"- {name} ...", flush=True)
            phases[name] = await step()
            failures += summary(name, phases[name].problems)
        return phases
    finally:
        if chat is not None:
            await chat.close()
            failures += chat.problems
        server.stop()
        failures += log_problems(server)
        if args.database_url:
            await scheduling.drop(args.database_url)


def summary(name: str, problems: list[str]) -> list[str]:
    """One line per kind of problem, with how often it happened."""
    counts = Counter(problems)
    return [f"{name}: {f'{n} x ' if n > 1 else ''}{problem}" for problem, n in counts.items()]


def busy_notes(phases: dict[str, Phase]) -> list[str]:
    """Phases whose latencies are partly the machine's: other processes took most of the
    cores, or this process's event loop woke up late."""
    notes = []
    for phase in phases.values():
        u = phase.usage
        if u.percent(u.others) > BUSY_OTHERS or u.lag > BUSY_LAG_S:
            notes.append(
                f"{phase.name}: other processes used {u.percent(u.others):.0f} % of a core and "
                f"this event loop woke up to {1000 * u.lag:.0f} ms late; its latencies include "
                "waiting for a core"
            )
    return notes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sustained", type=float, default=20.0, help="seconds at the rate")
    parser.add_argument("--flood", type=float, default=10.0, help="seconds of quiet and flood")
    parser.add_argument("--flood-rate", type=float, default=50.0, help="joins/s from one address")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL database to create and drop, e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/kelas_bench_joins (default: SQLite)",
    )
    parser.add_argument(
        "--max-others",
        type=float,
        default=25.0,
        help="wait before each phase until other processes use less than this %% of a core",
    )
    parser.add_argument("--others-timeout", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="joins-bench-"))
    failures: list[str] = []
    started = time.perf_counter()
    try:
        phases = await run(args, folder, failures)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print()
    print(
        f"Joins, {os.cpu_count()} cores, {database}, join rate {JOIN_RATE.per_second:g}/s, "
        f"burst {JOIN_RATE.burst}, per address; {time.perf_counter() - started:.0f} s"
    )
    print(report(phases, args, failures))
    notes = busy_notes(phases)
    if notes:
        print()
        print("a busy machine:")
        for note in notes:
            print(f"  {note}")
    if failures:
        print()
        print("failures:")
        for failure in failures:
            print(f"  {failure}")
    return 1 if failures else 0


def main() -> int:
    return asyncio.run(main_async(parse_args()))


if __name__ == "__main__":
    sys.exit(main())
