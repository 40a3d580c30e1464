"""Attendance once a class is over: a status for each booked student and for the tutor,
coordinators' corrections, and no-show rates.

Joins and leaves are recorded as they happen (classroom/live.py: time present over every span;
a reconnect does not end one). When a class is over, ``close_classes`` gives everyone a status,
once: rows with a unique key, inserted with ON CONFLICT DO NOTHING, so several processes may
close the same class at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.accounts import require_role
from classroom.errors import NotFound
from classroom.models import (
    Attendance,
    AttendanceCorrection,
    AttendanceRecord,
    AttendanceStatus,
    Booking,
    BookingStatus,
    Lesson,
    LessonStatus,
    Role,
    User,
)

CLOSE_WITHIN = timedelta(days=7)  # classes over for longer than this are not looked at again


@dataclass(frozen=True)
class Policy:
    """Late: joined more than ``late_after`` after the start. Left early: last left more than
    ``early_before`` before the end and did not come back (settings:
    KELAS_LATE_JOIN_MINUTES, KELAS_LEFT_EARLY_MINUTES)."""

    late_after: timedelta = timedelta(minutes=5)
    early_before: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Verdict:
    status: AttendanceStatus
    minutes_present: int
    minutes_late: int


def judge(lesson: Lesson, came: Attendance | None, policy: Policy) -> Verdict:
    """One person's attendance of a class that is over (pure)."""
    if came is None:
        return Verdict(AttendanceStatus.NO_SHOW, 0, 0)
    end = lesson.ended_at or lesson.ends_at
    seconds = came.present_seconds
    if came.span_started_at is not None:  # still in the room when the class ended
        seconds += max(0, int((end - came.span_started_at).total_seconds()))
    late = max(0, int((came.first_joined_at - lesson.starts_at).total_seconds() // 60))
    if came.first_joined_at > lesson.starts_at + policy.late_after:
        status = AttendanceStatus.LATE
    elif (
        came.span_started_at is None
        and came.last_left_at is not None
        and came.last_left_at < end - policy.early_before
    ):
        status = AttendanceStatus.LEFT_EARLY
    else:
        status = AttendanceStatus.PRESENT
    return Verdict(status, seconds // 60, late)


async def close_classes(db: AsyncSession, now: datetime, policy: Policy) -> list[int]:
    """Give a status to everyone of each class that is over (by its end, or ended by its
    tutor) and has none yet; the classes closed."""
    over = and_(
        Lesson.status == LessonStatus.SCHEDULED,
        Lesson.ends_at > now - CLOSE_WITHIN,
        func.coalesce(Lesson.ended_at, Lesson.ends_at) <= now,
        ~exists().where(AttendanceRecord.lesson_id == Lesson.id),
    )
    lessons = list(await db.scalars(select(Lesson).where(over).order_by(Lesson.id).limit(200)))
    if not lessons:
        return []
    ids = [lesson.id for lesson in lessons]
    came = {
        (row.lesson_id, row.user_id): row
        for row in await db.scalars(select(Attendance).where(Attendance.lesson_id.in_(ids)))
    }
    booked = (
        await db.execute(
            select(Booking.lesson_id, Booking.student_id).where(
                Booking.lesson_id.in_(ids), Booking.status == BookingStatus.CONFIRMED
            )
        )
    ).all()
    rows: list[dict[str, Any]] = []
    for lesson in lessons:
        people = [(uid, "student") for lid, uid in booked if lid == lesson.id]
        if lesson.tutor_id is not None:
            people.insert(0, (lesson.tutor_id, "tutor"))
        for user_id, role in people:
            verdict = judge(lesson, came.get((lesson.id, user_id)), policy)
            rows.append(
                {
                    "lesson_id": lesson.id,
                    "user_id": user_id,
                    "role": role,
                    "status": verdict.status,
                    "minutes_present": verdict.minutes_present,
                    "minutes_late": verdict.minutes_late,
                    "closed_at": now,
                }
            )
    if rows:
        insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
        await db.execute(
            insert(AttendanceRecord)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["lesson_id", "user_id"])
        )
    return ids


@dataclass(frozen=True)
class Line:
    user_id: int
    name: str
    role: str
    status: AttendanceStatus
    minutes_present: int
    minutes_late: int
    corrected: bool


async def of_class(db: AsyncSession, actor: User, lesson_id: int) -> list[Line]:
    """A class's attendance, tutor first: for its tutor and coordinators."""
    lesson = await db.get(Lesson, lesson_id)
    if lesson is None or not (actor.role == Role.COORDINATOR or lesson.tutor_id == actor.id):
        raise NotFound("No such class.")
    corrected = exists().where(AttendanceCorrection.record_id == AttendanceRecord.id)
    rows = await db.execute(
        select(AttendanceRecord, User.name, corrected)
        .join(User, User.id == AttendanceRecord.user_id)
        .where(AttendanceRecord.lesson_id == lesson_id)
        .order_by(AttendanceRecord.role.desc(), User.name, User.id)
    )
    return [
        Line(r.user_id, name, r.role, r.status, r.minutes_present, r.minutes_late, bool(fixed))
        for r, name, fixed in rows
    ]


async def correct(
    db: AsyncSession,
    actor: User,
    lesson_id: int,
    user_id: int,
    status: AttendanceStatus,
    note: str,
    now: datetime,
) -> Line:
    """A coordinator sets a status by hand; the correction is kept with who made it."""
    require_role(actor, Role.COORDINATOR)
    record = await db.scalar(
        select(AttendanceRecord)
        .where(AttendanceRecord.lesson_id == lesson_id, AttendanceRecord.user_id == user_id)
        .with_for_update()
    )
    if record is None:
        raise NotFound("No attendance is recorded for this person in this class yet.")
    if record.status != status:
        db.add(
            AttendanceCorrection(
                record_id=record.id,
                before=record.status,
                after=status,
                note=note,
                corrected_by=actor.id,
                corrected_at=now,
            )
        )
        record.status = status
    await db.flush()
    return next(line for line in await of_class(db, actor, lesson_id) if line.user_id == user_id)


@dataclass(frozen=True)
class Rate:
    """No-shows out of classes booked (students) or taught (a class's students)."""

    key: int
    name: str
    expected: int
    no_shows: int
    late: int

    @property
    def no_show_rate(self) -> float:
        return self.no_shows / self.expected if self.expected else 0.0


async def no_show_rates(
    db: AsyncSession, actor: User, since: datetime, until: datetime
) -> tuple[list[Rate], list[Rate]]:
    """By student and by class, for classes that started in [since, until), highest first."""
    require_role(actor, Role.COORDINATOR)
    counted = (
        func.count(AttendanceRecord.id),
        func.sum(case((AttendanceRecord.status == AttendanceStatus.NO_SHOW, 1), else_=0)),
        func.sum(case((AttendanceRecord.status == AttendanceStatus.LATE, 1), else_=0)),
    )
    window = and_(
        AttendanceRecord.role == "student", Lesson.starts_at >= since, Lesson.starts_at < until
    )
    by_student = await db.execute(
        select(User.id, User.name, *counted)
        .join(AttendanceRecord, AttendanceRecord.user_id == User.id)
        .join(Lesson, Lesson.id == AttendanceRecord.lesson_id)
        .where(window)
        .group_by(User.id, User.name)
    )
    by_class = await db.execute(
        select(Lesson.id, Lesson.topic, *counted)
        .join(AttendanceRecord, AttendanceRecord.lesson_id == Lesson.id)
        .where(window)
        .group_by(Lesson.id, Lesson.topic)
    )

    def rates(rows: Any) -> list[Rate]:
        found = [
            Rate(k, name, int(n), int(no or 0), int(late or 0)) for k, name, n, no, late in rows
        ]
        return sorted(found, key=lambda r: (-r.no_show_rate, -r.no_shows, r.name, r.key))

    return rates(by_student), rates(by_class)


ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)


async def attendees(db: AsyncSession, lesson_id: int) -> list[tuple[int, str]]:
    """The students who attended a class (present, late or left early), by name: from its
    statuses once it is closed; before that (the moments between its end and the next look
    of ``close_classes``), the booked students who joined it."""
    closed = await db.scalar(
        select(AttendanceRecord.id).where(AttendanceRecord.lesson_id == lesson_id).limit(1)
    )
    if closed is not None:
        query = (
            select(User.id, User.name)
            .join(AttendanceRecord, AttendanceRecord.user_id == User.id)
            .where(
                AttendanceRecord.lesson_id == lesson_id,
                AttendanceRecord.role == "student",
                AttendanceRecord.status.in_(ATTENDED),
            )
        )
    else:
        query = (
            select(User.id, User.name)
            .join(Attendance, Attendance.user_id == User.id)
            .join(Booking, and_(Booking.student_id == User.id, Booking.lesson_id == lesson_id))
            .where(Attendance.lesson_id == lesson_id, Booking.status == BookingStatus.CONFIRMED)
        )
    rows = await db.execute(query.order_by(User.name, User.id))
    return [(user_id, name) for user_id, name in rows.all()]
