"""What of a live room outlives its process: raised hands in order, the tutor's blocks, the
spotlight, the lock, who was in the room, and whether the tutor ended the class.

A class lives in one process, its home. The home writes this small document after each change
that alters it (signaling/keeper.py); the next home, after a failover or a restart, reads it
when it opens the room (signaling/room.py ``Room.restored``). The rest of a room (connections,
who is speaking, media) comes back with the people who reconnect; chat and attendance have
tables of their own. That the class ended is ``lessons.ended_at``, which admission reads, so
an ended class refuses joins on every process.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.models import Lesson, LiveRoomState

log = logging.getLogger(__name__)


class Blocks(BaseModel):
    """What the tutor turned off for a student, until they allow it again."""

    model_config = ConfigDict(frozen=True)

    mic: bool = False
    cam: bool = False


class KeptRoom(BaseModel):
    model_config = ConfigDict(frozen=True)

    hands: tuple[int, ...] = ()  # raised hands, the first raised first
    restrictions: dict[int, Blocks] = {}  # by user id, present or not
    spotlight: int | None = None
    locked: bool = False
    # Who was in the room: after a failover they come back, and a lock keeps out only others.
    present: tuple[int, ...] = ()
    ended: bool = False  # stored as lessons.ended_at, not in the document


async def load(db: AsyncSession, lesson_id: int) -> KeptRoom:
    """What the class kept; nothing (an empty room) when it has never been live."""
    query = (
        select(Lesson.ended_at, LiveRoomState.state)
        .outerjoin(LiveRoomState, LiveRoomState.lesson_id == Lesson.id)
        .where(Lesson.id == lesson_id)
    )
    row = (await db.execute(query)).one_or_none()
    if row is None:
        return KeptRoom()
    ended_at, state = row
    try:
        kept = KeptRoom.model_validate(state or {})
    except ValidationError:
        # A document this version cannot read must not keep the class closed: start afresh.
        log.exception("class %s: the kept room state cannot be read", lesson_id)
        kept = KeptRoom()
    return kept.model_copy(update={"ended": ended_at is not None})


async def save(db: AsyncSession, lesson_id: int, kept: KeptRoom, now: datetime) -> int:
    """Replace the class's kept state with ``kept`` and return how many times it has been
    written; the class's row lock serialises writers (one home writes, but a home that has
    just lost its lease may still be finishing)."""
    lesson = await db.get(Lesson, lesson_id, with_for_update=True)
    if lesson is None:
        return 0
    if kept.ended and lesson.ended_at is None:
        lesson.ended_at = now
    document = kept.model_dump(mode="json", exclude={"ended"})
    row = await db.get(LiveRoomState, lesson_id)
    if row is None:
        row = LiveRoomState(lesson_id=lesson_id, state=document, version=1, updated_at=now)
        db.add(row)
    else:
        row.state, row.updated_at = document, now
        row.version += 1
    await db.flush()
    return row.version
