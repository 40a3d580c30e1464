"""The tutor's report on a class that is over: for each student who attended, a CEFR
estimate (optional) and a short comment; for the class, a summary. The form comes pre-filled
from the student's live notes (classroom/notes.py). A class is complete when its report is
filed; filing is one transaction, which also tells each student who attended that their
recap is ready (in the app, and by e-mail for those who want it). The tutor may correct a
filed report; only the first filing tells the students.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import notifications
from classroom.attendance import attendees
from classroom.errors import N_, InvalidInput, NotFound, PermissionDenied, TooLate
from classroom.models import (
    Booking,
    BookingStatus,
    Lesson,
    LessonReport,
    LessonReportEntry,
    LessonStatus,
    Level,
    Role,
    User,
)
from classroom.notes import Note, of_class
from classroom.schemas import ReportIn

COMMENT_MAX = 1000
MISSING_WITHIN = timedelta(days=60)  # older classes without a report are not listed
RECAP_KIND = "lesson_recap"
RECAP_STALE = timedelta(days=7)  # a recap e-mail not sent by then is not worth sending


@dataclass(frozen=True)
class Entry:
    student_id: int
    name: str
    level: Level | None
    comment: str
    notes: list[Note]  # this student's own live notes


@dataclass(frozen=True)
class Report:
    lesson: Lesson
    filed_at: datetime | None  # None: not filed yet (a draft from the notes)
    summary: str
    entries: list[Entry]
    shared: list[Note]  # the notes for everyone


def is_over(lesson: Lesson, now: datetime) -> bool:
    return lesson.status == LessonStatus.SCHEDULED and (lesson.ended_at or lesson.ends_at) <= now


def prefill(notes: list[Note]) -> str:
    """A comment drafted from a student's notes, in the words the tutor wrote."""
    parts = [f"“{n.text}” → “{n.better}”" if n.better else n.text for n in notes]
    return "; ".join(parts)[:COMMENT_MAX]


async def _lesson(db: AsyncSession, actor: User, lesson_id: int, lock: bool = False) -> Lesson:
    lesson = await db.get(Lesson, lesson_id, with_for_update=lock)
    if lesson is None or not (actor.role == Role.COORDINATOR or lesson.tutor_id == actor.id):
        raise NotFound("No such class.")
    return lesson


async def _report(db: AsyncSession, lesson: Lesson) -> Report:
    notes = await of_class(db, lesson.id)
    filed = await db.get(LessonReport, lesson.id)
    given = {
        e.student_id: e
        for e in await db.scalars(
            select(LessonReportEntry).where(LessonReportEntry.lesson_id == lesson.id)
        )
    }
    entries = []
    for student_id, name in await attendees(db, lesson.id):
        own = [n for n in notes if n.student_id == student_id]
        entry = given.get(student_id)
        if entry is not None:
            entries.append(Entry(student_id, name, entry.level, entry.comment, own))
        else:
            entries.append(Entry(student_id, name, None, "" if filed else prefill(own), own))
    return Report(
        lesson=lesson,
        filed_at=filed.filed_at if filed else None,
        summary=filed.summary if filed else "",
        entries=entries,
        shared=[n for n in notes if n.student_id is None],
    )


async def of_class_report(db: AsyncSession, actor: User, lesson_id: int) -> Report:
    """The class's report as filed, or a draft pre-filled from the notes: for its tutor and
    coordinators."""
    return await _report(db, await _lesson(db, actor, lesson_id))


def _check_entries(report: Report, data: ReportIn) -> dict[int, tuple[Level | None, str]]:
    """The entries sent, by student; field errors name ``students.<index>.<field>``."""
    expected = {e.student_id for e in report.entries}
    fields: dict[str, str] = {}
    given: dict[int, tuple[Level | None, str]] = {}
    for index, item in enumerate(data.students):
        if item.student_id not in expected or item.student_id in given:
            fields[f"students.{index}.student_id"] = N_("This student did not attend the class")
            continue
        given[item.student_id] = (item.level, item.comment)
    if not fields and set(given) != expected:
        fields["students"] = N_("Please write a comment for each student who attended")
    if fields:
        raise InvalidInput("Please correct the marked fields.", dict(fields))
    return given


async def file(
    db: AsyncSession, actor: User, lesson_id: int, data: ReportIn, now: datetime
) -> tuple[Report, bool]:
    """File (or correct) the report of a class that is over: its tutor only. Returns the
    report and whether this was its first filing (when the students are told)."""
    lesson = await _lesson(db, actor, lesson_id, lock=True)  # one filing at a time
    if lesson.tutor_id != actor.id:
        raise PermissionDenied("Only the tutor of this class can file its report.")
    if not is_over(lesson, now):
        raise TooLate("The report can be filed once the class is over.")
    report = await _report(db, lesson)
    given = _check_entries(report, data)
    filed = await db.get(LessonReport, lesson_id)
    first = filed is None
    if filed is None:
        db.add(
            LessonReport(
                lesson_id=lesson_id,
                tutor_id=actor.id,
                summary=data.summary,
                filed_at=now,
                updated_at=now,
            )
        )
    else:
        filed.summary, filed.updated_at = data.summary, now
        await db.execute(delete(LessonReportEntry).where(LessonReportEntry.lesson_id == lesson_id))
    await db.flush()
    db.add_all(
        LessonReportEntry(lesson_id=lesson_id, student_id=sid, level=level, comment=comment)
        for sid, (level, comment) in given.items()
    )
    await db.flush()
    if first and given:
        await notifications.notify_lessons(
            db, list(given), RECAP_KIND, [lesson], now, stale_at=now + RECAP_STALE
        )
    return await _report(db, lesson), first


@dataclass(frozen=True)
class Missing:
    lesson_id: int
    topic: str
    starts_at: datetime
    over_at: datetime
    tutor_id: int
    tutor_name: str


async def missing(db: AsyncSession, now: datetime, tutor: User | None = None) -> list[Missing]:
    """Classes over (in the last MISSING_WITHIN) with a tutor and booked students and no
    filed report, the longest overdue first: all of them, or ``tutor``'s own."""
    over_at = func.coalesce(Lesson.ended_at, Lesson.ends_at)
    query = (
        select(Lesson.id, Lesson.topic, Lesson.starts_at, over_at, User.id, User.name)
        .join(User, User.id == Lesson.tutor_id)
        .where(
            Lesson.status == LessonStatus.SCHEDULED,
            Lesson.ends_at > now - MISSING_WITHIN,
            over_at <= now,
            ~exists().where(LessonReport.lesson_id == Lesson.id),
            exists().where(
                and_(Booking.lesson_id == Lesson.id, Booking.status == BookingStatus.CONFIRMED)
            ),
        )
        .order_by(over_at, Lesson.id)
    )
    if tutor is not None:
        query = query.where(Lesson.tutor_id == tutor.id)
    rows = await db.execute(query)
    return [Missing(*row) for row in rows.all()]


async def entry_of(db: AsyncSession, lesson_id: int, student_id: int) -> LessonReportEntry | None:
    return await db.scalar(
        select(LessonReportEntry).where(
            LessonReportEntry.lesson_id == lesson_id, LessonReportEntry.student_id == student_id
        )
    )
