"""The late-tutor autopilot's heartbeat: look at the school every ``interval`` seconds (and
close the attendance of classes that are over: classroom/attendance.py).

Each process runs one. The rules and their once-only records are in classroom/autopilot.py;
this loop gives them presence's view of who is online, and tells the coordinators (through
``changed``) when an alert was raised or closed. A look that fails (the database is down) is
logged and the next one tries again: nothing is lost, since everything the autopilot decides
is derived from the database and presence as they are at the next look.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import attendance, autopilot
from classroom.db import transaction
from signaling.presence import Presence

log = logging.getLogger(__name__)


async def whereabouts(presence: Presence, now: datetime) -> autopilot.Whereabouts:
    """Presence, as the autopilot's rules read it."""
    online = await presence.everyone()
    offers = await presence.substitutes(now.timestamp())
    return autopilot.Whereabouts(
        online=frozenset(online), offers=offers, complete=presence.complete
    )


class Autopilot:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        presence: Presence,
        clock: Callable[[], datetime],
        policy: autopilot.Policy,
        changed: Callable[[autopilot.Outcome], None],
        interval: float = 1.0,
        attendance_policy: attendance.Policy | None = None,
    ) -> None:
        self.maker = maker
        self.presence = presence
        self.clock = clock
        self.policy = policy
        self.changed = changed
        self.interval = interval
        self.attendance = attendance_policy or attendance.Policy()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._failing = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop between two looks: cancelling one midway would leave a Redis or database
        connection half used."""
        if self._task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5.0)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def look(self) -> autopilot.Outcome:
        """One look at the school: nudges, alerts raised and closed."""
        now = self.clock()
        seen = await whereabouts(self.presence, now)
        async with transaction(self.maker) as db:
            outcome = await autopilot.watch(db, now, self.policy, seen)
            closed = await attendance.close_classes(db, now, self.attendance)
        if closed:
            log.info("autopilot: attendance of classes %s recorded", closed)
        if outcome.raised or outcome.nudged:
            log.info(
                "autopilot: alerts %s raised, classes %s nudged", outcome.raised, outcome.nudged
            )
        return outcome

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                outcome = await self.look()
                if self._failing:
                    log.info("autopilot: looking at the school again")
                self._failing = False
                if outcome.changed:
                    self.changed(outcome)
            except Exception:
                if not self._failing:  # once per outage, not every second
                    log.warning("autopilot: cannot look at the school just now", exc_info=True)
                self._failing = True
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval)
            except TimeoutError:
                pass  # time for the next look
