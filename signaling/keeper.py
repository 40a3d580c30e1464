"""Writing what live rooms keep without ever holding up a class: the room's state
(classroom/room_state.py) and everyone's speaking times (classroom/speaking.py).

The namespace hands over a room's kept state after each change that altered it, and its
speaking figures every half minute and when the room closes. For each kind, one writer task
per class writes the newest value it was handed, then the next newest if one came in
meanwhile: writes never reorder, and a burst of changes costs a write or two, not one each.
The class never waits for the database: when it cannot be reached the write is logged and
dropped, and the next hand-over writes the whole value again (each is whole: a state, or
totals, never a difference).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import room_state, speaking
from classroom.db import transaction
from classroom.errors import Unavailable
from classroom.room_state import KeptRoom
from classroom.speaking import Spoken

log = logging.getLogger(__name__)
T = TypeVar("T")
Save = Callable[[AsyncSession, int, T, datetime], Awaitable[object]]


class Newest(Generic[T]):
    """One writer task per class, writing the newest value handed over."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        save: Save[T],
        what: str,
    ) -> None:
        self._maker = maker
        self._clock = clock
        self._save_in = save
        self._what = what
        self._newest: dict[int, T] = {}  # handed over, not yet being written
        self._writers: dict[int, asyncio.Task[None]] = {}
        self._closed = False

    def keep(self, lesson_id: int, value: T) -> None:
        """Write ``value`` soon, after any write of this class under way."""
        if self._closed:
            return
        self._newest[lesson_id] = value
        if lesson_id not in self._writers:
            task = asyncio.get_running_loop().create_task(self._write(lesson_id))
            self._writers[lesson_id] = task

    async def settled(self, lesson_id: int | None = None) -> None:
        """Until the values handed over so far (of one class, or of all) are written."""
        writing = [t for at, t in self._writers.items() if lesson_id in (None, at)]
        if writing:
            await asyncio.wait(writing)

    async def close(self) -> None:
        self._closed = True
        await self.settled()

    async def _write(self, lesson_id: int) -> None:
        try:
            while (value := self._newest.pop(lesson_id, None)) is not None:
                await self._save(lesson_id, value)
        finally:
            del self._writers[lesson_id]

    async def _save(self, lesson_id: int, value: T) -> None:
        try:
            async with transaction(self._maker) as db:
                version = await self._save_in(db, lesson_id, value, self._clock())
        except Unavailable:
            log.warning("class %s: %s not saved (database unreachable)", lesson_id, self._what)
        except Exception:
            log.exception("class %s: %s not saved", lesson_id, self._what)
        else:
            suffix = f" (version {version})" if version is not None else ""
            log.info("class %s: %s kept%s", lesson_id, self._what, suffix)


class Keeper:
    def __init__(
        self, maker: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self._maker = maker
        self._rooms: Newest[KeptRoom] = Newest(maker, clock, room_state.save, "room state")
        self._speaking: Newest[Sequence[Spoken]] = Newest(
            maker, clock, speaking.save, "speaking times"
        )

    def keep(self, lesson_id: int, kept: KeptRoom) -> None:
        """Write the room's ``kept`` state soon, after any write of it under way."""
        self._rooms.keep(lesson_id, kept)

    def keep_speaking(self, lesson_id: int, spoken: Sequence[Spoken]) -> None:
        """Write everyone's speaking totals soon (kept as the larger of old and new)."""
        self._speaking.keep(lesson_id, spoken)

    async def load(self, lesson_id: int) -> tuple[KeptRoom, tuple[Spoken, ...]]:
        """What the class kept, once this process's own writes of it are done (a room that
        emptied here and opens again): its state, and the speaking totals so far."""
        await self.settled(lesson_id)
        async with transaction(self._maker) as db:
            return await room_state.load(db, lesson_id), await speaking.load(db, lesson_id)

    async def settled(self, lesson_id: int | None = None) -> None:
        """Until the values handed over so far (of one class, or of all) are written."""
        await self._rooms.settled(lesson_id)
        await self._speaking.settled(lesson_id)

    async def close(self) -> None:
        """Finish the writes under way and take no more (shutdown: the sockets that close
        next are the process going away, not people leaving the class)."""
        await self._rooms.close()
        await self._speaking.close()
