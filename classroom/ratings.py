"""Students' ratings of the classes they attended: 1 to 5 and a comment, once each, after
the class is over; and the average per lecturer over a period, for the school's reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.accounts import require_role
from classroom.attendance import attendees
from classroom.class_reports import is_over
from classroom.errors import Conflict, NotFound, PermissionDenied, TooLate
from classroom.models import Lesson, LessonRating, Role, User


@dataclass(frozen=True)
class Rating:
    lesson_id: int
    student_id: int
    stars: int
    comment: str
    at: datetime


def _rating(row: LessonRating) -> Rating:
    return Rating(row.lesson_id, row.student_id, row.stars, row.comment, row.created_at)


async def may_rate(db: AsyncSession, student: User, lesson: Lesson, now: datetime) -> bool:
    """Whether ``student`` may rate ``lesson`` now: it is over, they attended it (present,
    late or left early), and they have not rated it yet."""
    if student.role != Role.STUDENT or not is_over(lesson, now):
        return False
    if student.id not in {uid for uid, _ in await attendees(db, lesson.id)}:
        return False
    return await of_student(db, lesson.id, student.id) is None


async def rate(
    db: AsyncSession, student: User, lesson_id: int, stars: int, comment: str, now: datetime
) -> Rating:
    """Keep ``student``'s rating of a class they attended; a second one is refused."""
    require_role(student, Role.STUDENT)
    # The class's row lock: the same rating sent twice at once is kept once, the other
    # refused below (and the unique key would refuse it anyway).
    lesson = await db.get(Lesson, lesson_id, with_for_update=True)
    if lesson is None:
        raise NotFound("No such class.")
    if not is_over(lesson, now):
        raise TooLate("You can rate the class once it is over.")
    if student.id not in {uid for uid, _ in await attendees(db, lesson_id)}:
        raise PermissionDenied("Only students who attended this class can rate it.")
    if await of_student(db, lesson_id, student.id) is not None:
        raise Conflict("You have already rated this class.")
    row = LessonRating(
        lesson_id=lesson_id,
        student_id=student.id,
        tutor_id=lesson.tutor_id,
        stars=stars,
        comment=comment,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    return _rating(row)


async def of_student(db: AsyncSession, lesson_id: int, student_id: int) -> Rating | None:
    row = await db.scalar(
        select(LessonRating).where(
            LessonRating.lesson_id == lesson_id, LessonRating.student_id == student_id
        )
    )
    return _rating(row) if row else None


@dataclass(frozen=True)
class TutorRating:
    tutor_id: int
    name: str
    average: float
    count: int


async def by_tutor(
    db: AsyncSession, actor: User, since: datetime, until: datetime
) -> list[TutorRating]:
    """The average rating of each lecturer, over the classes that started in [since,
    until): coordinators only; the best rated first."""
    require_role(actor, Role.COORDINATOR)
    rows = await db.execute(
        select(User.id, User.name, func.avg(LessonRating.stars), func.count(LessonRating.id))
        .join(LessonRating, LessonRating.tutor_id == User.id)
        .join(Lesson, Lesson.id == LessonRating.lesson_id)
        .where(Lesson.starts_at >= since, Lesson.starts_at < until)
        .group_by(User.id, User.name)
    )
    found = [TutorRating(t, name, round(float(avg), 2), int(n)) for t, name, avg, n in rows]
    return sorted(found, key=lambda r: (-r.average, -r.count, r.name, r.tutor_id))


@dataclass(frozen=True)
class Comment:
    """A student's comment on a class, as a lecturer's reports show it (without who wrote it)."""

    tutor_id: int
    lesson_id: int
    topic: str
    stars: int
    comment: str
    at: datetime


async def recent_comments(
    db: AsyncSession, since: datetime, until: datetime, tutor_id: int | None = None, each: int = 3
) -> dict[int, list[Comment]]:
    """The newest ``each`` comments (not empty) on each lecturer's classes that started in
    [since, until), by lecturer; ``tutor_id``: theirs only. The caller checks who may see."""
    query = (
        select(LessonRating, Lesson.topic)
        .join(Lesson, Lesson.id == LessonRating.lesson_id)
        .where(
            Lesson.starts_at >= since,
            Lesson.starts_at < until,
            LessonRating.tutor_id.is_not(None),
            LessonRating.comment != "",
        )
        .order_by(LessonRating.created_at.desc(), LessonRating.id.desc())
    )
    if tutor_id is not None:
        query = query.where(LessonRating.tutor_id == tutor_id)
    found: dict[int, list[Comment]] = {}
    for row, topic in await db.execute(query):
        tutor = int(row.tutor_id or 0)  # never 0: the query keeps rated lecturers only
        kept = found.setdefault(tutor, [])
        if len(kept) < each:
            kept.append(
                Comment(tutor, row.lesson_id, topic, row.stars, row.comment, row.created_at)
            )
    return found


async def average_of(
    db: AsyncSession, tutor_id: int, since: datetime, until: datetime
) -> tuple[float | None, int]:
    """One lecturer's average rating and how many ratings, over the classes that started in
    [since, until) (None: no rating). The caller checks who may see it."""
    avg, count = (
        await db.execute(
            select(func.avg(LessonRating.stars), func.count(LessonRating.id))
            .join(Lesson, Lesson.id == LessonRating.lesson_id)
            .where(
                LessonRating.tutor_id == tutor_id,
                Lesson.starts_at >= since,
                Lesson.starts_at < until,
            )
        )
    ).one()
    return (round(float(avg), 2) if avg is not None else None), int(count)
