"""The speaking balance of classes over a period, from the figures each class kept
(classroom/speaking.py): class by class (the tutor's share of all speaking time, the students'
minutes and turns), and averaged per tutor and per level, for the school's report and a
tutor's view of their own teaching.

A class counts once somebody's speaking was measured in it; an average of tutor shares is
over the classes where anybody spoke (a class that kept only silence has no share).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import speaking
from classroom.accounts import require_role
from classroom.models import Lesson, Level, Role, User


@dataclass(frozen=True)
class ClassBalance:
    """One class: who taught it (the tutor who spoke, else the one assigned), and how the
    speaking time went between them and the students."""

    lesson_id: int
    topic: str
    starts_at: datetime
    level: Level
    tutor_id: int | None
    tutor_name: str
    tutor_seconds: float
    student_seconds: float
    students: int  # students measured
    turns: int  # the students' turns

    @property
    def tutor_share(self) -> float | None:
        spoken = self.tutor_seconds + self.student_seconds
        return self.tutor_seconds / spoken if spoken > 0 else None

    @property
    def student_minutes(self) -> float:
        return self.student_seconds / 60


@dataclass(frozen=True)
class Average:
    """Classes grouped by tutor or by level: ``key`` is the tutor's id or the level."""

    key: int | str
    name: str
    classes: int
    tutor_share: float | None  # the mean of the classes' shares (None: nobody spoke)
    student_minutes: float
    turns: int


@dataclass(frozen=True)
class SpeakingBalance:
    classes: list[ClassBalance]  # oldest first
    tutors: list[Average]  # by name
    levels: list[Average]  # A1 to C2


def by_class(
    trends: Iterable[speaking.Trend], lessons: dict[int, tuple[Level, str]]
) -> list[ClassBalance]:
    """Each class of ``trends`` (the figures of everyone in it), in the trends' order;
    ``lessons``: each class's level and its assigned tutor's name."""
    found: dict[int, ClassBalance] = {}
    for t in trends:
        level, assigned = lessons[t.lesson_id]
        known = found.get(t.lesson_id)
        if known is None:
            known = ClassBalance(
                t.lesson_id, t.topic, t.starts_at, level, t.tutor_id, assigned,
                t.class_tutor_seconds, t.class_student_seconds, t.students, 0,
            )  # fmt: skip
        if t.role == "tutor":
            known = replace(known, tutor_id=t.user_id, tutor_name=t.name)
        else:
            known = replace(known, turns=known.turns + t.turns)
        found[t.lesson_id] = known
    return list(found.values())


def averages(
    classes: list[ClassBalance], key: Callable[[ClassBalance], tuple[int | str, str]]
) -> list[Average]:
    """The classes grouped by ``key`` (an id and a name), in the order keys first appear."""
    groups: dict[int | str, list[ClassBalance]] = {}
    names: dict[int | str, str] = {}
    for line in classes:
        k, name = key(line)
        groups.setdefault(k, []).append(line)
        names[k] = name
    found = []
    for k, lines in groups.items():
        shares = [s for s in (x.tutor_share for x in lines) if s is not None]
        found.append(
            Average(k, names[k], len(lines), sum(shares) / len(shares) if shares else None,
                    sum(x.student_minutes for x in lines), sum(x.turns for x in lines))
        )  # fmt: skip
    return found


async def classes(
    db: AsyncSession, since: datetime, until: datetime, tutor_id: int | None = None
) -> list[ClassBalance]:
    """The classes that started in [since, until) with speaking measured, oldest first
    (``tutor_id``: only the classes they taught). The caller checks who may see them."""
    trends = await speaking.totals(db, since, until, tutor_id=tutor_id)
    ids = {t.lesson_id for t in trends}
    rows = await db.execute(
        select(Lesson.id, Lesson.level, User.name)
        .outerjoin(User, User.id == Lesson.tutor_id)
        .where(Lesson.id.in_(ids))
    )
    return by_class(trends, {i: (level, name or "") for i, level, name in rows})


async def school(
    db: AsyncSession, actor: User, since: datetime, until: datetime
) -> SpeakingBalance:
    """The speaking balance of the classes that started in [since, until): coordinators."""
    require_role(actor, Role.COORDINATOR)
    found = await classes(db, since, until)
    tutors = averages([x for x in found if x.tutor_id is not None],
                      lambda x: (x.tutor_id or 0, x.tutor_name))  # fmt: skip
    levels = averages(sorted(found, key=lambda x: list(Level).index(x.level)),
                      lambda x: (x.level.value, x.level.value))  # fmt: skip
    return SpeakingBalance(found, sorted(tutors, key=lambda a: (a.name, a.key)), levels)
