"""The outbox's worker: every few seconds it queues the reminders that are due, then claims
due e-mails, writes and sends them over one SMTP connection, and records how each went.

Each process runs one; claims (classroom/outbox.py) keep them from sending a message twice.
Nothing here can undo an action: the action committed with its outbox row before any of
this runs. A look that fails (the database or the mail server is down) is logged once and
tried again at the next; a message the server refused for a while waits its back-off.
Without a mail server (no KELAS_SMTP_HOST) the worker still queues reminders, which people
then read in the app, and forgets old rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.support import NullTranslations
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import outbox, reminders
from classroom.db import transaction
from classroom.errors import Unavailable, Undeliverable
from classroom.models import OutboxMail
from web.mail.compose import Site, compose
from web.mail.smtp import Connection, Smtp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerPolicy:
    """How the worker paces itself: how often it looks, how many e-mails it claims at once
    and for how long (the lease must outlast sending them all: an expired claim means the
    message may be sent again), how long before a class its reminder goes out."""

    interval: float = 5.0  # a password reset wakes it at once (wake); the rest can wait
    batch: int = 10
    lease: timedelta = timedelta(minutes=10)
    backoff: outbox.Backoff = outbox.Backoff()
    remind_before: timedelta = timedelta(hours=1)
    purge_every: timedelta = timedelta(hours=1)


@dataclass
class Sent:
    """What one look did (for logs and tests)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    reminded: int = 0


class MailWorker:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        smtp: Smtp | None,
        site: Site,
        catalogs: dict[str, NullTranslations],
        clock: Callable[[], datetime],
        policy: WorkerPolicy,
    ) -> None:
        self.maker = maker
        self.smtp = smtp
        self.site = site
        self.catalogs = catalogs
        self.clock = clock
        self.policy = policy
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._failing = False
        self._purged: datetime | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        """Look now rather than at the next interval."""
        self._wake.set()

    async def close(self) -> None:
        """Stop between two e-mails; what is claimed and not yet sent is handed back."""
        if self._task is None:
            return
        self._stop.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=10.0)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def look(self) -> Sent:
        """Queue due reminders, then send what is due; the e-mails claimed are sent even
        if the mail server fails midway (those left are tried again later)."""
        done = Sent()
        now = self.clock()
        async with transaction(self.maker) as db:
            done.reminded = len(await reminders.remind(db, now, self.policy.remind_before))
            if self._purged is None or now - self._purged >= self.policy.purge_every:
                await outbox.purge(db, now)
                self._purged = now
        if self.smtp is None:
            return done
        async with transaction(self.maker) as db:
            mine, claimed = await outbox.claim(db, now, self.policy.lease, self.policy.batch)
        if claimed:
            await self._send_all(mine, claimed, done)
        return done

    async def _send_all(self, mine: str, claimed: list[OutboxMail], done: Sent) -> None:
        assert self.smtp is not None
        left = list(claimed)
        try:
            async with self.smtp.connect() as connection:
                while left and not self._stop.is_set():
                    await self._send_one(connection, mine, left.pop(0), done)
        except Unavailable as exc:  # the server is away: everything not sent waits
            await self._retry(mine, left, str(exc), done)
            left = []
            raise
        finally:
            if left:  # stopping: hand the rest back untried
                async with transaction(self.maker) as db:
                    await outbox.release(db, [m.id for m in left], mine)

    async def _send_one(
        self, connection: Connection, mine: str, mail: OutboxMail, done: Sent
    ) -> None:
        async with transaction(self.maker) as db:
            message = await compose(db, mail, self.site, self.catalogs, self.clock())
        if message is None:
            async with transaction(self.maker) as db:
                await outbox.give_up(db, mail.id, mine, self.clock(), "nothing to send")
            done.dropped += 1
            return
        try:
            await connection.send(message)
        except Unavailable as exc:
            await self._retry(mine, [mail], str(exc), done)
            return
        except Undeliverable as exc:
            async with transaction(self.maker) as db:
                await outbox.give_up(db, mail.id, mine, self.clock(), str(exc))
            log.warning("mail %s to user %s refused for good: %s", mail.id, mail.user_id, exc)
            done.failed += 1
            return
        async with transaction(self.maker) as db:
            await outbox.mark_sent(db, mail.id, mine, self.clock())
        done.sent += 1

    async def _retry(self, mine: str, mails: list[OutboxMail], error: str, done: Sent) -> None:
        async with transaction(self.maker) as db:
            for mail in mails:
                await outbox.retry_later(
                    db, mail.id, mine, self.clock(), error, self.policy.backoff
                )
        done.retried += len(mails)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = await self.look()
                if self._failing:
                    log.info("mail: sending again")
                self._failing = False
                if done.sent or done.failed or done.retried:
                    log.info("mail: %s", done)
            except Exception:
                if not self._failing:  # once per outage, not at every look
                    log.warning("mail: cannot send just now", exc_info=True)
                self._failing = True
            try:
                await asyncio.wait_for(self._wake.wait(), self.policy.interval)
            except TimeoutError:
                pass  # time for the next look
            self._wake.clear()
