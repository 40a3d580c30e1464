"""Scheduling at the scale of a large school, on PostgreSQL: page latency and booking throughput.

Run from the repository root (PostgreSQL must accept the URL's user; the database is created,
migrated, filled and, unless --keep is given, dropped again):

    .venv/bin/python bench/scheduling.py [--tutors 2000 --students 50000 --lessons 200000
        --clients 100 --samples 200 --seconds 15 --hot-lessons 200]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/kelas_bench] [--keep]
        [--explain]

What it does:

1. Recreates the database, applies the Alembic migrations and COPYs in a synthetic school
   (bench/school.py): 1 coordinator, the tutors with weekly windows and a few absences, the
   students, the lessons over 52 weeks from four weeks ago (a quarter in weekly series, 90%
   with a tutor) and about 2.9 bookings per lesson, with COPY; then VACUUM ANALYZE.
2. Times the real domain functions over a real engine, one ``maker.begin()`` transaction per
   operation as the web handlers do, on random inputs: "my classes" (timetable.my_lessons),
   "planning week" (timetable.planning + timetable.loads for a week in Asia/Jakarta, the old
   page that lists every class), "timetable page" (grid.timetable: one page of 50 lecturer
   rows of a random week, some pages later than the first, some one day, the levels view or
   a filter; see timetable_queries), "book a
   seat" (booking.book; ClassFull, DoubleBooked and Conflict are normal outcomes, counted and
   timed too) and "suggest tutors" (assignment.suggest for an unassigned future class).
   A "SELECT 1" through the same machinery is the floor. Each operation first runs a few
   unmeasured warm-up samples (connection, prepared statements).
3. Throughput: --clients asyncio tasks book random seats in --hot-lessons future classes for
   --seconds, each attempt in its own session, so seats run out and the row locks contend.
4. Counts overbooked classes (more confirmed bookings than capacity), which must be zero.

Targets: p95 <= 50 ms for each operation a person waits for, and no overbooked class.
--explain also prints, for one sample of each operation, its statements with their times and
the EXPLAIN ANALYZE of the slowest ones.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import asyncpg
import school
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from classroom import assignment, booking, grid, timetable
from classroom.accounts import Passwords
from classroom.clock import week_range
from classroom.db import create_engine, create_sessionmaker
from classroom.errors import Conflict
from classroom.migrate import upgrade
from classroom.models import Booking, BookingStatus, Lesson, LessonStatus, Level, Role, User
from classroom.schemas import TimetableQuery

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/kelas_bench"
TARGET_MS = 50.0
WARMUP = 5
POOL_SIZE = 20
FLOOR = "SELECT 1 (floor)"
BOOK = "book a seat"

Operation = Callable[[AsyncSession], Awaitable[object]]
Maker = async_sessionmaker[AsyncSession]


def clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Timing:
    """Latencies of one operation, and how each attempt ended ("ok" or the error's name)."""

    name: str
    millis: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    target_ms: float | None = TARGET_MS

    def percentile(self, p: int) -> float:
        if len(self.millis) < 2:
            return self.millis[0] if self.millis else float("nan")
        return statistics.quantiles(self.millis, n=100, method="inclusive")[p - 1]


@dataclass
class Throughput:
    clients: int
    pool: str
    seconds: float
    hot_lessons: int
    free_seats: int
    timing: Timing
    last_seat: float  # seconds from the start to the last successful booking
    cpu_seconds: float  # used by this process (the clients and SQLAlchemy) meanwhile


async def attempt(maker: Maker, operation: Operation) -> tuple[str, float]:
    """One operation in its own transaction, as a handler runs it: (outcome, milliseconds)."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        async with maker.begin() as db:
            await operation(db)
    except Conflict as exc:  # ClassFull, DoubleBooked, already booked: normal answers
        outcome = type(exc).__name__
    return outcome, (time.perf_counter() - started) * 1000


async def measure(
    maker: Maker, name: str, operations: Sequence[Operation], target_ms: float | None = TARGET_MS
) -> Timing:
    """Run the first few operations unmeasured, then time the rest one after another."""
    timing = Timing(name, target_ms=target_ms)
    for operation in operations[:WARMUP]:
        await attempt(maker, operation)
    for operation in operations[WARMUP:]:
        outcome, millis = await attempt(maker, operation)
        timing.millis.append(millis)
        timing.outcomes[outcome] += 1
    return timing


# The operations, as the web handlers call them.


async def select_one(db: AsyncSession) -> None:
    await db.execute(text("SELECT 1"))


async def my_classes(db: AsyncSession, student: User) -> None:
    await timetable.my_lessons(db, student, clock())


async def planning_week(db: AsyncSession, start: datetime, end: datetime) -> None:
    rows = await timetable.planning(db, start, end)
    await timetable.loads(db, start, end, rows)  # as the planning page does


async def timetable_page(db: AsyncSession, query: TimetableQuery, today: date) -> None:
    await grid.timetable(db, query, school.SCHOOL_ZONE, today)


def timetable_queries(rng: random.Random, first_monday: date) -> Iterator[TimetableQuery]:
    """What coordinators ask for: mostly a week of 50 lecturers, often a later page, sometimes
    one day, the levels view, or a filter (level, topic, no lecturer yet)."""
    while True:
        day = first_monday + timedelta(days=rng.randrange(school.WEEKS * 7))
        fields: dict[str, Any] = {"week": day, "page": rng.choice([1, 1, 2, 5, 20, 40])}
        kind = rng.randrange(10)
        if kind == 0:
            fields["day"] = day
        elif kind == 1:
            fields["rows"] = "levels"
        elif kind == 2:
            fields["level"] = rng.choice(list(Level))
        elif kind == 3:
            fields["topic"] = rng.choice(school.TOPICS).split()[0].lower()
        elif kind == 4:
            fields["unassigned"] = True
        yield TimetableQuery(**fields)


async def book_seat(db: AsyncSession, student: User, lesson_id: int) -> None:
    await booking.book(db, student, lesson_id, clock())


async def suggest_lecturers(db: AsyncSession, lesson: Lesson) -> None:
    await assignment.suggest(db, lesson.starts_at, lesson.ends_at)


# Random inputs.


@dataclass
class Inputs:
    """Random inputs for the samples, drawn from the loaded school."""

    busy_students: list[User]
    students: list[User]
    future_lessons: list[int]
    unassigned: list[Lesson]


async def draw_inputs(maker: Maker, rng: random.Random, count: int) -> Inputs:
    now = clock()
    async with maker() as db:
        busy_ids = (
            await db.scalars(
                select(Booking.student_id)
                .join(Lesson, Lesson.id == Booking.lesson_id)
                .where(
                    Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]),
                    Lesson.ends_at > now,
                )
                .distinct()
            )
        ).all()
        student_ids = (await db.scalars(select(User.id).where(User.role == Role.STUDENT))).all()
        future = select(Lesson.id).where(
            Lesson.status == LessonStatus.SCHEDULED, Lesson.starts_at > now + timedelta(days=1)
        )
        future_ids = (await db.scalars(future)).all()
        unassigned_ids = (await db.scalars(future.where(Lesson.tutor_id.is_(None)))).all()
        busy = await users(db, rng.sample(busy_ids, min(count, len(busy_ids))))
        students = await users(db, rng.sample(student_ids, min(5 * count, len(student_ids))))
        chosen = rng.sample(unassigned_ids, min(count, len(unassigned_ids)))
        unassigned = (await db.scalars(select(Lesson).where(Lesson.id.in_(chosen)))).all()
    return Inputs(busy, students, list(future_ids), list(unassigned))


async def users(db: AsyncSession, ids: Sequence[int]) -> list[User]:
    found = (await db.scalars(select(User).where(User.id.in_(ids)))).all()
    return list(found)


async def latencies(
    maker: Maker, inputs: Inputs, rng: random.Random, samples: int, first_monday: date
) -> list[Timing]:
    runs = samples + WARMUP

    def weeks() -> Iterator[tuple[datetime, datetime]]:
        for _ in range(runs):
            day = first_monday + timedelta(days=rng.randrange(school.WEEKS * 7))
            yield week_range(day, school.SCHOOL_ZONE)

    operations: dict[str, list[Operation]] = {
        FLOOR: [select_one] * runs,
        "my classes": [
            partial(my_classes, student=rng.choice(inputs.busy_students)) for _ in range(runs)
        ],
        "planning week": [partial(planning_week, start=s, end=e) for s, e in weeks()],
        "timetable page": [
            partial(timetable_page, query=q, today=first_monday)
            for q, _ in zip(timetable_queries(rng, first_monday), range(runs), strict=False)
        ],
        BOOK: [
            partial(
                book_seat,
                student=rng.choice(inputs.students),
                lesson_id=rng.choice(inputs.future_lessons),
            )
            for _ in range(runs)
        ],
        "suggest tutors": [
            partial(suggest_lecturers, lesson=rng.choice(inputs.unassigned)) for _ in range(runs)
        ],
    }
    timings = []
    for name, ops in operations.items():
        target = None if name == FLOOR else TARGET_MS
        timings.append(await measure(maker, name, ops, target))
        print(f"  measured {name}", flush=True)
    return timings


# Throughput under contention.


async def hot_lessons(maker: Maker, rng: random.Random, count: int) -> tuple[list[int], int]:
    """``count`` classes of the next four weeks that still have seats, and their free seats."""
    now = clock()
    seats = (
        select(func.count())
        .where(Booking.lesson_id == Lesson.id, Booking.status == BookingStatus.CONFIRMED)
        .correlate(Lesson)
        .scalar_subquery()
    )
    free = Lesson.capacity - seats
    query = select(Lesson.id, free).where(
        Lesson.status == LessonStatus.SCHEDULED,
        Lesson.starts_at > now + timedelta(days=1),
        Lesson.starts_at < now + timedelta(days=28),
        free > 0,
    )
    async with maker() as db:
        rows = (await db.execute(query)).all()
    chosen = rng.sample(rows, min(count, len(rows)))
    return [lesson_id for lesson_id, _ in chosen], sum(int(seats) for _, seats in chosen)


async def throughput(
    maker: Maker,
    inputs: Inputs,
    rng: random.Random,
    *,
    clients: int,
    seconds: float,
    hot: int,
    pool: str,
) -> Throughput:
    lessons, free_seats = await hot_lessons(maker, rng, hot)
    timing = Timing(f"book a seat, {clients} clients", target_ms=None)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    last_seat = 0.0

    async def client(seed: float) -> None:
        nonlocal last_seat
        own = random.Random(seed)
        while loop.time() < deadline:
            student, lesson_id = own.choice(inputs.students), own.choice(lessons)
            operation = partial(book_seat, student=student, lesson_id=lesson_id)
            outcome, millis = await attempt(maker, operation)
            timing.millis.append(millis)
            timing.outcomes[outcome] += 1
            if outcome == "ok":
                last_seat = loop.time() - started

    started, cpu = loop.time(), time.process_time()
    await asyncio.gather(*(client(rng.random()) for _ in range(clients)))
    elapsed, cpu = loop.time() - started, time.process_time() - cpu
    return Throughput(clients, pool, elapsed, len(lessons), free_seats, timing, last_seat, cpu)


# --explain: what one sample of each operation sends, and how PostgreSQL runs the slowest.


@dataclass
class Statement:
    sql: str
    parameters: Any
    millis: float


@contextmanager
def recording(engine: AsyncEngine) -> Iterator[list[Statement]]:
    statements: list[Statement] = []
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        millis = (time.perf_counter() - started.pop()) * 1000
        statements.append(Statement(sql, parameters, millis))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine, "after_cursor_execute", after)


async def explain(engine: AsyncEngine, maker: Maker, name: str, operation: Operation) -> None:
    with recording(engine) as statements:
        _, total = await attempt(maker, operation)
    spent = sum(s.millis for s in statements)
    print(f"\n=== {name}: {total:.1f} ms, of which {spent:.1f} ms in {len(statements)} statements")
    for statement in statements:
        print(f"  {statement.millis:7.1f} ms  {' '.join(statement.sql.split())[:110]}")
    selects = [s for s in statements if s.sql.lstrip().upper().startswith("SELECT")]
    for statement in sorted(selects, key=lambda s: -s.millis)[:2]:
        async with maker() as db:  # rolled back when it closes
            conn = await db.connection()
            sql = "EXPLAIN (ANALYZE, BUFFERS) " + statement.sql
            plan = (await conn.exec_driver_sql(sql, statement.parameters)).scalars().all()
        print(f"\n--- {statement.millis:.1f} ms:\n{statement.sql}\n-- {statement.parameters}")
        print("\n".join(plan))


async def explain_all(
    engine: AsyncEngine, maker: Maker, inputs: Inputs, rng: random.Random, first_monday: date
) -> None:
    start, end = week_range(first_monday + timedelta(weeks=6), school.SCHOOL_ZONE)
    student = rng.choice(inputs.busy_students)
    await explain(engine, maker, "my classes", partial(my_classes, student=student))
    await explain(engine, maker, "planning week", partial(planning_week, start=start, end=end))
    query = TimetableQuery(week=start.date())
    await explain(
        engine, maker, "timetable page", partial(timetable_page, query=query, today=first_monday)
    )
    student, lesson_id = rng.choice(inputs.students), rng.choice(inputs.future_lessons)
    await explain(
        engine, maker, "book a seat", partial(book_seat, student=student, lesson_id=lesson_id)
    )
    lesson = rng.choice(inputs.unassigned)
    await explain(engine, maker, "suggest tutors", partial(suggest_lecturers, lesson=lesson))


# The report.


def table(rows: list[list[str]], numeric: set[int]) -> str:
    """Plain text columns: numbers aligned right, words left."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        " | ".join(
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def outcomes(timing: Timing) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(timing.outcomes.items()))


def report(timings: list[Timing], run: Throughput, overbooked: int) -> str:
    rows = [["operation", "samples", "p50 ms", "p95 ms", "target", "meets target"]]
    for t in [*timings, run.timing]:
        p95 = t.percentile(95)
        target = "-" if t.target_ms is None else f"p95 <= {t.target_ms:g} ms"
        meets = "-" if t.target_ms is None else ("yes" if p95 <= t.target_ms else "NO")
        rows.append(
            [t.name, str(len(t.millis)), f"{t.percentile(50):.1f}", f"{p95:.1f}", target, meets]
        )
    done = run.timing.outcomes["ok"]
    attempts = sum(run.timing.outcomes.values())
    lines = [table(rows, numeric={1, 2, 3}), ""]
    lines += [f"{t.name} outcomes: {outcomes(t)}" for t in timings if t.name == BOOK]
    lines += [
        f"throughput: {done / run.seconds:.1f} bookings/s, {attempts / run.seconds:.1f} "
        f"attempts/s over {run.seconds:.1f} s; {run.clients} clients, {run.pool}, "
        f"{run.hot_lessons} classes with {run.free_seats} free seats at the start",
        f"  {done} seats taken in the first {run.last_seat:.1f} s "
        f"({done / max(run.last_seat, 1e-9):.1f} bookings/s while seats were left); "
        f"this process used {run.cpu_seconds:.1f} s of CPU in those {run.seconds:.1f} s",
        f"throughput outcomes: {outcomes(run.timing)}",
        f"overbooked classes: {overbooked} (target 0): {'yes' if overbooked == 0 else 'NO'}",
    ]
    return "\n".join(lines)


# Putting it together.


def admin_dsn(url: str) -> tuple[str, str]:
    """The asyncpg DSN of the server's ``postgres`` database, and the benchmark's name."""
    parsed = make_url(url)
    if not parsed.database:
        raise SystemExit("the database URL needs a database name")
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def connection(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def recreate(url: str) -> None:
    dsn, name = admin_dsn(url)
    async with connection(dsn) as conn:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')


async def drop(url: str) -> None:
    dsn, name = admin_dsn(url)
    async with connection(dsn) as conn:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def pool_for(url: str, clients: int) -> tuple[int, int]:
    """A pool with a connection per client, within what the server still accepts."""
    async with connection(plain_dsn(url)) as conn:
        spare = await conn.fetchval(
            "SELECT current_setting('max_connections')::int - count(*) - 5 FROM pg_stat_activity"
            " WHERE backend_type = 'client backend'"
        )
    total = max(1, min(clients, int(spare)))
    size = min(POOL_SIZE, total)
    return size, total - size


async def fill(url: str, size: school.Size, seed: int) -> date:
    """Generate and load the school; return the Monday its lessons start from. The generated
    rows are dropped here, so that they do not slow the garbage collector while timing."""
    started = time.perf_counter()
    password_hash = await Passwords("CHEAPEST").hash("kelas-bench")
    now = clock()
    data = school.build(size, now, password_hash, seed)
    built = time.perf_counter()
    counts = ", ".join(f"{n} {t}" for t in data.tables for n in [data.count(t)])
    print(f"generated in {built - started:.1f} s: {counts}", flush=True)
    await school.load(plain_dsn(url), data)
    loaded = time.perf_counter()
    await school.vacuum_analyze(plain_dsn(url))
    analyzed = time.perf_counter()
    print(
        f"loaded in {analyzed - built:.1f} s: COPY {loaded - built:.1f} s, "
        f"VACUUM ANALYZE {analyzed - loaded:.1f} s",
        flush=True,
    )
    clashes, overbooked = await school.check(plain_dsn(url))
    print(f"check: {clashes} tutor clashes, {overbooked} overbooked classes", flush=True)
    return data.first_monday


async def bench(args: argparse.Namespace) -> None:
    url = args.database_url
    rng = random.Random(args.seed)
    first_monday = await fill(url, school.Size(args.tutors, args.students, args.lessons), args.seed)
    gc.collect()
    gc.freeze()  # as the app does after start-up (web/app.py), so pauses are the queries' own
    pool_size, overflow = await pool_for(url, args.clients)
    pool = f"pool_size={pool_size}, max_overflow={overflow}"
    engine = create_engine(url, pool_size=pool_size, max_overflow=overflow)
    maker = create_sessionmaker(engine)
    try:
        inputs = await draw_inputs(maker, rng, args.samples)
        if args.explain:
            # Its own random numbers, so that the samples are the same with or without it.
            await explain_all(engine, maker, inputs, random.Random(-args.seed), first_monday)
        timings = await latencies(maker, inputs, rng, args.samples, first_monday)
        print(f"  throughput: {args.clients} clients for {args.seconds:g} s", flush=True)
        run = await throughput(
            maker,
            inputs,
            rng,
            clients=args.clients,
            seconds=args.seconds,
            hot=args.hot_lessons,
            pool=pool,
        )
    finally:
        await engine.dispose()
    async with connection(plain_dsn(url)) as conn:
        overbooked = await school.overbooked(conn)
    print()
    print(report(timings, run, overbooked))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tutors", type=int, default=2000)
    parser.add_argument("--students", type=int, default=50000)
    parser.add_argument("--lessons", type=int, default=200000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0, help="throughput window")
    parser.add_argument("--hot-lessons", type=int, default=200, help="classes clients book")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE output")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    asyncio.run(recreate(args.database_url))
    try:
        started = time.perf_counter()
        upgrade(args.database_url)
        print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
        asyncio.run(bench(args))
    finally:
        if not args.keep:
            asyncio.run(drop(args.database_url))


if __name__ == "__main__":
    main()
