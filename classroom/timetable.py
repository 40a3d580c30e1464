"""Read models: what each role sees of the schedule, with who may see what."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from classroom import schemas
from classroom.booking import waitlist_position
from classroom.clock import day_range
from classroom.errors import NotFound
from classroom.models import Booking, BookingStatus, Lesson, LessonStatus, Level, Role, User


@dataclass(frozen=True, slots=True)
class LessonView:
    """A lesson as read for display: plain values, no ORM identity (cheap in bulk)."""

    id: int
    series_id: int | None
    topic: str
    level: Level
    description: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    tutor_id: int | None
    status: LessonStatus

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


LESSON_COLUMNS = (
    Lesson.id, Lesson.series_id, Lesson.topic, Lesson.level, Lesson.description,
    Lesson.starts_at, Lesson.ends_at, Lesson.capacity, Lesson.tutor_id, Lesson.status,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PersonView:
    id: int
    name: str
    email: str
    timezone: str
    role: Role


@dataclass(frozen=True)
class LessonRow:
    lesson: LessonView
    tutor_name: str | None
    booked: int
    waiting: int

    @property
    def seats_left(self) -> int:
        return max(0, self.lesson.capacity - self.booked)


@dataclass(frozen=True)
class MyLesson:
    row: LessonRow
    status: BookingStatus
    waitlist_position: int | None


@dataclass(frozen=True)
class TutorLoad:
    tutor: PersonView
    lessons: int
    minutes: int


def _rows_query() -> Select[*tuple[Any, ...]]:
    tutor = aliased(User)
    return (
        select(
            *LESSON_COLUMNS,
            tutor.name,
            Lesson.booked,
            Lesson.waiting,
        )
        .outerjoin(tutor, tutor.id == Lesson.tutor_id)
        .order_by(Lesson.starts_at, Lesson.id)
    )


def _row(values: Sequence[Any]) -> LessonRow:
    (id_, series, topic, level, text, starts, ends, capacity, tutor, status, name, booked,
     waiting) = values[:13]  # fmt: skip
    view = LessonView(id_, series, topic, level, text, starts, ends, capacity, tutor, status)
    return LessonRow(view, name, booked, waiting)


async def _rows(db: AsyncSession, query: Select[*tuple[Any, ...]]) -> list[LessonRow]:
    # Plain columns through Core: no ORM identity or loading machinery for list pages.
    result = await (await db.connection()).execute(query)
    return [_row(values) for values in result]


async def upcoming(
    db: AsyncSession, viewer: User, filters: schemas.LessonFilter, now: datetime, limit: int = 200
) -> list[LessonRow]:
    """Scheduled classes that have not started, for students to browse and filter."""
    query = _rows_query().where(Lesson.status == LessonStatus.SCHEDULED, Lesson.starts_at > now)
    if filters.level:
        query = query.where(Lesson.level == filters.level)
    if filters.topic:
        query = query.where(Lesson.topic.ilike(f"%{filters.topic}%"))
    if filters.day:
        start, end = day_range(filters.day, viewer.timezone)
        query = query.where(Lesson.starts_at >= start, Lesson.starts_at < end)
    if filters.tutor_id:
        query = query.where(Lesson.tutor_id == filters.tutor_id)
    return await _rows(db, query.limit(limit))


async def my_lessons(db: AsyncSession, student: User, now: datetime) -> list[MyLesson]:
    """The student's classes that have not ended: seats and waitlist places."""
    query = (
        _rows_query()
        .add_columns(Booking)
        .join(Booking, Booking.lesson_id == Lesson.id)
        .where(
            Booking.student_id == student.id,
            Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]),
            Lesson.ends_at > now,
        )
    )
    result = []
    for values in (await db.execute(query)).all():
        booking = values[-1]
        position = None
        if booking.status == BookingStatus.WAITLISTED:
            position = await waitlist_position(db, booking)
        result.append(MyLesson(_row(values), booking.status, position))
    return result


async def teaching(
    db: AsyncSession, tutor: User, start: datetime, end: datetime
) -> list[LessonRow]:
    """The tutor's classes starting in [start, end)."""
    query = _rows_query().where(
        Lesson.tutor_id == tutor.id, Lesson.starts_at >= start, Lesson.starts_at < end
    )
    return await _rows(db, query)


async def planning(
    db: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    unassigned_only: bool = False,
    tutor_id: int | None = None,
) -> list[LessonRow]:
    """Every class starting in [start, end), for the coordinator's planning week."""
    query = _rows_query().where(Lesson.starts_at >= start, Lesson.starts_at < end)
    if unassigned_only:
        query = query.where(Lesson.tutor_id.is_(None), Lesson.status == LessonStatus.SCHEDULED)
    if tutor_id is not None:
        query = query.where(Lesson.tutor_id == tutor_id)
    return await _rows(db, query)


async def loads(
    db: AsyncSession, start: datetime, end: datetime, rows: list[LessonRow] | None = None
) -> list[TutorLoad]:
    """Each tutor's classes and teaching minutes in [start, end), busiest first. Counted
    from the week's rows when the caller already has them (the planning page does)."""
    if rows is None:
        rows = await planning(db, start, end)
    lessons: dict[int, int] = {}
    minutes: dict[int, int] = {}
    for row in rows:
        lesson = row.lesson
        if lesson.tutor_id is not None and lesson.status == LessonStatus.SCHEDULED:
            lessons[lesson.tutor_id] = lessons.get(lesson.tutor_id, 0) + 1
            minutes[lesson.tutor_id] = minutes.get(lesson.tutor_id, 0) + lesson.duration_minutes
    query = select(User.id, User.name, User.email, User.timezone, User.role).where(
        User.role == Role.TUTOR
    )
    tutors = [PersonView(*values) for values in await (await db.connection()).execute(query)]
    found = [TutorLoad(t, lessons.get(t.id, 0), minutes.get(t.id, 0)) for t in tutors]
    return sorted(found, key=lambda load: (-load.lessons, load.tutor.name))


async def lesson_row(db: AsyncSession, lesson_id: int) -> LessonRow:
    rows = await _rows(db, _rows_query().where(Lesson.id == lesson_id))
    if not rows:
        raise NotFound("No such class.")
    return rows[0]


def may_see_roster(viewer: User, lesson: Lesson | LessonView) -> bool:
    """Only the class's own tutor and coordinators see who booked it."""
    return viewer.role == Role.COORDINATOR or (
        viewer.role == Role.TUTOR and lesson.tutor_id == viewer.id
    )


async def roster(
    db: AsyncSession, viewer: User, lesson: Lesson | LessonView
) -> list[tuple[User, Booking]]:
    """The students with a seat or on the waitlist, in waitlist order."""
    if not may_see_roster(viewer, lesson):
        return []
    query = (
        select(User, Booking)
        .join(Booking, Booking.student_id == User.id)
        .where(
            Booking.lesson_id == lesson.id,
            Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]),
        )
        .order_by(Booking.status, Booking.status_at, Booking.id)
    )
    return [(u, b) for u, b in (await db.execute(query)).all()]


async def booking_of(db: AsyncSession, student: User, lesson_id: int) -> Booking | None:
    return await db.scalar(
        select(Booking).where(Booking.lesson_id == lesson_id, Booking.student_id == student.id)
    )


async def lessons_for_calendar(db: AsyncSession, user: User, since: datetime) -> list[LessonRow]:
    """What goes into a user's calendar feed: booked seats, or classes taught, or (for a
    coordinator) nothing but what they teach themselves."""
    query = _rows_query().where(Lesson.ends_at > since)
    if user.role == Role.STUDENT:
        query = query.join(Booking, Booking.lesson_id == Lesson.id).where(
            Booking.student_id == user.id, Booking.status == BookingStatus.CONFIRMED
        )
    else:
        query = query.where(Lesson.tutor_id == user.id)
    return await _rows(db, query.limit(2000))
