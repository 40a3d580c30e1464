"""Classes and weekly series: creating, editing and cancelling occurrences."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import assignment, schemas
from classroom.accounts import require_role
from classroom.booking import fill_from_waitlist, lesson_participants
from classroom.clock import to_local, to_utc
from classroom.errors import N_, InvalidInput, NotFound, Notice, TooLate
from classroom.models import Lesson, LessonStatus, Role, Series, User
from classroom.notifications import notify_lessons


@dataclass
class Scheduled:
    """The lessons an operation created or changed, and what the coordinator should know."""

    lessons: list[Lesson]
    warnings: list[Notice] = field(default_factory=list)


def _must_start_later(starts: datetime, now: datetime, field_name: str) -> None:
    if starts <= now:
        raise InvalidInput(
            "Please correct the marked fields.",
            {field_name: N_("The class must start in the future")},
        )


async def create_lesson(
    db: AsyncSession, actor: User, data: schemas.NewLesson, now: datetime
) -> Scheduled:
    require_role(actor, Role.COORDINATOR)
    starts = to_utc(data.starts_local, data.timezone)
    _must_start_later(starts, now, "starts_local")
    lesson = _occurrence(data, starts, now)
    db.add(lesson)
    await db.flush()
    return await _assign_new(db, [lesson], data.tutor_id, now)


def _occurrence(
    data: schemas.LessonDetails, starts: datetime, now: datetime, series_id: int | None = None
) -> Lesson:
    return Lesson(
        series_id=series_id,
        topic=data.topic,
        level=data.level,
        description=data.description,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=data.duration_minutes),
        capacity=data.capacity,
        created_at=now,
    )


def occurrence_dates(start_date: date, weekdays: list[int], weeks: int) -> list[date]:
    """Every date in the ``weeks`` weeks from ``start_date`` that falls on one of ``weekdays``."""
    days = (start_date + timedelta(days=i) for i in range(7 * weeks))
    return [d for d in days if d.weekday() in weekdays]


async def create_series(
    db: AsyncSession, actor: User, data: schemas.NewSeries, now: datetime
) -> Scheduled:
    """Create the series and its occurrences, each at the same wall-clock time in its zone,
    so a class at 19:00 stays at 19:00 across a DST change."""
    require_role(actor, Role.COORDINATOR)
    series = Series(
        topic=data.topic,
        level=data.level,
        description=data.description,
        weekdays=",".join(str(d) for d in sorted(set(data.weekdays))),
        local_time=data.local_time,
        timezone=data.timezone,
        start_date=data.start_date,
        weeks=data.weeks,
        duration_minutes=data.duration_minutes,
        capacity=data.capacity,
        created_at=now,
    )
    db.add(series)
    await db.flush()
    lessons = []
    for day in occurrence_dates(data.start_date, data.weekdays, data.weeks):
        starts = to_utc(datetime.combine(day, data.local_time), data.timezone)
        if starts <= now:
            continue
        lessons.append(_occurrence(data, starts, now, series.id))
    if not lessons:
        raise InvalidInput(
            "Please correct the marked fields.",
            {"start_date": N_("No occurrence of this series is in the future")},
        )
    db.add_all(lessons)
    await db.flush()
    return await _assign_new(db, lessons, data.tutor_id, now)


async def _assign_new(
    db: AsyncSession, lessons: list[Lesson], tutor_id: int | None, now: datetime
) -> Scheduled:
    if tutor_id is None:
        return Scheduled(lessons)
    warnings = await assignment.assign_lessons(db, lessons, tutor_id, now)
    return Scheduled(lessons, warnings)


async def get_lesson(db: AsyncSession, lesson_id: int, *, lock: bool = False) -> Lesson:
    lesson = await db.get(Lesson, lesson_id, with_for_update=lock, populate_existing=lock)
    if lesson is None:
        raise NotFound("No such class.")
    return lesson


async def _scope(db: AsyncSession, lesson: Lesson, scope: str) -> list[Lesson]:
    """The lesson alone, or it and every later scheduled occurrence of its series."""
    if scope == "one" or lesson.series_id is None:
        return [lesson]
    query = (
        select(Lesson)
        .where(
            Lesson.series_id == lesson.series_id,
            Lesson.starts_at >= lesson.starts_at,
            Lesson.status == LessonStatus.SCHEDULED,
        )
        .order_by(Lesson.starts_at)
        .with_for_update()
    )
    return list((await db.scalars(query)).all())


def _wall(instant: datetime, zone: str) -> datetime:
    return to_local(instant, zone).replace(tzinfo=None)


def _require_editable(lesson: Lesson, now: datetime) -> None:
    if lesson.status != LessonStatus.SCHEDULED:
        raise TooLate("This class was cancelled.")
    if lesson.starts_at <= now:
        raise TooLate("This class has already started.")


async def edit_lesson(
    db: AsyncSession, actor: User, lesson_id: int, data: schemas.LessonEdit, now: datetime
) -> Scheduled:
    """Change one occurrence, or it and all following ones.

    Following occurrences keep their weekday pattern: they move by as many days as this one
    and take its new local time, so a series keeps its local time across DST changes.
    """
    require_role(actor, Role.COORDINATOR)
    lesson = await get_lesson(db, lesson_id, lock=True)
    _require_editable(lesson, now)
    new_start = to_utc(data.starts_local, data.timezone)
    _must_start_later(new_start, now, "starts_local")
    # Following occurrences move by the same number of days and take the new wall-clock
    # time, in the series' own zone.
    series = await db.get(Series, lesson.series_id) if lesson.series_id else None
    zone = series.timezone if series else data.timezone
    new_wall = _wall(new_start, zone)
    days = new_wall.date() - _wall(lesson.starts_at, zone).date()
    lessons = await _scope(db, lesson, data.scope)
    old_starts = {item.id: item.starts_at for item in lessons}
    for item in lessons:
        if data.capacity < item.booked:
            raise InvalidInput(
                "Please correct the marked fields.",
                {"capacity": N_("More students have already booked than this")},
            )
    for item in lessons:
        wall = datetime.combine(_wall(item.starts_at, zone).date() + days, new_wall.time())
        item.starts_at = to_utc(wall, zone)
        item.ends_at = item.starts_at + timedelta(minutes=data.duration_minutes)
        item.topic, item.level, item.description = data.topic, data.level, data.description
        item.capacity = data.capacity
    await db.flush()
    warnings: list[Notice] = []
    by_tutor: dict[int, list[Lesson]] = {}
    for item in lessons:
        if item.tutor_id is not None:
            by_tutor.setdefault(item.tutor_id, []).append(item)
    for tutor_id, taught in by_tutor.items():
        warnings += await assignment.check_tutor_fits(db, tutor_id, taught)
    moved: dict[int, list[Lesson]] = {}
    for item in lessons:
        await fill_from_waitlist(db, item, now)
        if item.starts_at != old_starts[item.id]:
            item.reminded_at = None  # remind again before the new time
            for user_id in await lesson_participants(db, item):
                moved.setdefault(user_id, []).append(item)
    await _tell(db, moved, "lesson_moved", now)
    return Scheduled(lessons, warnings)


async def _tell(
    db: AsyncSession, changed: dict[int, list[Lesson]], kind: str, now: datetime
) -> None:
    """Tell each person about their classes that one action changed, in one e-mail."""
    for user_id, items in changed.items():
        await notify_lessons(db, [user_id], kind, items, now)


async def cancel_lesson(
    db: AsyncSession, actor: User, lesson_id: int, scope: str, now: datetime
) -> Scheduled:
    """Cancel one occurrence, or it and all following ones; everyone booked is told."""
    require_role(actor, Role.COORDINATOR)
    lesson = await get_lesson(db, lesson_id, lock=True)
    _require_editable(lesson, now)
    lessons = await _scope(db, lesson, scope)
    cancelled: dict[int, list[Lesson]] = {}
    for item in lessons:
        item.status = LessonStatus.CANCELLED
        for user_id in await lesson_participants(db, item):
            cancelled.setdefault(user_id, []).append(item)
    await db.flush()
    await _tell(db, cancelled, "lesson_cancelled", now)
    return Scheduled(lessons)
