"""Arranging classes through the real API, as a coordinator would."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from classroom.clock import to_utc
from classroom.models import Lesson, LessonStatus, Level, User
from tests.conftest import Visitor, now

JAKARTA = "Asia/Jakarta"


def local_in(hours: float, zone: str = JAKARTA) -> str:
    """Wall-clock time ``hours`` from now in ``zone``, as a datetime-local string."""
    return local_at(now() + timedelta(hours=hours), zone)


def local_at(moment: datetime, zone: str = JAKARTA) -> str:
    """``moment`` as a datetime-local string in ``zone``, as a form sends it."""
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(timespec="minutes")


async def new_class(
    coordinator: Visitor, hours: float = 48, *, expect: int = 201, **changes: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "topic": "Small talk",
        "level": "B1",
        "starts_local": local_in(hours),
        "timezone": JAKARTA,
        "duration_minutes": 60,
        "capacity": 4,
    }
    data.update(changes)
    status, body = await coordinator.api("POST", "/api/v1/classes", data)
    assert status == expect, body
    return body  # type: ignore[no-any-return]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def add_lesson(
    db: AsyncSession,
    monday: date,
    offset: int,
    hour: int,
    tutor: User | None,
    level: Level,
    topic: str,
    status: LessonStatus = LessonStatus.SCHEDULED,
) -> None:
    """An hour-long class ``offset`` days after ``monday`` at ``hour`` in Jakarta, straight
    into the table (for read tests that need many classes on fixed days)."""
    starts = to_utc(datetime.combine(monday + timedelta(days=offset), time(hour)), JAKARTA)
    db.add(
        Lesson(
            topic=topic,
            level=level,
            description="",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            capacity=8,
            tutor_id=tutor.id if tutor else None,
            status=status,
            created_at=now(),
        )
    )


class Clock:
    """An app clock that a test moves forward: time passes for the app without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move_to(self, moment: datetime) -> None:
        self.offset = moment - datetime.now(UTC)
