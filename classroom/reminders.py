"""Reminders before each class, to its tutor and the students with a seat: once per class,
however many processes look.

``remind`` claims the classes that start within the reminder's lead time with one UPDATE ...
WHERE reminded_at IS NULL: on PostgreSQL a second process's UPDATE waits for the first's row
locks and then finds the column set; SQLite lets one writer in at a time. A class moved to
another time is reminded of again (scheduling.py clears ``reminded_at``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.models import Booking, BookingStatus, Lesson, LessonStatus
from classroom.notifications import notify


async def remind(db: AsyncSession, now: datetime, before: timedelta) -> list[int]:
    """Tell the people of every class starting within ``before`` that it starts soon (in
    the app, and by e-mail to those who want it); the ids of the classes reminded of."""
    claimed = await db.scalars(
        update(Lesson)
        .where(
            Lesson.status == LessonStatus.SCHEDULED,
            Lesson.reminded_at.is_(None),
            Lesson.ended_at.is_(None),
            Lesson.starts_at > now,
            Lesson.starts_at <= now + before,
        )
        .values(reminded_at=now)
        .returning(Lesson.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(claimed)
    for lesson in await db.scalars(select(Lesson).where(Lesson.id.in_(ids)).order_by(Lesson.id)):
        await notify(db, await _people(db, lesson), "lesson_reminder", lesson, now)
    return ids


async def _people(db: AsyncSession, lesson: Lesson) -> list[int]:
    students = await db.scalars(
        select(Booking.student_id)
        .where(Booking.lesson_id == lesson.id, Booking.status == BookingStatus.CONFIRMED)
        .order_by(Booking.id)
    )
    return ([lesson.tutor_id] if lesson.tutor_id else []) + list(students)
