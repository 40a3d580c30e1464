"""The late-tutor autopilot: nudges before a class, alerts when its tutor is missing, the
substitutes to offer, one-click reassignment, and the punctuality it all leaves behind.

Whether a tutor is in their class room comes from attendance (joins and leaves are recorded
there); who has Kelas open and who offers to substitute come from presence, outside this
layer, passed in as ``Whereabouts``. Every process may run ``watch`` at the same time; each
nudge and alert is one row whose key is unique, inserted with ON CONFLICT DO NOTHING, so it
happens once however many processes notice it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.accounts import require_role
from classroom.assignment import assign_lessons, busy_tutors, tutor_zones, week_load
from classroom.availability import available_clause
from classroom.errors import Conflict, NotFound
from classroom.models import (
    MAX_LESSON_MINUTES,
    AlertKind,
    Attendance,
    Lesson,
    LessonAlert,
    LessonStatus,
    Role,
    User,
)
from classroom.notifications import notify

SUBSTITUTES_SHOWN = 5


@dataclass(frozen=True)
class Policy:
    """When to nudge and when to alert (settings: KELAS_NUDGE_BEFORE_MINUTES,
    KELAS_LATE_AFTER_MINUTES, KELAS_TUTOR_DROP_SECONDS)."""

    nudge_before: timedelta = timedelta(minutes=10)
    late_after: timedelta = timedelta(minutes=2)
    dropped_after: timedelta = timedelta(seconds=90)


@dataclass(frozen=True)
class Whereabouts:
    """What presence knows right now: who has Kelas open anywhere, and which tutors offered
    to substitute (until when, epoch seconds). ``complete`` is False while presence cannot
    see every process (Redis down): nobody is nudged for looking offline then."""

    online: frozenset[int] = frozenset()
    offers: dict[int, float] = field(default_factory=dict)
    complete: bool = True


@dataclass(frozen=True)
class Outcome:
    """What one look at the school changed: nudges sent, alerts raised, alerts closed."""

    nudged: list[int] = field(default_factory=list)  # lesson ids
    raised: list[int] = field(default_factory=list)  # alert ids
    resolved: list[int] = field(default_factory=list)  # alert ids

    @property
    def changed(self) -> bool:
        return bool(self.nudged or self.raised or self.resolved)


async def watch(db: AsyncSession, now: datetime, policy: Policy, seen: Whereabouts) -> Outcome:
    """Look at every class starting soon or in progress, once."""
    outcome = Outcome()
    lessons = list(
        await db.scalars(
            select(Lesson).where(
                Lesson.status == LessonStatus.SCHEDULED,
                Lesson.ended_at.is_(None),
                Lesson.starts_at <= now + policy.nudge_before,
                Lesson.starts_at > now - timedelta(minutes=MAX_LESSON_MINUTES),
                Lesson.ends_at > now,
            )
        )
    )
    ids = [lesson.id for lesson in lessons]
    came = await _attendance(db, ids)
    alerts = await _alerts(db, ids)
    for lesson in lessons:
        tutor = lesson.tutor_id
        mine = [a for a in alerts if a.lesson_id == lesson.id]
        if lesson.starts_at > now:
            if tutor is not None and seen.complete and tutor not in seen.online:
                if await _raise(db, lesson, AlertKind.NUDGE, f"{tutor}:0", now, resolved=True):
                    await notify(db, [tutor], "tutor_nudge", lesson, now)
                    outcome.nudged.append(lesson.id)
            continue
        # Attendance, not presence, says whether the tutor is in the room: it is in the
        # database with the alerts, and a Redis outage cannot make a present tutor look gone.
        attended = came.get((lesson.id, tutor)) if tutor is not None else None
        if attended is not None and attended.last_left_at is None:
            for alert in mine:
                if alert.resolved_at is None:
                    _resolve(alert, now, "tutor_arrived")
                    outcome.resolved.append(alert.id)
            continue
        if attended is None:
            since = max([lesson.starts_at, *(_reassigned_at(mine))])
            kind, key, due = AlertKind.LATE, f"{tutor or 0}:0", since + policy.late_after
        else:
            assert attended.last_left_at is not None
            kind, key = AlertKind.DROPPED, f"{tutor}:{attended.joins}"
            due = attended.last_left_at + policy.dropped_after
        if now >= due and (alert_id := await _raise(db, lesson, kind, key, now)):
            outcome.raised.append(alert_id)
    outcome.resolved.extend(await _close_finished(db, now))
    return outcome


async def _attendance(db: AsyncSession, ids: list[int]) -> dict[tuple[int, int], Attendance]:
    if not ids:
        return {}
    rows = await db.scalars(select(Attendance).where(Attendance.lesson_id.in_(ids)))
    return {(row.lesson_id, row.user_id): row for row in rows}


async def _alerts(db: AsyncSession, ids: list[int]) -> list[LessonAlert]:
    if not ids:
        return []
    return list(await db.scalars(select(LessonAlert).where(LessonAlert.lesson_id.in_(ids))))


def _reassigned_at(alerts: Sequence[LessonAlert]) -> list[datetime]:
    """A substitute gets the same grace from the moment they were given the class."""
    return [a.resolved_at for a in alerts if a.resolution == "reassigned" and a.resolved_at]


async def _raise(
    db: AsyncSession,
    lesson: Lesson,
    kind: AlertKind,
    key: str,
    now: datetime,
    *,
    resolved: bool = False,
) -> int | None:
    """Insert the alert unless it exists already (here or from another process): its id
    when this call created it."""
    values: dict[str, Any] = {
        "lesson_id": lesson.id,
        "kind": kind,
        "key": key,
        "tutor_id": lesson.tutor_id,
        "created_at": now,
        "resolved_at": now if resolved else None,
        "resolution": "sent" if resolved else None,
    }
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(LessonAlert)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["lesson_id", "kind", "key"])
        .returning(LessonAlert.id)
    )
    return await db.scalar(statement)


def _resolve(alert: LessonAlert, now: datetime, how: str, by: int | None = None) -> None:
    alert.resolved_at, alert.resolution, alert.resolved_by = now, how, by


async def _close_finished(db: AsyncSession, now: datetime) -> list[int]:
    """Alerts of classes that are over, ended or cancelled are moot."""
    stale = list(
        await db.scalars(
            select(LessonAlert)
            .join(Lesson, Lesson.id == LessonAlert.lesson_id)
            .where(
                LessonAlert.resolved_at.is_(None),
                or_(
                    Lesson.ends_at <= now,
                    Lesson.status != LessonStatus.SCHEDULED,
                    Lesson.ended_at.is_not(None),
                ),
            )
        )
    )
    for alert in stale:
        _resolve(alert, now, "over")
    return [alert.id for alert in stale]


# -- what coordinators see and do ---------------------------------------------------------


async def nudged(db: AsyncSession, lesson_ids: list[int]) -> set[int]:
    """Which of these classes' tutors were nudged."""
    if not lesson_ids:
        return set()
    rows = await db.scalars(
        select(LessonAlert.lesson_id).where(
            LessonAlert.lesson_id.in_(lesson_ids), LessonAlert.kind == AlertKind.NUDGE
        )
    )
    return set(rows)


@dataclass(frozen=True)
class Candidate:
    """A tutor who could take the class now, and why they rank where they do."""

    user_id: int
    name: str
    online: bool
    offered_until: float | None  # available to substitute until then (epoch seconds)
    qualified: bool  # has taught (or is assigned) this level before
    available: bool  # the class is within their weekly availability
    load: int  # classes they teach in the seven days around this one


@dataclass(frozen=True)
class OpenAlert:
    alert_id: int
    kind: AlertKind
    lesson_id: int
    topic: str
    starts_at: datetime
    tutor_id: int | None
    tutor_name: str | None
    created_at: datetime
    substitutes: list[Candidate]


async def open_alerts(db: AsyncSession, now: datetime, seen: Whereabouts) -> list[OpenAlert]:
    """Alerts nobody has dealt with yet, newest first, each with its ranked substitutes."""
    rows = (
        await db.execute(
            select(LessonAlert, Lesson, User.name)
            .join(Lesson, Lesson.id == LessonAlert.lesson_id)
            .outerjoin(User, User.id == LessonAlert.tutor_id)
            .where(
                LessonAlert.resolved_at.is_(None),
                LessonAlert.kind.in_([AlertKind.LATE, AlertKind.DROPPED]),
            )
            .order_by(LessonAlert.created_at.desc(), LessonAlert.id.desc())
        )
    ).all()
    return [
        OpenAlert(
            alert_id=alert.id,
            kind=alert.kind,
            lesson_id=lesson.id,
            topic=lesson.topic,
            starts_at=lesson.starts_at,
            tutor_id=alert.tutor_id,
            tutor_name=name,
            created_at=alert.created_at,
            substitutes=await substitutes(db, lesson, now, seen),
        )
        for alert, lesson, name in rows
    ]


async def substitutes(
    db: AsyncSession,
    lesson: Lesson,
    now: datetime,
    seen: Whereabouts,
    limit: int = SUBSTITUTES_SHOWN,
) -> list[Candidate]:
    """Tutors free for the class, ranked: online and offering to substitute first, then
    qualified for its level (they have taught it), then available by their own weekly
    windows, then the least loaded. Tutors teaching another class at that time cannot take
    it (assignment would refuse the double booking) and are left out."""
    busy = busy_tutors(lesson.starts_at, lesson.ends_at, besides=lesson.id)
    qualified = exists().where(
        Lesson.tutor_id == User.id, Lesson.level == lesson.level, Lesson.id != lesson.id
    )
    zones = await tutor_zones(db)
    load = week_load(lesson.starts_at)
    rows = (
        await db.execute(
            select(
                User.id,
                User.name,
                qualified.label("qualified"),
                available_clause(zones, lesson.starts_at, lesson.ends_at).label("available"),
                load.label("load"),
            ).where(
                User.role == Role.TUTOR,
                User.id.not_in(busy),
                User.id != (lesson.tutor_id or 0),
            )
        )
    ).all()
    stamp = now.timestamp()
    found = [
        Candidate(
            user_id=user_id,
            name=name,
            online=user_id in seen.online,
            offered_until=until if (until := seen.offers.get(user_id, 0.0)) > stamp else None,
            qualified=bool(is_qualified),
            available=bool(is_available),
            load=int(count),
        )
        for user_id, name, is_qualified, is_available, count in rows
    ]
    found.sort(
        key=lambda c: (
            not (c.online and c.offered_until is not None),
            not c.qualified,
            not c.available,
            c.load,
            c.name,
            c.user_id,
        )
    )
    return found[:limit]


@dataclass(frozen=True)
class Reassigned:
    lesson_id: int
    topic: str
    starts_at: datetime
    previous_id: int | None
    tutor_id: int
    tutor_name: str
    tutor_language: str


async def reassign(
    db: AsyncSession, actor: User, alert_id: int, tutor_id: int, now: datetime
) -> Reassigned:
    """Give the alert's class to ``tutor_id`` and close the alert (and any other open alert
    of that class): one transaction. A second coordinator acting on the same alert finds it
    closed and is told so."""
    require_role(actor, Role.COORDINATOR)
    alert = await _open(db, alert_id)
    lesson = await db.get(Lesson, alert.lesson_id, with_for_update=True)
    if lesson is None or lesson.status != LessonStatus.SCHEDULED or lesson.ends_at <= now:
        raise Conflict("This class is over or cancelled.")
    previous = lesson.tutor_id
    await assign_lessons(db, [lesson], tutor_id, now)
    tutor = await db.get(User, tutor_id)
    assert tutor is not None  # assign_lessons checked it
    for other in await _alerts(db, [lesson.id]):
        if other.resolved_at is None:
            _resolve(other, now, "reassigned", actor.id)
            other.substitute_id = tutor_id
    await db.flush()
    return Reassigned(
        lesson.id, lesson.topic, lesson.starts_at, previous, tutor.id, tutor.name, tutor.language
    )


async def dismiss(db: AsyncSession, actor: User, alert_id: int, now: datetime) -> int:
    """Close an alert without a substitution (the tutor called: they are on their way)."""
    require_role(actor, Role.COORDINATOR)
    alert = await _open(db, alert_id)
    _resolve(alert, now, "dismissed", actor.id)
    await db.flush()
    return alert.lesson_id


async def _open(db: AsyncSession, alert_id: int) -> LessonAlert:
    alert = await db.get(LessonAlert, alert_id, with_for_update=True)
    if alert is None or alert.kind == AlertKind.NUDGE:
        raise NotFound("No such alert.")
    if alert.resolved_at is not None:
        raise Conflict("Another coordinator has already dealt with this alert.")
    return alert


# -- punctuality ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Punctuality:
    """One tutor's start of one class: minutes late (0 when on time), or None when they
    never came (a substitute took the class, or nobody did)."""

    lesson_id: int
    tutor_id: int
    starts_at: datetime
    minutes_late: int | None
    substituted_by: int | None


async def punctuality(db: AsyncSession, since: datetime, until: datetime) -> list[Punctuality]:
    """Classes that started in [since, until): their tutor's minutes late, and each tutor
    who was replaced after missing a class."""
    lessons = list(
        await db.scalars(
            select(Lesson)
            .where(
                Lesson.starts_at >= since,
                Lesson.starts_at < until,
                Lesson.status == LessonStatus.SCHEDULED,
            )
            .order_by(Lesson.starts_at, Lesson.id)
        )
    )
    ids = [lesson.id for lesson in lessons]
    came = await _attendance(db, ids)
    replaced = [a for a in await _alerts(db, ids) if a.resolution == "reassigned" and a.tutor_id]
    found: list[Punctuality] = []
    for lesson in lessons:
        for alert in replaced:
            if alert.lesson_id == lesson.id and alert.tutor_id is not None:
                attended = came.get((lesson.id, alert.tutor_id))
                late = _late(lesson, attended) if alert.kind == AlertKind.DROPPED else None
                found.append(
                    Punctuality(
                        lesson.id, alert.tutor_id, lesson.starts_at, late, alert.substitute_id
                    )
                )
        if lesson.tutor_id is not None and (attended := came.get((lesson.id, lesson.tutor_id))):
            found.append(
                Punctuality(
                    lesson.id, lesson.tutor_id, lesson.starts_at, _late(lesson, attended), None
                )
            )
    return found


def _late(lesson: Lesson, attended: Attendance | None) -> int | None:
    if attended is None:
        return None
    return max(0, int((attended.first_joined_at - lesson.starts_at).total_seconds() // 60))
