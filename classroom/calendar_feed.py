"""iCalendar (RFC 5545) feeds and single-class downloads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from classroom.models import LessonStatus
from classroom.timetable import LessonRow


def _event(row: LessonRow, base_url: str, domain: str, now: datetime) -> Event:
    lesson = row.lesson
    event = Event()
    event.add("uid", f"lesson-{lesson.id}@{domain}")
    event.add("dtstamp", now)
    event.add("dtstart", lesson.starts_at)
    event.add("dtend", lesson.ends_at)
    event.add("summary", f"{lesson.topic} ({lesson.level})")
    lines = [lesson.description] if lesson.description else []
    if row.tutor_name:
        lines.append(f"Tutor: {row.tutor_name}")
    url = f"{base_url}/classes/{lesson.id}"
    lines.append(url)
    event.add("description", "\n".join(lines))
    event.add("url", url)
    event.add("location", url)
    cancelled = lesson.status == LessonStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def render(
    rows: Iterable[LessonRow], *, name: str, base_url: str, domain: str, now: datetime
) -> bytes:
    """A VCALENDAR with one VEVENT per class; times are UTC, so every client agrees."""
    calendar = Calendar()
    calendar.add("prodid", "-//Kelas//Kelas classes//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for row in rows:
        calendar.add_component(_event(row, base_url, domain, now))
    return bytes(calendar.to_ical())
