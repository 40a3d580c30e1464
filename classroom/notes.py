"""The tutor's notes during a live class: a correction ("I go to home" -> "I go home"), a
word or phrase to learn, or a pronunciation point, for one student or for everyone.

Only the class's own tutor writes them, and only while the class can be joined (its join
window, not ended, not cancelled): the same rule as admission (classroom/live.py), checked
again here in the transaction that stores the note. A student reads their own notes and the
shared ones, never another student's; the tutor and coordinators read them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.errors import N_, InvalidInput, NotFound, PermissionDenied
from classroom.live import JoinWindow, check_window
from classroom.models import Booking, BookingStatus, Lesson, LessonNote, NoteKind


@dataclass(frozen=True)
class Note:
    id: int
    lesson_id: int
    student_id: int | None  # None: for everyone
    kind: NoteKind
    text: str  # for a correction: what was said
    better: str | None  # for a correction: a better way to say it
    at: datetime


def _note(row: LessonNote) -> Note:
    return Note(
        row.id, row.lesson_id, row.student_id, row.kind, row.text, row.better, row.created_at
    )


def _shape(kind: NoteKind, better: str | None) -> None:
    if kind == NoteKind.CORRECTION and not better:
        raise InvalidInput(
            "Please correct the marked fields.",
            {"better": N_("Please write the better way to say it")},
        )
    if kind != NoteKind.CORRECTION and better:
        raise InvalidInput(
            "Please correct the marked fields.",
            {"better": N_("Only a correction has a better way to say it")},
        )


async def _writable(
    db: AsyncSession, lesson_id: int, author_id: int, now: datetime, window: JoinWindow
) -> Lesson:
    lesson = await db.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound("No such class.")
    if lesson.tutor_id != author_id:
        raise PermissionDenied("Only the tutor of this class can write notes.")
    check_window(lesson, now, window)
    return lesson


async def is_booked(db: AsyncSession, lesson_id: int, student_id: int) -> bool:
    found = await db.scalar(
        select(Booking.id).where(
            Booking.lesson_id == lesson_id,
            Booking.student_id == student_id,
            Booking.status == BookingStatus.CONFIRMED,
        )
    )
    return found is not None


async def add(
    db: AsyncSession,
    lesson_id: int,
    author_id: int,
    *,
    kind: NoteKind,
    student_id: int | None,
    text: str,
    better: str | None,
    now: datetime,
    window: JoinWindow,
) -> Note:
    """Store a note of the class's tutor, for ``student_id`` (a booked student) or for
    everyone (None)."""
    await _writable(db, lesson_id, author_id, now, window)
    _shape(kind, better)
    if student_id is not None and not await is_booked(db, lesson_id, student_id):
        raise NotFound("That student is not in this class.")
    row = LessonNote(
        lesson_id=lesson_id,
        author_id=author_id,
        student_id=student_id,
        kind=kind,
        text=text,
        better=better or None,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    return _note(row)


async def _own(db: AsyncSession, lesson_id: int, author_id: int, note_id: int) -> LessonNote:
    row = await db.scalar(
        select(LessonNote)
        .where(
            LessonNote.id == note_id,
            LessonNote.lesson_id == lesson_id,
            LessonNote.author_id == author_id,
        )
        .with_for_update()
    )
    if row is None:
        raise NotFound("No such note.")
    return row


async def edit(
    db: AsyncSession,
    lesson_id: int,
    author_id: int,
    note_id: int,
    *,
    text: str,
    better: str | None,
    now: datetime,
    window: JoinWindow,
) -> Note:
    """Change the words of one of the tutor's own notes of this class (its kind and whom it
    is for stay)."""
    await _writable(db, lesson_id, author_id, now, window)
    row = await _own(db, lesson_id, author_id, note_id)
    _shape(row.kind, better)
    row.text, row.better, row.edited_at = text, better or None, now
    await db.flush()
    return _note(row)


async def delete(
    db: AsyncSession,
    lesson_id: int,
    author_id: int,
    note_id: int,
    *,
    now: datetime,
    window: JoinWindow,
) -> Note:
    """Delete one of the tutor's own notes of this class; the note as it was."""
    await _writable(db, lesson_id, author_id, now, window)
    row = await _own(db, lesson_id, author_id, note_id)
    note = _note(row)
    await db.delete(row)
    await db.flush()
    return note


async def of_class(db: AsyncSession, lesson_id: int, student_id: int | None = None) -> list[Note]:
    """A class's notes, oldest first: all of them, or what ``student_id`` may read (their
    own and the shared ones)."""
    query = select(LessonNote).where(LessonNote.lesson_id == lesson_id)
    if student_id is not None:
        query = query.where(
            or_(LessonNote.student_id == student_id, LessonNote.student_id.is_(None))
        )
    rows = await db.scalars(query.order_by(LessonNote.created_at, LessonNote.id))
    return [_note(row) for row in rows]
