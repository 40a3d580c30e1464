"""How much each person spoke in each live class: kept during the class, read after it.

The live room measures it (signaling/speaking.py, from the RFC 6464 audio levels the SFU
reads) and its home writes everyone's totals every half minute and when the room closes
(signaling/keeper.py). A write is an upsert of totals that keeps the larger of the stored and
the written figure: writing the same figures twice changes nothing, a new home after a
failover continues from what was kept (``load``), and a home that has just lost its lease
cannot take back what the new one wrote.

Read: ``for_lesson`` (a class's figures: tutor against students, each student's share of the
students' time against a fair share), ``of_class`` (the same, as a given person may see it)
and ``totals`` (per class and person over a period: the trends per student and per tutor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.errors import NotFound
from classroom.models import Booking, BookingStatus, Lesson, Role, SpeakingTime, User


@dataclass(frozen=True)
class Spoken:
    """One person's totals in one class, as the live room measured them so far."""

    user_id: int
    tutor: bool
    seconds: float
    turns: int
    longest_silence: float = 0.0


async def save(db: AsyncSession, lesson_id: int, spoken: Sequence[Spoken], now: datetime) -> None:
    """Keep these totals: each figure becomes the larger of the stored and the given one."""
    if not spoken:
        return
    rows = [
        {
            "lesson_id": lesson_id,
            "user_id": s.user_id,
            "role": "tutor" if s.tutor else "student",
            "seconds": max(0.0, s.seconds),
            "turns": max(0, s.turns),
            "longest_silence": max(0.0, s.longest_silence),
            "updated_at": now,
        }
        for s in spoken
    ]
    postgres = db.get_bind().dialect.name == "postgresql"
    insert = (postgresql.insert if postgres else sqlite.insert)(SpeakingTime).values(rows)
    larger = func.greatest if postgres else func.max  # SQLite's max(a, b) is a scalar
    await db.execute(
        insert.on_conflict_do_update(
            index_elements=["lesson_id", "user_id"],
            set_={
                "role": insert.excluded.role,
                "seconds": larger(SpeakingTime.seconds, insert.excluded.seconds),
                "turns": larger(SpeakingTime.turns, insert.excluded.turns),
                "longest_silence": larger(
                    SpeakingTime.longest_silence, insert.excluded.longest_silence
                ),
                "updated_at": insert.excluded.updated_at,
            },
        )
    )


async def load(db: AsyncSession, lesson_id: int) -> tuple[Spoken, ...]:
    """What the class kept so far (a new home continues from it)."""
    rows = await db.scalars(select(SpeakingTime).where(SpeakingTime.lesson_id == lesson_id))
    return tuple(
        Spoken(r.user_id, r.role == "tutor", r.seconds, r.turns, r.longest_silence) for r in rows
    )


@dataclass(frozen=True)
class Line:
    """One person in a class. ``share``: a student's part of the students' speaking time
    (0 to 1), the tutor's part of all speaking time; ``fair_share``: 1 / the students who
    came, for students (None for the tutor)."""

    user_id: int
    name: str
    role: str
    seconds: float
    turns: int
    longest_silence: float
    share: float
    fair_share: float | None


@dataclass(frozen=True)
class ClassSpeaking:
    lesson_id: int
    tutor_seconds: float | None  # None where the viewer may see only their own line
    student_seconds: float | None
    lines: tuple[Line, ...]  # the tutor first, then students by name

    @property
    def tutor_share(self) -> float | None:
        """The tutor's part of all speaking time (None if nobody spoke or not shown)."""
        if self.tutor_seconds is None or self.student_seconds is None:
            return None
        spoken = self.tutor_seconds + self.student_seconds
        return self.tutor_seconds / spoken if spoken else None


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 0.0


async def for_lesson(db: AsyncSession, lesson_id: int) -> ClassSpeaking:
    """A class's speaking figures (no permission check: see ``of_class``)."""
    rows = (
        await db.execute(
            select(SpeakingTime, User.name)
            .join(User, User.id == SpeakingTime.user_id)
            .where(SpeakingTime.lesson_id == lesson_id)
            .order_by(SpeakingTime.role.desc(), User.name, User.id)
        )
    ).all()
    tutor = sum(r.seconds for r, _ in rows if r.role == "tutor")
    students = sum(r.seconds for r, _ in rows if r.role != "tutor")
    count = sum(r.role != "tutor" for r, _ in rows)
    lines = tuple(
        Line(
            user_id=r.user_id,
            name=name,
            role=r.role,
            seconds=r.seconds,
            turns=r.turns,
            longest_silence=r.longest_silence,
            share=_share(r.seconds, tutor + students if r.role == "tutor" else students),
            fair_share=None if r.role == "tutor" else 1 / count,
        )
        for r, name in rows
    )
    return ClassSpeaking(lesson_id, tutor, students, lines)


async def of_class(db: AsyncSession, actor: User, lesson_id: int) -> ClassSpeaking:
    """A class's figures as ``actor`` may see them: whole for coordinators and the class's
    tutor; a student who booked it sees only their own line (never another student's
    figures, nor the class's totals)."""
    lesson = await db.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound("No such class.")
    figures = await for_lesson(db, lesson_id)
    if actor.role == Role.COORDINATOR or lesson.tutor_id == actor.id:
        return figures
    mine = tuple(line for line in figures.lines if line.user_id == actor.id)
    booked = await db.scalar(
        select(Booking.id).where(
            Booking.lesson_id == lesson_id,
            Booking.student_id == actor.id,
            Booking.status == BookingStatus.CONFIRMED,
        )
    )
    if actor.role != Role.STUDENT or not (mine or booked):
        raise NotFound("No such class.")
    return ClassSpeaking(lesson_id, None, None, mine)


@dataclass(frozen=True)
class Trend:
    """One person in one class, with the class's totals beside: a point of a trend."""

    lesson_id: int
    starts_at: datetime
    topic: str
    tutor_id: int | None
    user_id: int
    name: str
    role: str
    seconds: float
    turns: int
    class_tutor_seconds: float
    class_student_seconds: float
    students: int  # who came and were measured

    @property
    def share(self) -> float:
        """As ``Line.share``: of the students' time for a student, of all for the tutor."""
        if self.role == "tutor":
            return _share(self.seconds, self.class_tutor_seconds + self.class_student_seconds)
        return _share(self.seconds, self.class_student_seconds)

    @property
    def fair_share(self) -> float | None:
        return None if self.role == "tutor" or not self.students else 1 / self.students


async def totals(
    db: AsyncSession,
    since: datetime,
    until: datetime,
    *,
    user_id: int | None = None,
    role: str | None = None,
    tutor_id: int | None = None,
) -> list[Trend]:
    """Each person's figures in each class that started in [since, until), oldest first,
    with the class's totals: ``user_id`` and ``role`` ("student" or "tutor") choose whose
    (a student's trend: their id and "student"; a tutor's own speaking: their id and
    "tutor"); ``tutor_id`` keeps the classes a tutor taught (their students' trend). For
    reports; the caller checks who may see them."""
    per_class = (
        select(
            SpeakingTime.lesson_id.label("lesson_id"),
            func.sum(SpeakingTime.seconds).filter(SpeakingTime.role == "tutor").label("tutor"),
            func.sum(SpeakingTime.seconds).filter(SpeakingTime.role != "tutor").label("students"),
            func.count().filter(SpeakingTime.role != "tutor").label("count"),
        )
        .group_by(SpeakingTime.lesson_id)
        .subquery()
    )
    conditions = [Lesson.starts_at >= since, Lesson.starts_at < until]
    if user_id is not None:
        conditions.append(SpeakingTime.user_id == user_id)
    if role is not None:
        conditions.append(SpeakingTime.role == role)
    if tutor_id is not None:
        conditions.append(Lesson.tutor_id == tutor_id)
    rows = await db.execute(
        select(
            SpeakingTime,
            User.name,
            Lesson,
            per_class.c.tutor,
            per_class.c.students,
            per_class.c.count,
        )
        .join(User, User.id == SpeakingTime.user_id)
        .join(Lesson, Lesson.id == SpeakingTime.lesson_id)
        .join(per_class, per_class.c.lesson_id == SpeakingTime.lesson_id)
        .where(and_(*conditions))
        .order_by(Lesson.starts_at, Lesson.id, SpeakingTime.role.desc(), User.name, User.id)
    )
    return [
        Trend(
            lesson_id=lesson.id,
            starts_at=lesson.starts_at,
            topic=lesson.topic,
            tutor_id=lesson.tutor_id,
            user_id=r.user_id,
            name=name,
            role=r.role,
            seconds=r.seconds,
            turns=r.turns,
            class_tutor_seconds=float(tutor or 0),
            class_student_seconds=float(students or 0),
            students=int(count or 0),
        )
        for r, name, lesson, tutor, students, count in rows
    ]
