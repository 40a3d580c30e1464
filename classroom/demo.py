"""Demo data: a small school with a coordinator, three tutors, twelve students and a week of
classes, one of which starts within the hour. Built through the same services as the app."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import availability, booking, pay, scheduling, schemas
from classroom.accounts import Passwords, create_user
from classroom.clock import to_local
from classroom.errors import Conflict
from classroom.models import Level, Role, User

PASSWORD = "kelas-demo"
DOMAIN = "demo.kelas"
ZONE = "Asia/Jakarta"
TUTORS = [
    ("Ayu Lestari", "ayu", ZONE),
    ("Budi Santoso", "budi", ZONE),
    ("Citra Wijaya", "citra", "Asia/Makassar"),
]
STUDENTS = [
    "Dewi", "Eko", "Fajar", "Gita", "Hadi", "Indah",
    "Joko", "Kartika", "Lestari", "Made", "Nur", "Oka",
]  # fmt: skip


async def seed(db: AsyncSession, passwords: Passwords, now: datetime) -> list[User] | None:
    """Fill an empty school; return None (and change nothing) when the demo is already there."""
    if await db.scalar(select(User).where(User.email == f"coordinator@{DOMAIN}")):
        return None
    hashed = await passwords.hash(PASSWORD)

    async def person(name: str, login: str, role: Role, zone: str = ZONE) -> User:
        return await create_user(
            db,
            email=f"{login}@{DOMAIN}",
            name=name,
            role=role,
            password_hash=hashed,
            timezone=zone,
            language="en",
            now=now,
        )

    coordinator = await person("Sari Coordinator", "coordinator", Role.COORDINATOR)
    tutors = [await person(n, login, Role.TUTOR, zone) for n, login, zone in TUTORS]
    students = [await person(n, n.lower(), Role.STUDENT) for n in STUDENTS]
    for tutor in tutors:
        for weekday in range(6):
            window = schemas.AvailabilityWindowIn(
                weekday=weekday, start_time=time(7, 0), end_time=time(22, 0)
            )
            await availability.add_window(db, tutor, window)

    local_now = to_local(now, ZONE).replace(tzinfo=None, second=0, microsecond=0)
    # Starts in a few minutes, so the live classroom can be joined right away.
    soon = local_now + timedelta(minutes=5)

    async def lesson(
        topic: str, level: Level, starts: datetime, tutor: User | None, cap: int = 8
    ) -> int:
        data = schemas.NewLesson(
            topic=topic,
            level=level,
            starts_local=starts,
            timezone=ZONE,
            duration_minutes=60,
            capacity=cap,
            tutor_id=tutor.id if tutor else None,
        )
        return (await scheduling.create_lesson(db, coordinator, data, now)).lessons[0].id

    day = local_now.replace(hour=0, minute=0)
    first = await lesson("Small talk at work", Level.B1, soon, tutors[0])
    plans = [
        ("Ordering food", Level.A2, day + timedelta(days=1, hours=10), tutors[1], 8),
        ("Job interviews", Level.B2, day + timedelta(days=1, hours=16), tutors[2], 6),
        ("Travel stories", Level.B1, day + timedelta(days=2, hours=9), tutors[0], 3),
        ("Debate club", Level.C1, day + timedelta(days=3, hours=20), None, 10),
        ("Phone calls", Level.A2, day + timedelta(days=4, hours=11), tutors[2], 8),
        ("Pronunciation clinic", Level.B1, day + timedelta(days=5, hours=15), None, 6),
    ]
    ids = [await lesson(*plan) for plan in plans]
    series = schemas.NewSeries(
        topic="Everyday English",
        level=Level.A2,
        weekdays=[0, 2],
        local_time=time(19, 0),
        timezone=ZONE,
        start_date=local_now.date(),
        weeks=8,
        duration_minutes=60,
        capacity=8,
        tutor_id=tutors[1].id,
    )
    series_ids = [
        item.id for item in (await scheduling.create_series(db, coordinator, series, now)).lessons
    ]

    seats = [(s, first) for s in students[:5]]
    seats += [(s, ids[2]) for s in students[5:8]]  # the small class is now full...
    seats += [(s, ids[0]) for s in students[::2]]
    seats += [(s, series_ids[0]) for s in students[1:7]]
    for student, lesson_id in seats:
        try:
            async with db.begin_nested():
                await booking.book(db, student, lesson_id, now)
        except Conflict:
            pass  # depending on the hour, a demo class may clash with another one
    await booking.join_waitlist(db, students[8], ids[2], now)  # ...with one student waiting
    # Freelancers' rates (in rupiah): two paid by the hour, one by the class.
    since = local_now.date().replace(day=1)
    for tutor, unit, amount in zip(tutors, ("hour", "class", "hour"), RATES, strict=True):
        fields = {"tutor_id": tutor.id, "unit": unit, "amount": amount, "effective_from": since}
        rate = schemas.parse(schemas.RateIn, fields)
        await pay.set_rate(db, coordinator, rate, "IDR", now)
    return [coordinator, *tutors, *students]


RATES = ("150000", "120000", "175000")
