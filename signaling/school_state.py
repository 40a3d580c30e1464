"""The coordinator's live view as one snapshot: the database's classes joined with presence.

Computed whole from shared knowledge (presence, the database), so any process can compute it
and every process computes the same one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import autopilot, readiness, today
from classroom.db import transaction
from classroom.models import ReadinessCheck, Role
from signaling import school_protocol as sp
from signaling.presence import People, Presence, Seen, quality_of


async def snapshot(
    maker: async_sessionmaker[AsyncSession],
    presence: Presence,
    now: datetime,
    check_max_age: timedelta = timedelta(days=30),
) -> sp.SchoolState:
    """``check_max_age``: a setup check older than this no longer shows a setup ready."""
    live = await presence.live_lessons()
    online = await presence.everyone()
    substitutes = await presence.substitutes(now.timestamp())
    seen_now = autopilot.Whereabouts(frozenset(online), substitutes, presence.complete)
    async with transaction(maker) as db:
        found = await today.today(db, now, live)
        offline = set(substitutes) - set(online)
        absent = await today.names(db, offline) if offline else {}
        alerts = await autopilot.open_alerts(db, now, seen_now)
        nudged = await autopilot.nudged(db, [c.lesson_id for c in found.starting])
        soon = {p.user_id for c in found.starting for p in _people(c)}
        checks = await readiness.latest(db, soon)
    rooms = {c.lesson_id: await presence.who(c.lesson_id) for c in found.in_progress}
    people = {p.user_id for c in found.in_progress + found.starting for p in _people(c)}
    seen = await presence.last_seen(sorted(people))
    tutors = [
        _tutor(s.user_id, s.name, True, s.lesson_id, substitutes)
        for s in online.values()
        if s.role == Role.TUTOR.value
    ]
    tutors += [_tutor(p.user_id, p.name, False, None, substitutes) for p in absent.values()]
    return sp.SchoolState(
        now=_iso(now),
        in_progress=[_in_progress(c, rooms[c.lesson_id], online, seen) for c in found.in_progress],
        starting=[
            _starting(
                c, online, seen, c.lesson_id in nudged, _unready(c, checks, now, check_max_age)
            )
            for c in found.starting
        ],
        tutors=sorted(tutors, key=lambda t: (not t.online, t.name, t.user_id)),
        alerts=[_alert(a) for a in alerts],
    )


def _alert(alert: autopilot.OpenAlert) -> sp.AlertNow:
    return sp.AlertNow(
        alert_id=alert.alert_id,
        kind=alert.kind.value,  # nudges are never open
        lesson_id=alert.lesson_id,
        topic=alert.topic,
        starts_at=_iso(alert.starts_at),
        tutor=alert.tutor_name,
        raised_at=_iso(alert.created_at),
        substitutes=[
            sp.SubstituteNow(
                user_id=c.user_id,
                name=c.name,
                online=c.online,
                substitute_until=_iso(datetime.fromtimestamp(c.offered_until, UTC))
                if c.offered_until
                else None,
                qualified=c.qualified,
                available=c.available,
                load=c.load,
            )
            for c in alert.substitutes
        ],
    )


def _people(found: today.ClassNow) -> list[today.Person]:
    return [*([found.tutor] if found.tutor else []), *found.students]


def _person(
    person: today.Person | None, online: dict[int, Seen], seen: dict[int, float]
) -> sp.PersonOnline | None:
    if person is None:
        return None
    at = seen.get(person.user_id)
    return sp.PersonOnline(
        user_id=person.user_id,
        name=person.name,
        online=person.user_id in online,
        last_seen=_iso(datetime.fromtimestamp(at, UTC)) if at else None,
    )


def _in_progress(
    found: today.ClassNow, room: People, online: dict[int, Seen], seen: dict[int, float]
) -> sp.ClassInProgress:
    order = {"tutor": 0, "student": 1, "observer": 2}
    participants = sorted(
        (
            sp.ParticipantNow(
                user_id=user,
                name=str(info.get("name", "")),
                role=info.get("role", "student"),
                quality=quality_of(info),
            )
            for user, info in room.items()
        ),
        key=lambda p: (order.get(p.role, 3), p.name, p.user_id),
    )
    tutor = found.tutor
    return sp.ClassInProgress(
        lesson_id=found.lesson_id,
        topic=found.topic,
        starts_at=_iso(found.starts_at),
        ends_at=_iso(found.ends_at),
        tutor=_person(tutor, online, seen),
        tutor_present=tutor is not None and tutor.user_id in room,
        participants=participants,
    )


def _unready(
    found: today.ClassNow,
    checks: dict[int, ReadinessCheck],
    now: datetime,
    max_age: timedelta,
) -> list[sp.Unready]:
    """The people of a class about to start whose setup is not shown to work."""
    roles = [("tutor", found.tutor)] if found.tutor else []
    roles += [("student", s) for s in found.students]
    unready = []
    for role, person in roles:
        check = checks.get(person.user_id)
        standing = readiness.standing(check, now, max_age)
        if standing == "failed" or standing == "stale" or standing == "never":
            unready.append(
                sp.Unready(
                    user_id=person.user_id,
                    name=person.name,
                    role="tutor" if role == "tutor" else "student",
                    standing=standing,
                    checked_at=_iso(check.checked_at) if check else None,
                )
            )
    return unready


def _starting(
    found: today.ClassNow,
    online: dict[int, Seen],
    seen: dict[int, float],
    nudged: bool,
    unready: list[sp.Unready],
) -> sp.ClassStarting:
    return sp.ClassStarting(
        lesson_id=found.lesson_id,
        topic=found.topic,
        starts_at=_iso(found.starts_at),
        tutor=_person(found.tutor, online, seen),
        tutor_nudged=nudged,
        students=[p for s in found.students if (p := _person(s, online, seen)) is not None],
        unready=unready,
    )


def _tutor(
    user_id: int, name: str, online: bool, lesson_id: int | None, substitutes: dict[int, float]
) -> sp.TutorNow:
    until = substitutes.get(user_id)
    return sp.TutorNow(
        user_id=user_id,
        name=name,
        online=online,
        lesson_id=lesson_id,
        substitute_until=_iso(datetime.fromtimestamp(until, UTC)) if until else None,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
