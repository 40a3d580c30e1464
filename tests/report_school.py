"""A school with a known past, made through the domain functions at the moments things
happened (each given its own ``now``), for the reports' and pay's tests to check figures
against answers worked out by hand (``ANSWERS`` below)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import attendance, autopilot, booking, live, pay, scheduling, schemas
from classroom.clock import to_local, to_utc, week_start
from classroom.models import Role, User
from tests.conftest import now

ZONE = "Asia/Jakarta"
POLICY = attendance.Policy()


class Arranger(Protocol):
    """What makes the school: tests' School, or the browser tests' own."""

    maker: async_sessionmaker[AsyncSession]

    async def person(self, role: Role, name: str | None = None, **kw: Any) -> User: ...


@dataclass
class Seeded:
    monday: date  # the first day of the two weeks
    coordinator: User
    ayu: User
    budi: User
    citra: User
    students: list[User]
    lessons: dict[str, int]

    @property
    def since(self) -> date:
        return self.monday

    @property
    def until(self) -> date:
        return self.monday + timedelta(days=13)


def at(day: date, hour: int = 10, minutes: int = 0) -> datetime:
    return to_utc(datetime.combine(day, time(hour)), ZONE) + timedelta(minutes=minutes)


async def seed(school: Arranger) -> Seeded:
    """Two weeks, starting on a Monday five weeks ago (Jakarta), of:

    - L1 Mon, Ayu, 60 min: S1 present, S2 late, S3 no-show.
    - L3 Tue, Budi, 90 min: S1, S2, S3 present, S4 no-show (a full class of 4).
    - L4 Wed, Budi, 45 min: Budi never comes, nobody replaces him; S3 waits in the room.
    - L2 Thu, Ayu, 90 min: Ayu 7 minutes late; S1, S2 present.
    - L6 Fri, Citra, 60 min: S2 present; Citra has no rate yet that day.
    - L5 next Tue, Budi then Citra, 60 min: Budi missing, Citra takes it over; S1 present.
    - L7 next Wed, Ayu: cancelled (S1 had booked).
    - L8 next Thu, Ayu, 60 min: S4 booked and cancelled 2 hours before (late); Ayu teaches
      an empty room.

    Rates: Ayu 100,000 per class, 120,000 from Thursday of week 1; Budi 80,000 an hour;
    Citra 90,000 an hour from Monday of week 2.
    """
    today = to_local(now(), ZONE).date()
    monday = week_start(today - timedelta(days=35))
    coordinator = await school.person(Role.COORDINATOR, "Coordinator")
    ayu = await school.person(Role.TUTOR, "Ayu")
    budi = await school.person(Role.TUTOR, "Budi")
    citra = await school.person(Role.TUTOR, "Citra")
    students = [await school.person(Role.STUDENT, f"S{n}") for n in range(1, 5)]
    s1, s2, s3, s4 = students
    seeded = Seeded(monday, coordinator, ayu, budi, citra, students, {})
    created = at(monday - timedelta(days=60))

    async def rate(tutor: User, unit: str, amount: str, day: date) -> None:
        data = schemas.RateIn(tutor_id=tutor.id, unit=unit, amount=amount, effective_from=day)  # type: ignore[arg-type]
        async with school.maker.begin() as db:
            await pay.set_rate(db, coordinator, data, "IDR", created)

    await rate(ayu, "class", "100000", monday - timedelta(days=30))
    await rate(ayu, "class", "120000", monday + timedelta(days=3))
    await rate(budi, "hour", "80000", monday)
    await rate(citra, "hour", "90000", monday + timedelta(days=7))

    async def lesson(name: str, day: int, minutes: int, tutor: User, booked: list[User]) -> int:
        starts = at(monday + timedelta(days=day))
        data = schemas.NewLesson(
            topic=f"Topic {name}",
            level="B1",  # type: ignore[arg-type]
            duration_minutes=minutes,
            capacity=4,
            tutor_id=tutor.id,
            starts_local=to_local(starts, ZONE).replace(tzinfo=None),
            timezone=ZONE,
        )
        async with school.maker.begin() as db:
            made = await scheduling.create_lesson(db, coordinator, data, created)
        lesson_id = made.lessons[0].id
        for student in booked:
            async with school.maker.begin() as db:
                await booking.book(db, student, lesson_id, starts - timedelta(days=1))
        seeded.lessons[name] = lesson_id
        return lesson_id

    async def join(lesson_id: int, user: User, day: int, minutes: int) -> None:
        async with school.maker.begin() as db:
            await live.record_join(
                db, lesson_id, user.id, at(monday + timedelta(days=day), 10, minutes)
            )

    async def close(day: int, minutes: int) -> None:
        async with school.maker.begin() as db:
            await attendance.close_classes(
                db, at(monday + timedelta(days=day), 10, minutes), POLICY
            )

    l1 = await lesson("L1", 0, 60, ayu, [s1, s2, s3])
    await join(l1, ayu, 0, -3)
    await join(l1, s1, 0, 0)
    await join(l1, s2, 0, 9)
    await close(0, 61)

    l3 = await lesson("L3", 1, 90, budi, [s1, s2, s3, s4])
    for person in (budi, s1, s2, s3):
        await join(l3, person, 1, 0)
    await close(1, 91)

    l4 = await lesson("L4", 2, 45, budi, [s3])
    await join(l4, s3, 2, 0)
    await close(2, 46)

    l2 = await lesson("L2", 3, 90, ayu, [s1, s2])
    await join(l2, ayu, 3, 7)
    await join(l2, s1, 3, 1)
    await join(l2, s2, 3, 2)
    await close(3, 91)

    l6 = await lesson("L6", 4, 60, citra, [s2])
    await join(l6, citra, 4, 0)
    await join(l6, s2, 4, 0)
    await close(4, 61)

    l5 = await lesson("L5", 8, 60, budi, [s1])
    await join(l5, s1, 8, 0)
    late = at(monday + timedelta(days=8), 10, 3)
    # One transaction: the app under test runs its own autopilot on the real clock, and it
    # closes any open alert of a lesson that has ended (as this one has, weeks ago).
    async with school.maker.begin() as db:
        raised = await autopilot.watch(db, late, autopilot.Policy(), autopilot.Whereabouts())
        await autopilot.reassign(db, coordinator, raised.raised[0], citra.id, late)
    await join(l5, citra, 8, 5)
    await close(8, 61)

    l7 = await lesson("L7", 9, 60, ayu, [s1])
    async with school.maker.begin() as db:
        await scheduling.cancel_lesson(db, coordinator, l7, "one", at(monday + timedelta(days=8)))

    l8 = await lesson("L8", 10, 60, ayu, [s4])
    async with school.maker.begin() as db:
        await booking.cancel(db, s4, l8, at(monday + timedelta(days=10), 8), timedelta(hours=12))
    await join(l8, ayu, 10, 0)
    await close(10, 61)
    return seeded


IDR = Decimal
ANSWERS = {
    "held": 6,
    "cancelled": 1,
    "not_held": 1,
    "expected": 12,
    "attended": 10,
    "no_shows": 2,
    "seats": 24,
    "booked": 11,
    "came": 9,
    # name: classes, minutes, late starts, minutes late, missed, given, received, pay lines
    "lecturers": {
        "Ayu": (3, 210, 1, 7, 0, 0, 0, [("IDR", 3, 210, IDR("340000.00"))]),
        "Budi": (1, 90, 0, 0, 2, 0, 1, [("IDR", 1, 90, IDR("120000.00"))]),
        "Citra": (2, 120, 0, 0, 0, 1, 0, [("IDR", 1, 60, IDR("90000.00")), (None, 1, 60, None)]),
    },
    # name: late cancellations, no-shows
    "strikes": {"S4": (1, 1), "S3": (0, 1)},
}
