"""The school right now, from the database: classes in progress and starting soon.

What the coordinator's live view shows besides presence (signaling/school.py joins the two).
One query each, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.models import Booking, BookingStatus, Lesson, LessonStatus, User

SOON = timedelta(hours=1)


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str


@dataclass(frozen=True)
class ClassNow:
    """A scheduled class, its tutor (if one is assigned) and its confirmed students."""

    lesson_id: int
    topic: str
    starts_at: datetime
    ends_at: datetime
    tutor: Person | None
    students: list[Person]


@dataclass(frozen=True)
class Today:
    in_progress: list[ClassNow]
    starting: list[ClassNow]


async def today(
    db: AsyncSession, now: datetime, live: Iterable[int] = (), soon: timedelta = SOON
) -> Today:
    """Classes in progress at ``now`` (by the timetable, or ``live``: someone is in their
    room, as before the start) and classes starting within ``soon`` that are not live yet."""
    live = list(live)
    lessons = list(
        await db.scalars(
            select(Lesson)
            .where(
                Lesson.status == LessonStatus.SCHEDULED,
                Lesson.ended_at.is_(None),  # the tutor ended it
                or_(
                    and_(Lesson.starts_at <= now + soon, Lesson.ends_at > now),
                    Lesson.id.in_(live),
                ),
            )
            .order_by(Lesson.starts_at, Lesson.id)
        )
    )
    tutors = await names(db, {lesson.tutor_id for lesson in lessons if lesson.tutor_id})
    students = await _students(db, [lesson.id for lesson in lessons])
    found = [
        ClassNow(
            lesson.id,
            lesson.topic,
            lesson.starts_at,
            lesson.ends_at,
            tutors.get(lesson.tutor_id) if lesson.tutor_id else None,
            students.get(lesson.id, []),
        )
        for lesson in lessons
    ]
    started = [c for c in found if c.lesson_id in live or c.starts_at <= now]
    return Today(in_progress=started, starting=[c for c in found if c not in started])


async def names(db: AsyncSession, ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    rows = await db.execute(select(User.id, User.name).where(User.id.in_(ids)))
    return {user_id: Person(user_id, name) for user_id, name in rows}


async def _students(db: AsyncSession, lesson_ids: list[int]) -> dict[int, list[Person]]:
    if not lesson_ids:
        return {}
    rows = await db.execute(
        select(Booking.lesson_id, User.id, User.name)
        .join(User, User.id == Booking.student_id)
        .where(Booking.lesson_id.in_(lesson_ids), Booking.status == BookingStatus.CONFIRMED)
        .order_by(User.name, User.id)
    )
    found: dict[int, list[Person]] = {}
    for lesson_id, user_id, name in rows:
        found.setdefault(lesson_id, []).append(Person(user_id, name))
    return found
