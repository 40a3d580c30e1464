"""The outbox: e-mails written in the same transaction as the action they tell about, and
sent later by a worker outside this layer (web/mail/worker.py).

An action and its e-mail commit together or not at all, and sending never undoes the action:
a mail server that is down only delays the mail. A message's life::

    pending ──claim──> claimed ──sent──> sent
       ^                  │  └──refused for good (5xx)──> failed
       └──retry later─────┘  (temporary failure: due again after a back-off)
    pending or expired claim ──past stale_at──> failed ("stale")

Claims make several workers (processes) share the work without sending a message twice:
``claim`` takes due rows with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite's
BEGIN IMMEDIATE lets one writer in at a time) and stamps them with the worker's claim until
a lease ends. A worker killed between its claim and the mail server's answer leaves the
claim to expire; the message is then sent again, with the same Message-ID (from ``token``):
delivery is at least once, and a reader's mail client shows a duplicate as one message.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.errors import N_
from classroom.models import Lesson, OutboxMail, Role, User

# The kinds of message a person can choose to get by e-mail or in the app only, with whom
# each concerns and the name the account page gives it.
CHOICES: dict[str, tuple[tuple[Role, ...], str]] = {
    "booking_confirmed": ((Role.STUDENT,), N_("Your bookings")),
    "waitlist_promoted": ((Role.STUDENT,), N_("A seat for you from the waitlist")),
    "lesson_reminder": ((Role.STUDENT, Role.TUTOR), N_("Reminders before each class")),
    "lesson_assigned": ((Role.TUTOR,), N_("Classes given to you")),
    "substitution_assigned": ((Role.TUTOR,), N_("Classes you take over from another tutor")),
    "substitution_removed": ((Role.TUTOR,), N_("Your classes given to another tutor")),
    "tutor_nudge": ((Role.TUTOR,), N_("Reminders to join a class that is about to start")),
    "lesson_cancelled": ((Role.STUDENT, Role.TUTOR), N_("Cancelled classes")),
    "lesson_moved": ((Role.STUDENT, Role.TUTOR), N_("Classes moved to another time")),
    "lesson_recap": ((Role.STUDENT,), N_("Your recap after each class")),
}
ALWAYS = frozenset({"password_reset"})  # sent by e-mail whatever the person chose
KEEP_FINISHED = timedelta(days=30)  # sent and failed messages are purged after this
DEFAULT_STALE = timedelta(days=1)


def kinds_for(role: Role) -> list[str]:
    """The kinds of message that ``role`` gets and may choose how."""
    return [kind for kind, (roles, _) in CHOICES.items() if role in roles]


def by_email(user: User, kind: str) -> bool:
    return kind in ALWAYS or kind not in (user.mail_in_app_only or [])


async def set_choices(db: AsyncSession, user: User, email: Iterable[str]) -> None:
    """Keep e-mail for the kinds in ``email``; the others of the user's role in the app only."""
    wanted = set(email)
    user.mail_in_app_only = [kind for kind in kinds_for(user.role) if kind not in wanted]
    await db.flush()


async def enqueue(
    db: AsyncSession,
    user: User,
    kind: str,
    params: dict[str, Any],
    now: datetime,
    *,
    stale_at: datetime | None = None,
) -> OutboxMail | None:
    """Queue an e-mail of ``kind`` to ``user`` in the caller's transaction, unless they read
    this kind in the app only. ``stale_at``: when the mail is no longer worth sending."""
    if not by_email(user, kind):
        return None
    mail = OutboxMail(
        user_id=user.id,
        kind=kind,
        params=params,
        token=secrets.token_hex(16),
        created_at=now,
        due_at=now,
        stale_at=stale_at or now + DEFAULT_STALE,
        attempts=0,
    )
    db.add(mail)
    await db.flush()
    return mail


def lesson_params(lesson: Lesson) -> dict[str, Any]:
    return {
        "id": lesson.id,
        "topic": lesson.topic,
        "level": str(lesson.level),
        "starts_at": lesson.starts_at.isoformat(),
        "ends_at": lesson.ends_at.isoformat(),
    }


async def enqueue_lessons(
    db: AsyncSession,
    user_ids: Iterable[int],
    kind: str,
    lessons: list[Lesson],
    now: datetime,
    stale_at: datetime | None = None,
) -> None:
    """One e-mail per person about ``lessons`` (one class, or the classes of a series that
    one action changed), worth sending until the last of them ends (or ``stale_at``, for
    an e-mail about classes that are over)."""
    ids = list(dict.fromkeys(user_ids))
    if not ids or not lessons:
        return
    ordered = sorted(lessons, key=lambda lesson: (lesson.starts_at, lesson.id))
    params = {"lessons": [lesson_params(lesson) for lesson in ordered]}
    stale_at = stale_at or max(lesson.ends_at for lesson in ordered)
    for user in await db.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)):
        await enqueue(db, user, kind, params, now, stale_at=stale_at)


async def recent(db: AsyncSession, user: User, kind: str, since: datetime) -> int:
    """How many e-mails of ``kind`` were queued for ``user`` since then (for throttling)."""
    query = select(func.count()).where(
        OutboxMail.user_id == user.id, OutboxMail.kind == kind, OutboxMail.created_at > since
    )
    return int(await db.scalar(query) or 0)


# -- the worker's side ----------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """How long a message waits after a temporary failure: ``first``, doubling with each
    attempt, at most ``longest``."""

    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(hours=1)

    def after(self, attempts: int) -> timedelta:
        factor: int = 2 ** max(attempts - 1, 0)
        return min(self.first * factor, self.longest)


def _pending() -> ColumnElement[bool]:
    return and_(OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_(None))


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until <= now)


async def claim(
    db: AsyncSession, now: datetime, lease: timedelta, limit: int
) -> tuple[str, list[OutboxMail]]:
    """Claim up to ``limit`` due messages for this worker until ``now + lease``; messages
    gone stale are given up first. The caller commits before it sends anything."""
    await db.execute(
        update(OutboxMail)
        .where(_pending(), _unclaimed(now), OutboxMail.stale_at <= now)
        .values(failed_at=now, claim=None, claimed_until=None, last_error="stale")
        .execution_options(synchronize_session=False)
    )
    query = (
        select(OutboxMail)
        .where(_pending(), _unclaimed(now), OutboxMail.due_at <= now)
        .order_by(OutboxMail.due_at, OutboxMail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(await db.scalars(query))
    mine = secrets.token_hex(16)
    for row in rows:
        row.claim, row.claimed_until = mine, now + lease
        row.attempts += 1
    await db.flush()
    return mine, rows


def _claimed(mail_id: int, mine: str) -> ColumnElement[bool]:
    return and_(OutboxMail.id == mail_id, OutboxMail.claim == mine)


async def mark_sent(db: AsyncSession, mail_id: int, mine: str, now: datetime) -> None:
    """The mail server took it. Under a claim that expired meanwhile, the message was
    claimed again and is the new claimant's to record."""
    await db.execute(
        update(OutboxMail)
        .where(_claimed(mail_id, mine))
        .values(sent_at=now, claim=None, claimed_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


async def retry_later(
    db: AsyncSession, mail_id: int, mine: str, now: datetime, error: str, backoff: Backoff
) -> None:
    """A temporary failure: try again after the back-off its attempts have earned."""
    row = await db.get(OutboxMail, mail_id, with_for_update=True, populate_existing=True)
    if row is None or row.claim != mine:
        return
    row.due_at = now + backoff.after(row.attempts)
    row.claim, row.claimed_until, row.last_error = None, None, error[:500]
    await db.flush()


async def give_up(db: AsyncSession, mail_id: int, mine: str, now: datetime, error: str) -> None:
    """The mail server refused the message for good (no such mailbox): it stays recorded."""
    await db.execute(
        update(OutboxMail)
        .where(_claimed(mail_id, mine))
        .values(failed_at=now, claim=None, claimed_until=None, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )


async def release(db: AsyncSession, mail_ids: list[int], mine: str) -> None:
    """Hand back claimed messages not tried (the worker is stopping), for anyone to take
    now; their attempt is not counted."""
    if not mail_ids:
        return
    await db.execute(
        update(OutboxMail)
        .where(OutboxMail.id.in_(mail_ids), OutboxMail.claim == mine)
        .values(claim=None, claimed_until=None, attempts=OutboxMail.attempts - 1)
        .execution_options(synchronize_session=False)
    )


async def purge(db: AsyncSession, now: datetime, keep: timedelta = KEEP_FINISHED) -> int:
    """Forget sent and failed messages older than ``keep``."""
    result = await db.execute(
        delete(OutboxMail)
        .where(OutboxMail.created_at < now - keep, ~_pending())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
