"""The coordinators' timetable: lecturers (or levels) as rows, days as columns, a page at a time.

A large school has thousands of classes a week, so nothing here reads the whole week into
Python. Two statements answer one page:

1. *Rows*: the week's matching classes grouped by row (lecturer or level), counted in SQL,
   sorted and cut to the page with LIMIT/OFFSET; window sums over the groups give the totals
   (rows, classes, classes without a lecturer) in the same pass.
2. *Cells*: the classes of the page's rows only, each numbered within its (row, day) cell by a
   window function, so a crowded cell sends its first few and the count of the rest.

Days are local days in the viewer's zone: the statement buckets ``starts_at`` with a CASE
over the UTC instants at which each day begins, which is exact across DST changes and reads
the same on SQLite and PostgreSQL. Only scheduled classes are shown (cancelled ones are no
longer planned). The row of classes with no lecturer has the key None and comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from classroom.clock import day_range, week_start
from classroom.models import Lesson, LessonStatus, Level, User
from classroom.schemas import GridRows, TimetableQuery

# Classes shown in one cell before "and N more": a week cell stays glanceable; a day cell
# holds a whole day of one row (a lecturer teaches at most a few dozen classes a day; a
# level or the no-lecturer row may hold more, and links to a narrower view).
WEEK_CELL_LIMIT = 6
DAY_CELL_LIMIT = 200

RowKey = int | Level | None  # a lecturer's id, a level, or None: no lecturer yet


@dataclass(frozen=True, slots=True)
class GridClass:
    """One class as a cell shows it: narrow, plain values."""

    id: int
    topic: str
    level: Level
    starts_at: datetime
    ends_at: datetime
    tutor_id: int | None
    booked: int
    capacity: int
    waiting: int

    @property
    def unassigned(self) -> bool:
        return self.tutor_id is None


@dataclass(frozen=True, slots=True)
class Cell:
    day: date
    classes: list[GridClass]
    more: int  # matching classes of this row and day not listed here


@dataclass(frozen=True, slots=True)
class GridRow:
    key: RowKey
    label: str  # the lecturer's name or the level; "" for the no-lecturer row
    classes: int  # matching classes in the whole span
    unassigned: int
    cells: list[Cell]


@dataclass(frozen=True, slots=True)
class Grid:
    """One page of the timetable and what the page needs to offer the next."""

    query: TimetableQuery
    monday: date
    days: list[date]
    rows: list[GridRow]
    total_rows: int
    total_classes: int
    total_unassigned: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_rows // self.query.per_page))

    @property
    def cell_limit(self) -> int:
        return DAY_CELL_LIMIT if self.query.day else WEEK_CELL_LIMIT


def shown_days(query: TimetableQuery, today: date) -> list[date]:
    """The day asked for, or the Monday-to-Sunday week holding ``week`` (or today)."""
    if query.day is not None:
        return [query.day]
    monday = week_start(query.week or today)
    return [monday + timedelta(days=i) for i in range(7)]


async def timetable(db: AsyncSession, query: TimetableQuery, zone: str, today: date) -> Grid:
    """One page of the timetable in ``zone``; ``today`` picks the week when none is asked."""
    days = shown_days(query, today)
    bounds = [day_range(d, zone)[0] for d in days] + [day_range(days[-1], zone)[1]]
    rows, totals = await _rows(db, query, bounds)
    cells = await _cells(db, query, bounds, [key for key, *_ in rows]) if rows else {}
    limit = DAY_CELL_LIMIT if query.day else WEEK_CELL_LIMIT
    grid_rows = []
    for key, label, count, unassigned in rows:
        found = cells.get(key, {})
        row_cells = []
        for index, day in enumerate(days):
            listed, total = found.get(index, ([], 0))
            row_cells.append(Cell(day, listed, total - min(total, limit)))
        grid_rows.append(GridRow(key, label, count, unassigned, row_cells))
    return Grid(query, week_start(days[0]), days, grid_rows, *totals)


def _key(rows: GridRows) -> ColumnElement[Any]:
    return Lesson.tutor_id if rows == "lecturers" else Lesson.level  # type: ignore[return-value]


def _matching(query: TimetableQuery, bounds: list[datetime]) -> list[ColumnElement[bool]]:
    """The filters on lessons; the lecturer's name needs the ``tutor`` alias joined."""
    where = [
        Lesson.starts_at >= bounds[0],
        Lesson.starts_at < bounds[-1],
        Lesson.status == LessonStatus.SCHEDULED,
    ]
    if query.level is not None:
        where.append(Lesson.level == query.level)
    if query.topic:
        where.append(Lesson.topic.icontains(query.topic, autoescape=True))
    if query.tutor_id is not None:
        where.append(Lesson.tutor_id == query.tutor_id)
    if query.unassigned:
        where.append(Lesson.tutor_id.is_(None))
    return where


def _filtered(query: TimetableQuery, bounds: list[datetime], *columns: Any) -> Select[Any]:
    tutor = aliased(User, name="tutor")
    statement = select(*columns).select_from(Lesson).where(*_matching(query, bounds))
    if query.lecturer:
        statement = statement.join(tutor, tutor.id == Lesson.tutor_id).where(
            tutor.name.icontains(query.lecturer, autoescape=True)
        )
    return statement


_LEVEL_ORDER = case({level: index for index, level in enumerate(Level)}, value=Lesson.level)


async def _rows(
    db: AsyncSession, query: TimetableQuery, bounds: list[datetime]
) -> tuple[list[tuple[RowKey, str, int, int]], tuple[int, int, int]]:
    """The page's rows with their counts, and the totals over every row."""
    key = _key(query.rows)
    no_tutor = func.sum(case((Lesson.tutor_id.is_(None), 1), else_=0))
    counted = (func.count(), no_tutor)
    totals = (func.count().over(), func.sum(func.count()).over(), func.sum(no_tutor).over())
    if query.rows == "lecturers":
        name = aliased(User, name="row_tutor")
        statement = (
            _filtered(query, bounds, key, name.name, *counted, *totals)
            .outerjoin(name, name.id == Lesson.tutor_id)
            .group_by(key, name.name)
            .order_by(key.is_not(None), name.name, key)
        )
    else:
        statement = (
            _filtered(query, bounds, key, literal(""), *counted, *totals)
            .group_by(key)
            .order_by(func.min(_LEVEL_ORDER))
        )
    offset = (query.page - 1) * query.per_page
    result = await (await db.connection()).execute(statement.limit(query.per_page).offset(offset))
    found = result.all()
    if found:
        first = found[0]
        rows = [(r[0], r[1] or (r[0].value if isinstance(r[0], Level) else ""), r[2], r[3])
                for r in found]  # fmt: skip
        return rows, (first[4], int(first[5]), int(first[6] or 0))
    return [], await _totals(db, query, bounds)


async def _totals(
    db: AsyncSession, query: TimetableQuery, bounds: list[datetime]
) -> tuple[int, int, int]:
    """Totals for a page past the last row (nothing on it to read them from)."""
    key = _key(query.rows)
    no_tutor = case((Lesson.tutor_id.is_(None), 1), else_=0)
    statement = _filtered(
        query, bounds, func.count(func.distinct(key)), func.count(), func.sum(no_tutor)
    )
    rows_ = (await (await db.connection()).execute(statement)).one()
    # count(DISTINCT) skips NULL: the no-lecturer row is a row too.
    has_null = query.rows == "lecturers" and bool(rows_[2])
    return int(rows_[0]) + int(has_null), int(rows_[1]), int(rows_[2] or 0)


async def _cells(
    db: AsyncSession, query: TimetableQuery, bounds: list[datetime], keys: list[RowKey]
) -> dict[RowKey, dict[int, tuple[list[GridClass], int]]]:
    """The first classes of each (row, day) cell of the page's rows, and each cell's count."""
    key = _key(query.rows)
    inner_bounds = bounds[1:-1]
    day: ColumnElement[int] = (
        case(
            *((Lesson.starts_at < b, i) for i, b in enumerate(inner_bounds)),
            else_=len(inner_bounds),
        )
        if inner_bounds
        else literal(0)
    )
    cell = (key, day)
    named = [k for k in keys if k is not None]
    in_page = or_(key.in_(named), key.is_(None)) if None in keys else key.in_(named)
    inner = _filtered(
        query,
        bounds,
        Lesson.id, Lesson.topic, Lesson.level, Lesson.starts_at, Lesson.ends_at,
        Lesson.tutor_id, Lesson.booked, Lesson.capacity, Lesson.waiting,
        key.label("row_key"), day.label("day_index"),
        func.row_number().over(partition_by=cell, order_by=(Lesson.starts_at, Lesson.id))
        .label("place"),
        func.count().over(partition_by=cell).label("in_cell"),
    ).where(in_page).subquery()  # fmt: skip
    limit = DAY_CELL_LIMIT if query.day else WEEK_CELL_LIMIT
    statement = (
        select(inner)
        .where(inner.c.place <= limit)
        .order_by(inner.c.row_key, inner.c.day_index, inner.c.place)
    )
    cells: dict[RowKey, dict[int, tuple[list[GridClass], int]]] = {}
    for values in await (await db.connection()).execute(statement):
        row_cells = cells.setdefault(values.row_key, {})
        listed, _ = row_cells.setdefault(values.day_index, ([], values.in_cell))
        listed.append(GridClass(*values[:9]))
    return cells
