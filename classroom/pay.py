"""Lecturers' rates and what they are owed.

A rate is per hour or per class, in a currency, from a date on (a date in the school's time
zone). Rates are only ever added: the rate in effect on a day is the one with the latest
``effective_from`` on or before it (of two set for the same day, the one set last), so a
raise from the 15th pays the old rate for classes before the 15th and the new one after,
and the history stays.

A lecturer is paid for each class they taught: a class that was not cancelled, whose
attendance records them as its tutor and not as a no-show (classroom/attendance.py; a
coordinator's correction counts). A substitute who took the class is its tutor when it
closes, so they are paid; the tutor who was replaced is not. A rate per hour pays the
class's scheduled length (what the timetable promised, not the minutes the tutor happened
to be in the room, which a dropped connection would cut short). Each class's amount is
rounded to the cent, half up, so the lines of the payroll add up to its total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import schemas
from classroom.accounts import require_role
from classroom.clock import to_local
from classroom.errors import NotFound, PermissionDenied
from classroom.models import (
    CENT,
    AttendanceRecord,
    AttendanceStatus,
    LecturerRate,
    Lesson,
    LessonStatus,
    RateUnit,
    Role,
    User,
)


@dataclass(frozen=True)
class RateRow:
    id: int
    tutor_id: int
    tutor_name: str
    unit: RateUnit
    amount: Decimal
    currency: str
    effective_from: date
    created_at: datetime


async def set_rate(
    db: AsyncSession, actor: User, data: schemas.RateIn, currency: str, now: datetime
) -> RateRow:
    """Add a rate for a tutor from a date on (coordinators only)."""
    require_role(actor, Role.COORDINATOR)
    tutor = await db.get(User, data.tutor_id)
    if tutor is None or tutor.role != Role.TUTOR:
        raise NotFound("No such tutor.")
    rate = LecturerRate(
        tutor_id=tutor.id,
        unit=RateUnit(data.unit),
        amount=data.amount.quantize(CENT),
        currency=currency,
        effective_from=data.effective_from,
        created_at=now,
        created_by=actor.id,
    )
    db.add(rate)
    await db.flush()
    return _row(rate, tutor.name)


def _row(rate: LecturerRate, name: str) -> RateRow:
    return RateRow(
        rate.id,
        rate.tutor_id,
        name,
        rate.unit,
        rate.amount,
        rate.currency,
        rate.effective_from,
        rate.created_at,
    )


async def rates(db: AsyncSession, actor: User, tutor_id: int | None = None) -> list[RateRow]:
    """Every rate ever set, by tutor name, newest first: coordinators see all, a tutor their
    own."""
    tutor_id = _whose(actor, tutor_id)
    query = (
        select(LecturerRate, User.name)
        .join(User, User.id == LecturerRate.tutor_id)
        .order_by(User.name, User.id, LecturerRate.effective_from.desc(), LecturerRate.id.desc())
    )
    if tutor_id is not None:
        query = query.where(LecturerRate.tutor_id == tutor_id)
    return [_row(rate, name) for rate, name in await db.execute(query)]


def _whose(actor: User, tutor_id: int | None) -> int | None:
    """Coordinators ask about anyone (None: everyone); a tutor only about themself."""
    if actor.role == Role.COORDINATOR:
        return tutor_id
    if actor.role == Role.TUTOR and tutor_id in (None, actor.id):
        return actor.id
    raise PermissionDenied("You are not allowed to do this.")


def rate_on(history: list[RateRow], day: date) -> RateRow | None:
    """The rate in effect on ``day`` among one tutor's rates (pure)."""
    found: RateRow | None = None
    for rate in history:
        if rate.effective_from <= day and (
            found is None or (rate.effective_from, rate.id) > (found.effective_from, found.id)
        ):
            found = rate
    return found


def price(rate: RateRow, minutes: int) -> Decimal:
    """What one class of ``minutes`` earns at ``rate``, to the cent (pure)."""
    if rate.unit == RateUnit.CLASS:
        return rate.amount
    return (rate.amount * minutes / 60).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Taught:
    """One class a lecturer taught, and what it earns (None: no rate in effect that day)."""

    lesson_id: int
    tutor_id: int
    topic: str
    starts_at: datetime
    day: date  # in the school's time zone
    minutes: int
    rate: RateRow | None
    amount: Decimal | None


async def taught(
    db: AsyncSession, since: datetime, until: datetime, zone: str, tutor_id: int | None = None
) -> list[Taught]:
    """The classes that started in [since, until) and were taught, each priced at the rate
    in effect on its day, by start."""
    query = (
        select(Lesson, AttendanceRecord.user_id)
        .join(AttendanceRecord, AttendanceRecord.lesson_id == Lesson.id)
        .where(
            Lesson.starts_at >= since,
            Lesson.starts_at < until,
            Lesson.status == LessonStatus.SCHEDULED,
            AttendanceRecord.role == "tutor",
            AttendanceRecord.status != AttendanceStatus.NO_SHOW,
        )
        .order_by(Lesson.starts_at, Lesson.id)
    )
    if tutor_id is not None:
        query = query.where(AttendanceRecord.user_id == tutor_id)
    rows = (await db.execute(query)).all()
    tutors = sorted({user_id for _, user_id in rows})
    history: dict[int, list[RateRow]] = {t: [] for t in tutors}
    if tutors:
        for stored in await db.scalars(
            select(LecturerRate).where(LecturerRate.tutor_id.in_(tutors))
        ):
            history[stored.tutor_id].append(_row(stored, ""))
    found: list[Taught] = []
    for lesson, user_id in rows:
        day = to_local(lesson.starts_at, zone).date()
        rate = rate_on(history[user_id], day)
        minutes = lesson.duration_minutes
        amount = price(rate, minutes) if rate is not None else None
        found.append(
            Taught(lesson.id, user_id, lesson.topic, lesson.starts_at, day, minutes, rate, amount)
        )
    return found


@dataclass(frozen=True)
class PayLine:
    """What one lecturer is owed for a period in one currency; ``currency`` None gathers
    the classes no rate covered (they need a rate before they can be paid)."""

    tutor_id: int
    name: str
    email: str
    currency: str | None
    classes: int
    minutes: int
    amount: Decimal | None


async def pay(
    db: AsyncSession,
    actor: User,
    since: datetime,
    until: datetime,
    zone: str,
    tutor_id: int | None = None,
) -> tuple[list[PayLine], list[Taught]]:
    """Each lecturer's pay for the classes that started in [since, until), by name, and the
    classes behind it: coordinators see everyone's, a tutor their own."""
    tutor_id = _whose(actor, tutor_id)
    classes = await taught(db, since, until, zone, tutor_id)
    people = {
        u.id: u
        for u in await db.scalars(select(User).where(User.id.in_({c.tutor_id for c in classes})))
    }
    groups: dict[tuple[int, str | None], list[Taught]] = {}
    for item in classes:
        key = (item.tutor_id, item.rate.currency if item.rate else None)
        groups.setdefault(key, []).append(item)
    lines = [
        PayLine(
            tutor_id=tutor,
            name=people[tutor].name,
            email=people[tutor].email,
            currency=currency,
            classes=len(items),
            minutes=sum(i.minutes for i in items),
            amount=sum((i.amount for i in items if i.amount is not None), Decimal("0.00"))
            if currency is not None
            else None,
        )
        for (tutor, currency), items in groups.items()
    ]
    lines.sort(key=lambda line: (line.name, line.tutor_id, line.currency or "~"))
    return lines, classes
