"""What a student takes away from their classes over a period: the CEFR levels their tutors
estimated in filed class reports (level over time), and the notes to review (corrections,
words, pronunciation: their own and the shared ones of the classes they came to).

The caller checks who may see a student's progress (classroom/progress.py ``person``); a
tutor who looks sees only what came from the classes they taught (``tutor_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.models import (
    AttendanceRecord,
    AttendanceStatus,
    Lesson,
    LessonNote,
    LessonReport,
    LessonReportEntry,
    Level,
    NoteKind,
    User,
)

CAME = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)
NOTES_SHOWN = 30  # the newest; older ones stay in each class's recap


@dataclass(frozen=True)
class LevelPoint:
    lesson_id: int
    topic: str
    starts_at: datetime
    level: Level
    tutor_name: str


@dataclass(frozen=True)
class ReviewNote:
    id: int
    lesson_id: int
    topic: str
    starts_at: datetime
    kind: NoteKind
    text: str
    better: str | None
    shared: bool  # for the whole class


def _period(since: datetime, until: datetime, tutor_id: int | None) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [Lesson.starts_at >= since, Lesson.starts_at < until]
    if tutor_id is not None:
        found.append(Lesson.tutor_id == tutor_id)
    return found


async def levels(
    db: AsyncSession, student_id: int, since: datetime, until: datetime, tutor_id: int | None = None
) -> list[LevelPoint]:
    """The levels estimated for the student in filed reports of classes that started in
    [since, until), oldest first (entries without a level are left out)."""
    rows = await db.execute(
        select(Lesson, LessonReportEntry.level, User.name)
        .join(LessonReportEntry, LessonReportEntry.lesson_id == Lesson.id)
        .join(LessonReport, LessonReport.lesson_id == Lesson.id)
        .outerjoin(User, User.id == LessonReport.tutor_id)
        .where(
            LessonReportEntry.student_id == student_id,
            LessonReportEntry.level.is_not(None),
            *_period(since, until, tutor_id),
        )
        .order_by(Lesson.starts_at, Lesson.id)
    )
    return [
        LevelPoint(lesson.id, lesson.topic, lesson.starts_at, Level(str(level)), name or "")
        for lesson, level, name in rows
    ]


async def notes(
    db: AsyncSession,
    student_id: int,
    since: datetime,
    until: datetime,
    tutor_id: int | None = None,
    limit: int = NOTES_SHOWN,
) -> list[ReviewNote]:
    """The student's notes and the shared notes of the classes they came to, of classes
    that started in [since, until), newest first, at most ``limit``."""
    came = select(AttendanceRecord.lesson_id).where(
        AttendanceRecord.user_id == student_id, AttendanceRecord.status.in_(CAME)
    )
    rows = await db.execute(
        select(LessonNote, Lesson.topic, Lesson.starts_at)
        .join(Lesson, Lesson.id == LessonNote.lesson_id)
        .where(
            or_(
                LessonNote.student_id == student_id,
                and_(LessonNote.student_id.is_(None), LessonNote.lesson_id.in_(came)),
            ),
            *_period(since, until, tutor_id),
        )
        .order_by(Lesson.starts_at.desc(), LessonNote.created_at.desc(), LessonNote.id.desc())
        .limit(limit)
    )
    return [
        ReviewNote(n.id, n.lesson_id, topic, starts, n.kind, n.text, n.better, n.student_id is None)
        for n, topic, starts in rows
    ]
