"""The school's figures for a period: classes held and cancelled, attendance, no-shows and
fill, week by week; each lecturer's hours, punctuality, substitutions and pay; and each
student's late cancellations and no-shows, which the cancellation policy counts alike.

A class of the period (by its start) is *cancelled*, *upcoming* (not over yet), *held* (its
attendance records its tutor as there), *not held* (over, and its tutor a no-show or none
assigned) or *unrecorded* (over, with a tutor, and no attendance yet: it closes within
moments of its end, or it ended before attendance was kept). Attendance and no-show rates
count the booked students of every class that is over (as /reports/attendance does);
fill counts held classes: seats booked, and students who came, over the seats offered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import autopilot, pay
from classroom.accounts import require_role
from classroom.clock import to_local, week_start
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


@dataclass
class Tally:
    """Counts over some classes; the rates are derived."""

    held: int = 0
    cancelled: int = 0
    not_held: int = 0
    unrecorded: int = 0
    upcoming: int = 0
    expected: int = 0  # booked students of classes that are over
    attended: int = 0
    no_shows: int = 0
    late: int = 0
    seats: int = 0  # seats offered by held classes
    booked: int = 0  # seats booked in held classes
    came: int = 0  # students who came to held classes

    @property
    def attendance_rate(self) -> float:
        return self.attended / self.expected if self.expected else 0.0

    @property
    def no_show_rate(self) -> float:
        return self.no_shows / self.expected if self.expected else 0.0

    @property
    def booked_fill(self) -> float:
        return self.booked / self.seats if self.seats else 0.0

    @property
    def attended_fill(self) -> float:
        return self.came / self.seats if self.seats else 0.0


@dataclass
class Week:
    monday: date
    tally: Tally = field(default_factory=Tally)


@dataclass
class Lecturer:
    tutor_id: int
    name: str
    classes: int = 0  # taught
    minutes: int = 0  # scheduled minutes of the classes taught
    late_starts: int = 0  # classes they came to later than the start
    minutes_late: int = 0  # over those classes
    missed: int = 0  # assigned and never came (replaced or not)
    substitutions_given: int = 0  # classes they took over from a missing tutor
    substitutions_received: int = 0  # classes a substitute took over from them
    pay: list[pay.PayLine] = field(default_factory=list)


@dataclass(frozen=True)
class Strikes:
    """A student's late cancellations and no-shows: the cancellation policy counts both."""

    student_id: int
    name: str
    late_cancellations: int
    no_shows: int

    @property
    def total(self) -> int:
        return self.late_cancellations + self.no_shows


@dataclass(frozen=True)
class SchoolReport:
    since: datetime
    until: datetime
    totals: Tally
    weeks: list[Week]
    lecturers: list[Lecturer]
    strikes: list[Strikes]
    payroll: list[pay.PayLine]  # by lecturer, as in ``lecturers``
    taught: list[pay.Taught]  # the classes behind the pay


async def school(
    db: AsyncSession,
    actor: User,
    since: datetime,
    until: datetime,
    zone: str,
    school_zone: str,
    now: datetime,
) -> SchoolReport:
    """The figures of the classes that started in [since, until): weeks in ``zone`` (the
    viewer's), each class's rate by its day in ``school_zone``."""
    require_role(actor, Role.COORDINATOR)
    lessons = (
        await db.execute(
            select(
                Lesson.id,
                Lesson.starts_at,
                Lesson.status,
                Lesson.capacity,
                Lesson.booked,
                Lesson.tutor_id,
                func.coalesce(Lesson.ended_at, Lesson.ends_at) <= now,
            ).where(Lesson.starts_at >= since, Lesson.starts_at < until)
        )
    ).all()
    records = await _records(db, since, until)
    totals, weeks = Tally(), dict[date, Week]()
    for lesson_id, starts_at, status, capacity, booked, tutor_id, over in lessons:
        monday = week_start(to_local(starts_at, zone).date())
        week = weeks.setdefault(monday, Week(monday))
        for tally in (totals, week.tally):
            _count(tally, status, capacity, booked, tutor_id, bool(over), records.get(lesson_id))
    lines, taught = await pay.pay(db, actor, since, until, school_zone)
    return SchoolReport(
        since,
        until,
        totals,
        [weeks[k] for k in sorted(weeks)],
        await _lecturers(db, since, until, records, lines, taught),
        await _strikes(db, since, until),
        lines,
        taught,
    )


@dataclass
class _Closed:
    """A closed class's attendance: its tutor's record and its students' statuses."""

    tutor: tuple[int, AttendanceStatus, int] | None = None  # user, status, minutes late
    students: Counter[AttendanceStatus] = field(default_factory=Counter)


async def _records(db: AsyncSession, since: datetime, until: datetime) -> dict[int, _Closed]:
    rows = await db.execute(
        select(
            AttendanceRecord.lesson_id,
            AttendanceRecord.user_id,
            AttendanceRecord.role,
            AttendanceRecord.status,
            AttendanceRecord.minutes_late,
        )
        .join(Lesson, Lesson.id == AttendanceRecord.lesson_id)
        .where(Lesson.starts_at >= since, Lesson.starts_at < until)
    )
    found: dict[int, _Closed] = {}
    for lesson_id, user_id, role, status, late in rows:
        closed = found.setdefault(lesson_id, _Closed())
        if role == "tutor":
            closed.tutor = (user_id, status, late)
        else:
            closed.students[status] += 1
    return found


def _count(
    tally: Tally,
    status: LessonStatus,
    capacity: int,
    booked: int,
    tutor_id: int | None,
    over: bool,
    closed: _Closed | None,
) -> None:
    if status == LessonStatus.CANCELLED:
        tally.cancelled += 1
        return
    if not over:
        tally.upcoming += 1
        return
    if closed is None:
        if tutor_id is None:
            tally.not_held += 1
        else:
            tally.unrecorded += 1
        return
    students = closed.students
    expected = sum(students.values())
    no_shows = students[AttendanceStatus.NO_SHOW]
    tally.expected += expected
    tally.no_shows += no_shows
    tally.attended += expected - no_shows
    tally.late += students[AttendanceStatus.LATE]
    if closed.tutor is None or closed.tutor[1] == AttendanceStatus.NO_SHOW:
        tally.not_held += 1
        return
    tally.held += 1
    tally.seats += capacity
    tally.booked += booked
    tally.came += expected - no_shows


async def _lecturers(
    db: AsyncSession,
    since: datetime,
    until: datetime,
    records: dict[int, _Closed],
    lines: list[pay.PayLine],
    taught: list[pay.Taught],
) -> list[Lecturer]:
    """Every lecturer with a class in the period (taught, missed or taken over), by name."""
    people: dict[int, Lecturer] = {}

    def lecturer(user_id: int) -> Lecturer:
        return people.setdefault(user_id, Lecturer(user_id, ""))

    for item in taught:
        lecturer(item.tutor_id).classes += 1
        lecturer(item.tutor_id).minutes += item.minutes
    took_over: set[tuple[int, int]] = set()  # (lesson, substitute)
    for start in await autopilot.punctuality(db, since, until):
        if start.substituted_by is None:
            continue  # an assigned tutor's own start: counted from the records below
        took_over.add((start.lesson_id, start.substituted_by))
        lecturer(start.tutor_id).substitutions_received += 1
        lecturer(start.substituted_by).substitutions_given += 1
        if start.minutes_late is None:
            lecturer(start.tutor_id).missed += 1
    for lesson_id, closed in records.items():
        if closed.tutor is None:
            continue
        user_id, status, late = closed.tutor
        if status == AttendanceStatus.NO_SHOW:
            lecturer(user_id).missed += 1
        elif late > 0 and (lesson_id, user_id) not in took_over:
            # A substitute is late by nobody's measure: they came when they were called.
            lecturer(user_id).late_starts += 1
            lecturer(user_id).minutes_late += late
    for line in lines:
        lecturer(line.tutor_id).pay.append(line)
    names = await _names(db, set(people))
    for person in people.values():
        person.name = names.get(person.tutor_id, "")
    return sorted(people.values(), key=lambda x: (x.name, x.tutor_id))


async def _strikes(db: AsyncSession, since: datetime, until: datetime) -> list[Strikes]:
    """Students with late cancellations or no-shows in the period, most first."""
    in_period = and_(Lesson.starts_at >= since, Lesson.starts_at < until)
    late = (
        await db.execute(
            select(Booking.student_id, func.count())
            .join(Lesson, Lesson.id == Booking.lesson_id)
            .where(in_period, Booking.status == BookingStatus.LATE_CANCELLED)
            .group_by(Booking.student_id)
        )
    ).all()
    absent = (
        await db.execute(
            select(AttendanceRecord.user_id, func.count())
            .join(Lesson, Lesson.id == AttendanceRecord.lesson_id)
            .where(
                in_period,
                AttendanceRecord.role == "student",
                AttendanceRecord.status == AttendanceStatus.NO_SHOW,
            )
            .group_by(AttendanceRecord.user_id)
        )
    ).all()
    late_by = {student: int(n) for student, n in late}
    absent_by = {student: int(n) for student, n in absent}
    ids = set(late_by) | set(absent_by)
    names = await _names(db, ids)
    found = [Strikes(i, names.get(i, ""), late_by.get(i, 0), absent_by.get(i, 0)) for i in ids]
    return sorted(found, key=lambda s: (-s.total, s.name, s.student_id))


async def _names(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await db.execute(select(User.id, User.name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}
