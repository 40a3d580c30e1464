"""Each person's readiness for a live class: the results of their setup checks, and who,
among the people of a class, has not shown that their setup works.

A check (the /check page) tries the microphone and camera, the network path to the server,
directly over UDP and through the TURN relay, and measures round trip, loss and bitrate. Its
result is kept per person with its time and a verdict (``ok``; ``warn``: it works, with a
"but"; ``failed``: no way to take part). What makes a verdict is decided by the caller
(signaling/readiness.py), which also proves the network part; this module keeps and reads.

Before a class, a person's standing is: ``failed`` when their newest check failed (however
old), ``stale`` when it is older than the school's limit, ``never`` without one, otherwise
``ready`` or ``warn``. The coordinators look at those three first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import scheduling
from classroom.accounts import require_role
from classroom.models import Attendance, Booking, BookingStatus, ReadinessCheck, Role, User

KEPT = 20  # a person's newest checks kept; older ones say nothing the newest does not
Verdict = Literal["ok", "warn", "failed"]
Standing = Literal["ready", "warn", "failed", "stale", "never"]
UNREADY: frozenset[Standing] = frozenset({"failed", "stale", "never"})


@dataclass(frozen=True)
class Report:
    """One check's result, whole: what the browser found and what the server saw."""

    mic: str  # ok, silent (no sound heard), denied, missing, error
    camera: str  # ok, denied, missing, error
    stun: str  # a server-reflexive candidate from STUN: ok, failed, none (not configured)
    turn: str  # a relay candidate from TURN: ok, failed, none
    udp: str  # the direct path reached the server: ok, failed
    relay: str  # the path through the relay reached the server: ok, failed, none
    rtt_ms: int | None
    loss: float | None
    down_kbps: int | None
    up_kbps: int | None


REPORTED = tuple(Report.__dataclass_fields__)


async def record(
    db: AsyncSession, user: User, report: Report, verdict: Verdict, now: datetime, browser: str
) -> ReadinessCheck:
    """Keep this check as the person's newest; forget all but their newest ``KEPT``."""
    check = ReadinessCheck(
        user_id=user.id,
        checked_at=now,
        verdict=verdict,
        browser=browser[:200],
        **report.__dict__,
    )
    db.add(check)
    await db.flush()
    keep = (
        select(ReadinessCheck.id)
        .where(ReadinessCheck.user_id == user.id)
        .order_by(ReadinessCheck.checked_at.desc(), ReadinessCheck.id.desc())
        .limit(KEPT)
    )
    await db.execute(
        delete(ReadinessCheck).where(
            ReadinessCheck.user_id == user.id, ReadinessCheck.id.not_in(keep.scalar_subquery())
        )
    )
    return check


async def latest(db: AsyncSession, user_ids: Iterable[int]) -> dict[int, ReadinessCheck]:
    """Each person's newest check (one query, by the (user, time) index)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    newest = (
        select(ReadinessCheck.user_id, func.max(ReadinessCheck.checked_at).label("at"))
        .where(ReadinessCheck.user_id.in_(ids))
        .group_by(ReadinessCheck.user_id)
        .subquery()
    )
    rows = await db.scalars(
        select(ReadinessCheck)
        .join(
            newest,
            (ReadinessCheck.user_id == newest.c.user_id)
            & (ReadinessCheck.checked_at == newest.c.at),
        )
        .order_by(ReadinessCheck.id)
    )
    return {check.user_id: check for check in rows}  # two at the same instant: the later id


def standing(check: ReadinessCheck | None, now: datetime, max_age: timedelta) -> Standing:
    if check is None:
        return "never"
    if check.verdict == "failed":
        return "failed"
    if now - check.checked_at > max_age:
        return "stale"
    return "ready" if check.verdict == "ok" else "warn"


@dataclass(frozen=True)
class PersonReadiness:
    user_id: int
    name: str
    role: Role
    standing: Standing
    check: ReadinessCheck | None


async def of_class(
    db: AsyncSession, actor: User, lesson_id: int, now: datetime, max_age: timedelta
) -> list[PersonReadiness]:
    """The tutor and the booked students of a class, each with their standing: for the
    coordinators, before the class."""
    require_role(actor, Role.COORDINATOR)
    lesson = await scheduling.get_lesson(db, lesson_id)
    students = list(
        await db.scalars(
            select(User)
            .join(Booking, Booking.student_id == User.id)
            .where(Booking.lesson_id == lesson.id, Booking.status == BookingStatus.CONFIRMED)
            .order_by(User.name, User.id)
        )
    )
    tutor = await db.get(User, lesson.tutor_id) if lesson.tutor_id else None
    people = [*([tutor] if tutor else []), *students]
    checks = await latest(db, [p.id for p in people])
    return [
        PersonReadiness(
            p.id, p.name, p.role, standing(checks.get(p.id), now, max_age), checks.get(p.id)
        )
        for p in people
    ]


async def before_first_class(
    db: AsyncSession, user: User, now: datetime, max_age: timedelta
) -> bool:
    """Whether to suggest the check on a class page: the person has never been in a live
    class, and has no check that shows their setup works."""
    been = await db.scalar(select(Attendance.id).where(Attendance.user_id == user.id).limit(1))
    if been is not None:
        return False
    check = (await latest(db, [user.id])).get(user.id)
    return standing(check, now, max_age) in UNREADY
