"""Conversions between UTC instants and wall-clock times in named zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def to_utc(local: datetime, zone: str) -> datetime:
    """The UTC instant of a wall-clock time in ``zone`` (the earlier one when ambiguous)."""
    return local.replace(tzinfo=ZoneInfo(zone), fold=0).astimezone(UTC)


def to_local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


def day_range(day: date, zone: str) -> tuple[datetime, datetime]:
    """The UTC instants at which ``day`` begins and ends in ``zone``."""
    start = to_utc(datetime.combine(day, time()), zone)
    return start, to_utc(datetime.combine(day + timedelta(days=1), time()), zone)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_range(day: date, zone: str) -> tuple[datetime, datetime]:
    """The UTC instants bounding the Monday-to-Sunday week of ``day`` in ``zone``."""
    monday = week_start(day)
    return day_range(monday, zone)[0], day_range(monday + timedelta(days=6), zone)[1]
