"""Assigning tutors: no double booking, availability warnings, suggestions, substitutions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ScalarSelect, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import schemas
from classroom.accounts import require_role
from classroom.availability import available_clause, is_available
from classroom.clock import to_local
from classroom.errors import DoubleBooked, NotFound, Notice, TooLate
from classroom.models import Lesson, LessonStatus, Role, User
from classroom.notifications import notify_lessons


async def _tutor(db: AsyncSession, tutor_id: int, *, lock: bool = False) -> User:
    tutor = await db.get(User, tutor_id, with_for_update=lock)
    if tutor is None or tutor.role != Role.TUTOR:
        raise NotFound("No such tutor.")
    return tutor


def _busy(tutor_id: int, starts: datetime, ends: datetime, skip: list[int]) -> Select[Lesson]:
    return (
        select(Lesson)
        .limit(1)
        .where(
            Lesson.tutor_id == tutor_id, Lesson.overlapping(starts, ends), Lesson.id.not_in(skip)
        )
    )


async def check_tutor_fits(db: AsyncSession, tutor_id: int, lessons: list[Lesson]) -> list[Notice]:
    """Refuse if the tutor would teach two classes at once; warn about classes outside
    their availability. The caller holds the tutor's row lock."""
    tutor = await _tutor(db, tutor_id)
    ids = [lesson.id for lesson in lessons]
    ordered = sorted(lessons, key=lambda item: item.starts_at)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.starts_at < before.ends_at:
            raise DoubleBooked("These classes overlap each other.")
    warnings: list[Notice] = []
    for lesson in ordered:
        clash = await db.scalar(_busy(tutor.id, lesson.starts_at, lesson.ends_at, ids))
        if clash is not None:
            when = to_local(clash.starts_at, tutor.timezone).strftime("%Y-%m-%d %H:%M")
            raise DoubleBooked(
                "{tutor} already teaches “{topic}” at {when} ({zone}).",
                tutor=tutor.name,
                topic=clash.topic,
                when=when,
                zone=tutor.timezone,
            )
        if not await is_available(db, tutor, lesson.starts_at, lesson.ends_at):
            when = to_local(lesson.starts_at, tutor.timezone).strftime("%a %Y-%m-%d %H:%M")
            warnings.append(
                Notice(
                    "{when} ({zone}) is outside the availability of {tutor}.",
                    {"when": when, "zone": tutor.timezone, "tutor": tutor.name},
                )
            )
    return warnings


async def assign_lessons(
    db: AsyncSession, lessons: list[Lesson], tutor_id: int | None, now: datetime
) -> list[Notice]:
    """Give ``lessons`` to ``tutor_id`` (None: unassign). Tutors losing or gaining classes
    are told, once for all of them (one e-mail lists a whole series); the students'
    bookings stay as they are."""
    warnings: list[Notice] = []
    if tutor_id is not None:
        await _tutor(db, tutor_id, lock=True)
        warnings = await check_tutor_fits(db, tutor_id, lessons)
    told: dict[tuple[int, str], list[Lesson]] = {}  # one message per tutor and kind
    for lesson in lessons:
        previous = lesson.tutor_id
        if previous == tutor_id:
            continue
        lesson.tutor_id = tutor_id
        if previous is not None:
            told.setdefault((previous, "substitution_removed"), []).append(lesson)
        if tutor_id is not None:
            kind = "substitution_assigned" if previous is not None else "lesson_assigned"
            told.setdefault((tutor_id, kind), []).append(lesson)
    await db.flush()
    for (user_id, kind), changed in told.items():
        await notify_lessons(db, [user_id], kind, changed, now)
    return warnings


async def assign(
    db: AsyncSession, actor: User, lesson_id: int, data: schemas.Assign, now: datetime
) -> tuple[list[Lesson], list[Notice]]:
    """Assign a tutor to one class, or to every upcoming class of its series."""
    require_role(actor, Role.COORDINATOR)
    lesson = await db.get(Lesson, lesson_id, with_for_update=True)
    if lesson is None:
        raise NotFound("No such class.")
    if lesson.status != LessonStatus.SCHEDULED or lesson.ends_at <= now:
        raise TooLate("This class is over or cancelled.")
    lessons = [lesson]
    if data.scope == "series" and lesson.series_id is not None:
        query = (
            select(Lesson)
            .where(
                Lesson.series_id == lesson.series_id,
                Lesson.status == LessonStatus.SCHEDULED,
                Lesson.starts_at > now,
            )
            .order_by(Lesson.starts_at)
            .with_for_update()
        )
        lessons = list((await db.scalars(query)).all())
    return lessons, await assign_lessons(db, lessons, data.tutor_id, now)


async def tutor_zones(db: AsyncSession) -> list[str]:
    """The time zones tutors live in (their weekly windows are in their own zone)."""
    query = select(User.timezone).where(User.role == Role.TUTOR).distinct()
    return list((await db.scalars(query)).all())


def busy_tutors(starts: datetime, ends: datetime, besides: int | None = None) -> Select[Any]:
    """The tutors teaching a class that overlaps ``starts``..``ends`` (other than the class
    ``besides``): one hashed set, rather than a probe per tutor."""
    query = select(Lesson.tutor_id).where(
        Lesson.tutor_id.is_not(None), Lesson.overlapping(starts, ends)
    )
    return query if besides is None else query.where(Lesson.id != besides)


def week_load(starts: datetime) -> ScalarSelect[int]:
    """For each tutor (correlated to ``User``): the scheduled classes they teach in the
    seven days around ``starts``."""
    around = (starts - timedelta(days=3, hours=12), starts + timedelta(days=3, hours=12))
    return (
        select(func.count(Lesson.id))
        .where(
            Lesson.tutor_id == User.id,
            Lesson.status == LessonStatus.SCHEDULED,
            Lesson.starts_at >= around[0],
            Lesson.starts_at < around[1],
        )
        .scalar_subquery()
    )


@dataclass(frozen=True)
class Suggestion:
    tutor: User
    load: int  # classes this tutor teaches in the class's week


async def suggest(
    db: AsyncSession, starts: datetime, ends: datetime, limit: int = 10
) -> list[Suggestion]:
    """Tutors free at the class's time and available by their own windows, least loaded
    (in the seven days around the class) first."""
    zones = await tutor_zones(db)
    if not zones:
        return []
    busy = busy_tutors(starts, ends)
    load = week_load(starts)
    query = (
        select(User, load.label("load"))
        .where(
            User.role == Role.TUTOR,
            User.id.not_in(busy),
            available_clause(zones, starts, ends),
        )
        .order_by(load, User.name)
        .limit(limit)
    )
    return [Suggestion(tutor, int(n)) for tutor, n in (await db.execute(query)).all()]
