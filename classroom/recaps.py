"""Each student's recap of a class that is over: their own notes, the class's shared notes,
the tutor's feedback (once the report is filed), their speaking time, and their rating.

Only the student themself, the class's tutor and coordinators may read a recap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import ratings, speaking
from classroom.class_reports import entry_of, is_over
from classroom.errors import NotFound, TooLate
from classroom.models import Lesson, LessonReport, Level, Role, User
from classroom.notes import Note, is_booked, of_class


@dataclass(frozen=True)
class Speaking:
    """A student's speaking time in a class (built by classroom/speaking.py)."""

    seconds: int
    share: float | None = None  # of the students' speaking time, 0..1


@dataclass(frozen=True)
class Feedback:
    level: Level | None
    comment: str
    summary: str  # the tutor's summary of the class
    filed_at: datetime


@dataclass(frozen=True)
class Recap:
    lesson: Lesson
    tutor_name: str | None
    student_id: int
    student_name: str
    mine: list[Note]
    shared: list[Note]
    feedback: Feedback | None  # None until the tutor files the report
    speaking: Speaking | None
    rating: ratings.Rating | None
    may_rate: bool  # the reader is this student and may rate the class now


async def recap(
    db: AsyncSession,
    actor: User,
    lesson_id: int,
    student_id: int,
    now: datetime,
) -> Recap:
    """``student_id``'s recap of a class that is over, for the student, its tutor or a
    coordinator."""
    lesson = await db.get(Lesson, lesson_id)
    allowed = lesson is not None and (
        actor.id == student_id or actor.role == Role.COORDINATOR or lesson.tutor_id == actor.id
    )
    if lesson is None or not allowed or not await is_booked(db, lesson_id, student_id):
        raise NotFound("No such recap.")
    if not is_over(lesson, now):
        raise TooLate("The recap is ready once the class is over.")
    names = dict(
        (await db.execute(select(User.id, User.name).where(
            User.id.in_([student_id, lesson.tutor_id or 0])
        ))).all()
    )  # fmt: skip
    notes = await of_class(db, lesson_id, student_id)
    return Recap(
        lesson=lesson,
        tutor_name=names.get(lesson.tutor_id or 0),
        student_id=student_id,
        student_name=names.get(student_id, ""),
        mine=[n for n in notes if n.student_id == student_id],
        shared=[n for n in notes if n.student_id is None],
        feedback=await _feedback(db, lesson_id, student_id),
        speaking=await speaking_of(db, lesson_id, student_id),
        # A student's rating of the class is theirs and the school's: the tutor it rates
        # never reads it by name (students would not rate honestly).
        rating=await ratings.of_student(db, lesson_id, student_id)
        if actor.id == student_id or actor.role == Role.COORDINATOR
        else None,
        may_rate=actor.id == student_id and await ratings.may_rate(db, actor, lesson, now),
    )


async def speaking_of(db: AsyncSession, lesson_id: int, student_id: int) -> Speaking | None:
    """The student's speaking time in the class, when it was measured (None: not shown)."""
    figures = await speaking.for_lesson(db, lesson_id)
    line = next((line for line in figures.lines if line.user_id == student_id), None)
    if line is None:
        return None
    return Speaking(
        seconds=round(line.seconds), share=line.share if figures.student_seconds else None
    )


async def _feedback(db: AsyncSession, lesson_id: int, student_id: int) -> Feedback | None:
    report = await db.get(LessonReport, lesson_id)
    if report is None:
        return None
    entry = await entry_of(db, lesson_id, student_id)
    return Feedback(
        level=entry.level if entry else None,
        comment=entry.comment if entry else "",
        summary=report.summary,
        filed_at=report.filed_at,
    )
