"""Bookings and waitlists. Capacity holds under concurrency: a booking locks the student's
row and the lesson's row (FOR UPDATE on PostgreSQL; SQLite has one writer at a time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.accounts import require_role
from classroom.errors import BookingPaused, ClassFull, Conflict, DoubleBooked, NotFound, TooLate
from classroom.models import (
    AttendanceRecord,
    AttendanceStatus,
    Booking,
    BookingStatus,
    Lesson,
    LessonStatus,
    Role,
    User,
)
from classroom.notifications import notify

ACTIVE = (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)


@dataclass(frozen=True)
class Strikes:
    """The cancellation policy's consequence: a student with ``limit`` late cancellations
    and no-shows together (a no-show counts like a late cancellation) in the last
    ``within`` cannot book nor join a waitlist until older ones fall out of that time; 0 is
    no limit (settings: KELAS_STRIKE_LIMIT, KELAS_STRIKE_DAYS)."""

    limit: int = 0
    within: timedelta = timedelta(days=30)


async def strikes(db: AsyncSession, student_id: int, since: datetime) -> int:
    """A student's late cancellations made since ``since`` and no-shows in classes that
    started since then."""
    late = await db.scalar(
        select(func.count()).where(
            Booking.student_id == student_id,
            Booking.status == BookingStatus.LATE_CANCELLED,
            Booking.status_at >= since,
        )
    )
    absent = await db.scalar(
        select(func.count())
        .select_from(AttendanceRecord)
        .join(Lesson, Lesson.id == AttendanceRecord.lesson_id)
        .where(
            AttendanceRecord.user_id == student_id,
            AttendanceRecord.role == "student",
            AttendanceRecord.status == AttendanceStatus.NO_SHOW,
            Lesson.starts_at >= since,
        )
    )
    return int(late or 0) + int(absent or 0)


async def _check_strikes(db: AsyncSession, student: User, now: datetime, policy: Strikes) -> None:
    if policy.limit <= 0:
        return
    found = await strikes(db, student.id, now - policy.within)
    if found >= policy.limit:
        raise BookingPaused(
            "You have {n} late cancellations and no-shows in the last {days} days, so booking "
            "is paused for now. Please contact the school.",
            n=str(found),
            days=str(policy.within.days),
        )


async def lesson_participants(db: AsyncSession, lesson: Lesson) -> list[int]:
    """The tutor and every student with a seat or a waitlist place."""
    query = select(Booking.student_id).where(
        Booking.lesson_id == lesson.id, Booking.status.in_(ACTIVE)
    )
    students = list((await db.scalars(query)).all())
    return ([lesson.tutor_id] if lesson.tutor_id else []) + students


async def _overlapping_booking(db: AsyncSession, student_id: int, lesson: Lesson) -> Lesson | None:
    query = (
        select(Lesson)
        .join(Booking, Booking.lesson_id == Lesson.id)
        .where(
            Booking.student_id == student_id,
            Booking.status == BookingStatus.CONFIRMED,
            Lesson.id != lesson.id,
            Lesson.overlapping(lesson.starts_at, lesson.ends_at),
        )
        .limit(1)
    )
    return await db.scalar(query)


async def _prepare(
    db: AsyncSession, student: User, lesson_id: int, now: datetime, policy: Strikes
) -> tuple[Lesson, Booking | None]:
    """Lock the student and the lesson, then check what every booking needs."""
    require_role(student, Role.STUDENT)
    await db.get(User, student.id, with_for_update=True, populate_existing=True)
    await _check_strikes(db, student, now, policy)
    lesson = await db.get(Lesson, lesson_id, with_for_update=True, populate_existing=True)
    if lesson is None:
        raise NotFound("No such class.")
    if lesson.status != LessonStatus.SCHEDULED:
        raise TooLate("This class was cancelled.")
    if lesson.starts_at <= now:
        raise TooLate("This class has already started.")
    booking = await db.scalar(
        select(Booking).where(Booking.lesson_id == lesson.id, Booking.student_id == student.id)
    )
    if booking is not None and booking.status == BookingStatus.CONFIRMED:
        raise Conflict("You have already booked this class.")
    if await _overlapping_booking(db, student.id, lesson):
        raise DoubleBooked("You have already booked another class at this time.")
    return lesson, booking


def _set_status(
    db: AsyncSession,
    booking: Booking | None,
    lesson: Lesson,
    student: User,
    status: BookingStatus,
    now: datetime,
) -> Booking:
    if booking is None:
        booking = Booking(
            lesson_id=lesson.id, student_id=student.id, status=status, created_at=now, status_at=now
        )
        db.add(booking)
        _count(lesson, None, status)
    else:
        _count(lesson, booking.status, status)
        booking.status, booking.status_at = status, now
    return booking


def _count(lesson: Lesson, before: BookingStatus | None, after: BookingStatus) -> None:
    """Keep the lesson's seat and waitlist counters in step with a booking's move."""
    for status, step in ((before, -1), (after, 1)):
        if status == BookingStatus.CONFIRMED:
            lesson.booked += step
        elif status == BookingStatus.WAITLISTED:
            lesson.waiting += step


async def book(
    db: AsyncSession, student: User, lesson_id: int, now: datetime, policy: Strikes = Strikes()
) -> Booking:
    """Take a seat; raise ClassFull when none is left (the caller may offer the waitlist)."""
    lesson, booking = await _prepare(db, student, lesson_id, now, policy)
    if lesson.booked >= lesson.capacity:
        raise ClassFull("This class is full. You can join the waitlist.")
    booking = _set_status(db, booking, lesson, student, BookingStatus.CONFIRMED, now)
    await db.flush()
    await notify(db, [student.id], "booking_confirmed", lesson, now)
    return booking


async def join_waitlist(
    db: AsyncSession, student: User, lesson_id: int, now: datetime, policy: Strikes = Strikes()
) -> Booking:
    lesson, booking = await _prepare(db, student, lesson_id, now, policy)
    if booking is not None and booking.status == BookingStatus.WAITLISTED:
        raise Conflict("You are already on the waitlist.")
    if lesson.booked < lesson.capacity:
        raise Conflict("This class still has free seats: book one instead.")
    booking = _set_status(db, booking, lesson, student, BookingStatus.WAITLISTED, now)
    await db.flush()
    return booking


async def cancel(
    db: AsyncSession, student: User, lesson_id: int, now: datetime, free_until: timedelta
) -> Booking:
    """Give up a seat or a waitlist place. A seat given up less than ``free_until`` before the
    start is recorded as a late cancellation. A freed seat goes to the first student waiting."""
    require_role(student, Role.STUDENT)
    await db.get(User, student.id, with_for_update=True, populate_existing=True)
    lesson = await db.get(Lesson, lesson_id, with_for_update=True, populate_existing=True)
    booking = await db.scalar(
        select(Booking).where(
            Booking.lesson_id == lesson_id,
            Booking.student_id == student.id,
            Booking.status.in_(ACTIVE),
        )
    )
    if lesson is None or booking is None:
        raise NotFound("You have no booking for this class.")
    if lesson.starts_at <= now:
        raise TooLate("This class has already started.")
    was_seat = booking.status == BookingStatus.CONFIRMED
    late = was_seat and now > lesson.starts_at - free_until
    new_status = BookingStatus.LATE_CANCELLED if late else BookingStatus.CANCELLED
    _count(lesson, booking.status, new_status)
    booking.status, booking.status_at = new_status, now
    await db.flush()
    if was_seat and lesson.status == LessonStatus.SCHEDULED:
        await fill_from_waitlist(db, lesson, now)
    return booking


async def fill_from_waitlist(db: AsyncSession, lesson: Lesson, now: datetime) -> list[Booking]:
    """Give free seats to waiting students, first come first served. The caller holds the
    lesson's lock. A student who meanwhile booked a clashing class is passed over."""
    promoted: list[Booking] = []
    free = lesson.capacity - lesson.booked
    if free <= 0:
        return promoted
    waiting = await db.scalars(
        select(Booking)
        .where(Booking.lesson_id == lesson.id, Booking.status == BookingStatus.WAITLISTED)
        .order_by(Booking.status_at, Booking.id)
    )
    for booking in waiting.all():
        if len(promoted) == free:
            break
        if await _overlapping_booking(db, booking.student_id, lesson):
            continue
        _count(lesson, booking.status, BookingStatus.CONFIRMED)
        booking.status, booking.status_at = BookingStatus.CONFIRMED, now
        promoted.append(booking)
    await db.flush()
    if promoted:
        await notify(db, [b.student_id for b in promoted], "waitlist_promoted", lesson, now)
    return promoted


async def waitlist_position(db: AsyncSession, booking: Booking) -> int:
    query = select(func.count()).where(
        Booking.lesson_id == booking.lesson_id,
        Booking.status == BookingStatus.WAITLISTED,
        (Booking.status_at < booking.status_at)
        | ((Booking.status_at == booking.status_at) & (Booking.id <= booking.id)),
    )
    return int(await db.scalar(query) or 0)
