"""Tutor availability: weekly windows in the tutor's zone, and one-off absences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import schemas
from classroom.accounts import require_role
from classroom.clock import day_range, to_local
from classroom.errors import NotFound
from classroom.models import AvailabilityException, AvailabilityWindow, Role, User


async def windows(db: AsyncSession, tutor: User) -> list[AvailabilityWindow]:
    query = (
        select(AvailabilityWindow)
        .where(AvailabilityWindow.tutor_id == tutor.id)
        .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_time)
    )
    return list((await db.scalars(query)).all())


async def exceptions(db: AsyncSession, tutor: User, after: datetime) -> list[AvailabilityException]:
    query = (
        select(AvailabilityException)
        .where(AvailabilityException.tutor_id == tutor.id, AvailabilityException.ends_at > after)
        .order_by(AvailabilityException.starts_at)
    )
    return list((await db.scalars(query)).all())


async def add_window(
    db: AsyncSession, tutor: User, data: schemas.AvailabilityWindowIn
) -> AvailabilityWindow:
    require_role(tutor, Role.TUTOR)
    window = AvailabilityWindow(
        tutor_id=tutor.id, weekday=data.weekday, start_time=data.start_time, end_time=data.end_time
    )
    db.add(window)
    await db.flush()
    return window


async def remove_window(db: AsyncSession, tutor: User, window_id: int) -> None:
    result = await db.execute(
        delete(AvailabilityWindow).where(
            AvailabilityWindow.id == window_id, AvailabilityWindow.tutor_id == tutor.id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("No such availability window.")


async def add_exception(
    db: AsyncSession, tutor: User, data: schemas.AvailabilityExceptionIn
) -> AvailabilityException:
    require_role(tutor, Role.TUTOR)
    starts, _ = day_range(data.first_day, tutor.timezone)
    _, ends = day_range(data.last_day, tutor.timezone)
    absence = AvailabilityException(
        tutor_id=tutor.id, starts_at=starts, ends_at=ends, reason=data.reason
    )
    db.add(absence)
    await db.flush()
    return absence


async def remove_exception(db: AsyncSession, tutor: User, exception_id: int) -> None:
    result = await db.execute(
        delete(AvailabilityException).where(
            AvailabilityException.id == exception_id, AvailabilityException.tutor_id == tutor.id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("No such absence.")


def _covered_in(zone: str, starts: datetime, ends: datetime) -> ColumnElement[bool]:
    """A window in ``zone`` covers the class. A class crossing local midnight is covered by
    none, except one that ends exactly at midnight, by a window open to the end of the day."""
    local_start, local_end = to_local(starts, zone), to_local(ends, zone)
    if local_end.date() == local_start.date():
        end_time = local_end.time()
    elif local_end.time() == time() and local_end.date() == local_start.date() + timedelta(days=1):
        end_time = time(23, 59)
    else:
        return false()
    return and_(
        AvailabilityWindow.weekday == local_start.weekday(),
        AvailabilityWindow.start_time <= local_start.time(),
        AvailabilityWindow.end_time >= end_time,
    )


def available_clause(zones: Sequence[str], starts: datetime, ends: datetime) -> ColumnElement[bool]:
    """SQL, correlated to ``User``: the tutor has a weekly window covering [starts, ends)
    and no absence overlapping it.

    Windows are wall-clock times in each tutor's zone, so the class is converted once per
    zone that tutors live in (a handful), and the database does the rest.
    """
    window = exists().where(
        AvailabilityWindow.tutor_id == User.id,
        or_(*(and_(User.timezone == z, _covered_in(z, starts, ends)) for z in zones)),
    )
    absent = exists().where(
        AvailabilityException.tutor_id == User.id,
        AvailabilityException.starts_at < ends,
        AvailabilityException.ends_at > starts,
    )
    return and_(window, ~absent)


async def is_available(db: AsyncSession, tutor: User, starts: datetime, ends: datetime) -> bool:
    clause = available_clause([tutor.timezone], starts, ends)
    return bool(await db.scalar(select(clause).where(User.id == tutor.id)))
