"""Each person's progress over a period: a student's classes and how they came to them; a
tutor's teaching, punctuality and pay.

Who may see a student's progress: the student, coordinators, and the tutors of the
student's classes (a tutor preparing a class sees how its students have been coming). A
tutor's teaching view: the tutor and coordinators. Anyone else is told there is no such
person, as for a roster they may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import pay
from classroom.errors import NotFound
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


async def person(db: AsyncSession, viewer: User, user_id: int) -> User:
    """The person whose progress ``viewer`` asks for, if they may see it: themselves;
    coordinators anyone but coordinators; a tutor a student who booked a seat in one of
    their classes or was in it."""
    found = await db.get(User, user_id)
    if found is None or found.role == Role.COORDINATOR:
        raise NotFound("No such person.")
    if viewer.id == found.id or viewer.role == Role.COORDINATOR:
        return found
    if viewer.role == Role.TUTOR and found.role == Role.STUDENT:
        teaches = await db.scalar(
            select(
                exists().where(
                    Lesson.tutor_id == viewer.id,
                    or_(
                        # A seat taken, not a place on the waitlist or a booking
                        # cancelled in time.
                        exists().where(
                            Booking.lesson_id == Lesson.id,
                            Booking.student_id == found.id,
                            Booking.status == BookingStatus.CONFIRMED,
                        ),
                        exists().where(
                            AttendanceRecord.lesson_id == Lesson.id,
                            AttendanceRecord.user_id == found.id,
                        ),
                    ),
                )
            )
        )
        if teaches:
            return found
    raise NotFound("No such person.")


@dataclass(frozen=True)
class ClassLine:
    """One of a student's classes: what became of their place in it. ``status`` is an
    attendance status once the class is over; before, or without a seat, the booking's
    (confirmed, waitlisted, cancelled, late_cancelled) or ``class_cancelled``."""

    lesson_id: int
    topic: str
    starts_at: datetime
    minutes: int
    tutor_name: str | None
    status: str
    minutes_present: int
    minutes_late: int


@dataclass(frozen=True)
class StudentProgress:
    student_id: int
    name: str
    classes: list[ClassLine]

    def count(self, *statuses: str) -> int:
        return sum(1 for c in self.classes if c.status in statuses)

    @property
    def attended(self) -> int:
        return self.count(
            AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY
        )

    @property
    def minutes_present(self) -> int:
        return sum(c.minutes_present for c in self.classes)


async def student(
    db: AsyncSession, student_user: User, since: datetime, until: datetime
) -> StudentProgress:
    """A student's classes that started in [since, until), newest first (the caller has
    checked who may see them)."""
    rows = (
        await db.execute(
            select(Lesson, Booking.status, AttendanceRecord, User.name)
            .join(
                Booking,
                (Booking.lesson_id == Lesson.id) & (Booking.student_id == student_user.id),
            )
            .outerjoin(
                AttendanceRecord,
                (AttendanceRecord.lesson_id == Lesson.id)
                & (AttendanceRecord.user_id == student_user.id),
            )
            .outerjoin(User, User.id == Lesson.tutor_id)
            .where(Lesson.starts_at >= since, Lesson.starts_at < until)
            .order_by(Lesson.starts_at.desc(), Lesson.id.desc())
        )
    ).all()
    lines = []
    for lesson, booked, record, tutor_name in rows:
        if record is not None:
            status: str = record.status
        elif lesson.status == LessonStatus.CANCELLED:
            status = "class_cancelled"
        else:
            status = booked
        lines.append(
            ClassLine(
                lesson.id,
                lesson.topic,
                lesson.starts_at,
                lesson.duration_minutes,
                tutor_name,
                status,
                record.minutes_present if record else 0,
                record.minutes_late if record else 0,
            )
        )
    return StudentProgress(student_user.id, student_user.name, lines)


LATE_CANCELLED = BookingStatus.LATE_CANCELLED.value
NO_SHOW = AttendanceStatus.NO_SHOW.value


@dataclass(frozen=True)
class TeachingLine:
    lesson_id: int
    topic: str
    starts_at: datetime
    minutes: int
    status: str  # the tutor's attendance; "upcoming", or "unrecorded" if over and not closed
    minutes_late: int


@dataclass(frozen=True)
class TutorProgress:
    tutor_id: int
    name: str
    classes: list[TeachingLine]
    pay: list[pay.PayLine]  # this month so far

    @property
    def taught(self) -> list[TeachingLine]:
        return [c for c in self.classes if c.status not in ("upcoming", "unrecorded", NO_SHOW)]

    @property
    def minutes(self) -> int:
        return sum(c.minutes for c in self.taught)

    @property
    def late_starts(self) -> int:
        return sum(1 for c in self.taught if c.minutes_late > 0)

    @property
    def missed(self) -> int:
        return sum(1 for c in self.classes if c.status == NO_SHOW)


async def tutor(
    db: AsyncSession,
    viewer: User,
    tutor_user: User,
    since: datetime,
    until: datetime,
    month: tuple[datetime, datetime],
    zone: str,
    now: datetime,
) -> TutorProgress:
    """A tutor's classes that started in [since, until), newest first, and their pay for
    ``month`` (the caller has checked who may see them; pay checks again)."""
    rows = (
        await db.execute(
            select(Lesson, AttendanceRecord)
            .outerjoin(
                AttendanceRecord,
                (AttendanceRecord.lesson_id == Lesson.id)
                & (AttendanceRecord.user_id == tutor_user.id),
            )
            .where(
                Lesson.starts_at >= since,
                Lesson.starts_at < until,
                Lesson.status == LessonStatus.SCHEDULED,
                or_(Lesson.tutor_id == tutor_user.id, AttendanceRecord.id.is_not(None)),
            )
            .order_by(Lesson.starts_at.desc(), Lesson.id.desc())
        )
    ).all()
    lines = [
        TeachingLine(
            lesson.id,
            lesson.topic,
            lesson.starts_at,
            lesson.duration_minutes,
            record.status if record else ("upcoming" if lesson.ends_at > now else "unrecorded"),
            record.minutes_late if record else 0,
        )
        for lesson, record in rows
    ]
    owed, _ = await pay.pay(db, viewer, month[0], month[1], zone, tutor_user.id)
    return TutorProgress(tutor_user.id, tutor_user.name, lines, owed)
