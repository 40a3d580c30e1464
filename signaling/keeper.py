"""Writing what live rooms keep (classroom/room_state.py) without ever holding up a class.

The namespace hands over a room's kept state after each change that altered it. One writer
task per class writes the newest state it was handed, then the next newest if one came in
meanwhile: writes never reorder, and a burst of changes costs a write or two, not one each.
The class never waits for the database: when it cannot be reached the write is logged and
dropped, and the next change writes the whole state again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import room_state
from classroom.db import transaction
from classroom.errors import Unavailable
from classroom.room_state import KeptRoom

log = logging.getLogger(__name__)


class Keeper:
    def __init__(
        self, maker: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self._maker = maker
        self._clock = clock
        self._newest: dict[int, KeptRoom] = {}  # handed over, not yet being written
        self._writers: dict[int, asyncio.Task[None]] = {}
        self._closed = False

    def keep(self, lesson_id: int, kept: KeptRoom) -> None:
        """Write ``kept`` soon, after any write of this class under way."""
        if self._closed:
            return
        self._newest[lesson_id] = kept
        if lesson_id not in self._writers:
            task = asyncio.get_running_loop().create_task(self._write(lesson_id))
            self._writers[lesson_id] = task

    async def load(self, lesson_id: int) -> KeptRoom:
        """What the class kept, once this process's own writes of it are done (a room that
        emptied here and opens again)."""
        await self.settled(lesson_id)
        async with transaction(self._maker) as db:
            return await room_state.load(db, lesson_id)

    async def settled(self, lesson_id: int | None = None) -> None:
        """Until the states handed over so far (of one class, or of all) are written."""
        writing = [t for at, t in self._writers.items() if lesson_id in (None, at)]
        if writing:
            await asyncio.wait(writing)

    async def close(self) -> None:
        """Finish the writes under way and take no more (shutdown: the sockets that close
        next are the process going away, not people leaving the class)."""
        self._closed = True
        await self.settled()

    async def _write(self, lesson_id: int) -> None:
        try:
            while (kept := self._newest.pop(lesson_id, None)) is not None:
                await self._save(lesson_id, kept)
        finally:
            del self._writers[lesson_id]

    async def _save(self, lesson_id: int, kept: KeptRoom) -> None:
        try:
            async with transaction(self._maker) as db:
                version = await room_state.save(db, lesson_id, kept, self._clock())
        except Unavailable:
            log.warning("class %s: room state not saved (database unreachable)", lesson_id)
        except Exception:
            log.exception("class %s: room state not saved", lesson_id)
        else:
            log.info("class %s: room state kept (version %s)", lesson_id, version)
