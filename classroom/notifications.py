"""Messages to people: in the app always, and by e-mail (classroom/outbox.py) for those who
chose e-mail for that kind of message."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import outbox
from classroom.models import Lesson, Message, User


async def notify(
    db: AsyncSession,
    user_ids: Iterable[int],
    kind: str,
    lesson: Lesson,
    now: datetime,
    **params: Any,
) -> None:
    """Tell each user ``kind`` about ``lesson``: a message in the app, and an e-mail."""
    await notify_lessons(db, user_ids, kind, [lesson], now, **params)


async def notify_lessons(
    db: AsyncSession,
    user_ids: Iterable[int],
    kind: str,
    lessons: list[Lesson],
    now: datetime,
    stale_at: datetime | None = None,
    **params: Any,
) -> None:
    """Tell each user ``kind`` about several classes that one action changed (a series
    given to a tutor): a message in the app per class, and one e-mail listing them all."""
    ids = list(dict.fromkeys(user_ids))
    for lesson in lessons:
        base = {"topic": lesson.topic, "starts_at": lesson.starts_at.isoformat(), **params}
        db.add_all(
            Message(user_id=uid, lesson_id=lesson.id, kind=kind, params=base, created_at=now)
            for uid in ids
        )
    await db.flush()
    await outbox.enqueue_lessons(db, ids, kind, lessons, now, stale_at)


async def inbox(db: AsyncSession, user: User, limit: int = 50) -> list[Message]:
    query = (
        select(Message)
        .where(Message.user_id == user.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return list((await db.scalars(query)).all())


async def unread_count(db: AsyncSession, user: User) -> int:
    query = select(func.count()).where(Message.user_id == user.id, Message.read_at.is_(None))
    return int(await db.scalar(query) or 0)


async def mark_all_read(db: AsyncSession, user: User, now: datetime) -> None:
    await db.execute(
        update(Message)
        .where(Message.user_id == user.id, Message.read_at.is_(None))
        .values(read_at=now)
    )
