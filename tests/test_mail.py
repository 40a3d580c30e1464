"""E-mail through a real SMTP server (aiosmtpd on a free port): what arrives, to whom, in which
language, with which calendar file; one e-mail for a whole series; each person's choice of
e-mail or in-app only; back-off after refusals; two workers that never send a message twice.

The app under test runs without a mail server (its worker queues reminders only), and each
test sends with a worker of its own whose ``look`` it calls: every step happens when the
test says, with the app's clock."""

from __future__ import annotations

import asyncio
import signal
import sys
import warnings
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiosmtpd.smtp import SMTP, AuthResult
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import autopilot, outbox
from classroom.db import create_engine, create_sessionmaker
from classroom.models import Lesson, Message, OutboxMail, Role
from tests.conftest import School, SchoolFactory, now
from tests.helpers import local_in, new_class, utc
from tests.smtp_server import Arrived, MailServer, mail_server
from web import i18n
from web.mail.compose import Site
from web.mail.smtp import Smtp, SmtpSettings
from web.mail.worker import MailWorker, WorkerPolicy
from web.settings import Settings

ROOT = Path(__file__).parent.parent


class Clock:
    """The app's clock, standing still until the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def move_to(self, moment: datetime) -> None:
        self.now = moment


# The app's own worker looks once when it starts, then not for an hour, and never reminds:
# here the tests' workers (``worker``) look, when a test says. At every 2 s it raced them for
# the reminders due, and won on a loaded machine; so did its first look, when it came after
# a test had made a class starting within the hour (a CI run).
QUIET = WorkerPolicy(interval=3600, remind_before=timedelta(0))


@pytest.fixture
async def school(school_with: SchoolFactory) -> School:
    return await school_with(mail=QUIET)


@pytest.fixture
async def smtp() -> AsyncIterator[MailServer]:
    async with mail_server() as server:
        yield server


def worker(
    maker: async_sessionmaker[AsyncSession],
    server: MailServer,
    clock: Any = None,
    **policy: Any,
) -> MailWorker:
    """A worker of the test's own, sending to ``server``; the test calls its ``look``."""
    return MailWorker(
        maker,
        Smtp(server.settings),
        Site("http://127.0.0.1", "127.0.0.1", server.settings.sender, "test-secret"),
        i18n.load_translations(),
        clock or now,
        WorkerPolicy(**policy),
    )


async def kinds(school: School, user_id: int) -> list[str]:
    async with school.maker() as db:
        rows = await db.scalars(
            select(Message.kind).where(Message.user_id == user_id).order_by(Message.id)
        )
        return list(rows)


def calendar_events(arrived: Arrived) -> list[Any]:
    (part,) = [
        p for p in arrived.message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    return list(calendar.walk("VEVENT"))


async def test_a_booking_is_confirmed_in_each_readers_language(
    school: School, smtp: MailServer
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, hours=30, topic="Small talk at work"))["lessons"][0]
    english, en = await school.join(Role.STUDENT, "Rina")
    indonesian, id_ = await school.join(Role.STUDENT, "Sari", language="id")
    for visitor in (en, id_):
        status, _ = await visitor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
        assert status == 201

    done = await worker(school.maker, smtp).look()
    assert (done.sent, done.retried) == (2, 0)
    (mail_en,) = smtp.to(english.email)
    (mail_id,) = smtp.to(indonesian.email)
    assert mail_en.recipients == [english.email]
    assert mail_en.message["To"].addresses[0].display_name == "Rina"
    assert str(mail_en.message["Subject"]).startswith("Booked: “Small talk at work”, ")
    assert "Hello Rina," in mail_en.text
    assert f"http://127.0.0.1/classes/{lesson['id']}" in mail_en.text
    assert str(mail_id.message["Subject"]).startswith("Dipesan: “Small talk at work”, ")
    assert "Halo Sari," in mail_id.text
    assert mail_id.message["Content-Language"] == "id"
    # The reader's own zone (Jakarta), and a calendar file their calendar can read.
    starts = utc(lesson["starts_at"])
    assert starts.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%H:%M") in mail_en.text
    (event,) = calendar_events(mail_en)
    assert event.decoded("dtstart") == starts
    assert str(event["summary"]) == "Small talk at work (B1)"
    assert mail_en.message["Message-ID"].endswith("@127.0.0.1>")
    # The same events in the app.
    assert await kinds(school, english.id) == ["booking_confirmed"]

    again = await worker(school.maker, smtp).look()
    assert again.sent == 0 and len(smtp.arrived) == 2  # sent once


async def test_the_reminder_goes_once_with_the_join_link_and_a_calendar_file(
    school: School, smtp: MailServer
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor, tutor_visitor = await school.join(Role.TUTOR, "Ayu")
    lesson = (await new_class(coordinator, hours=0.75, tutor_id=tutor.id))["lessons"][0]
    later = (await new_class(coordinator, hours=3, tutor_id=tutor.id))["lessons"][0]
    keen, keen_visitor = await school.join(Role.STUDENT, "Keen")
    quiet, quiet_visitor = await school.join(Role.STUDENT, "Quiet")
    for visitor in (keen_visitor, quiet_visitor):
        await visitor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    # Quiet reads reminders and booking news in the app only.
    status, choices = await quiet_visitor.api(
        "PUT", "/api/v1/me/mail", {"by_email": ["waitlist_promoted", "lesson_cancelled"]}
    )
    assert status == 200, choices
    assert {c["kind"]: c["by_email"] for c in choices["choices"]} == {
        "booking_confirmed": False,
        "waitlist_promoted": True,
        "lesson_reminder": False,
        "lesson_cancelled": True,
        "lesson_moved": False,
        "lesson_recap": False,
    }

    first = worker(school.maker, smtp)
    done = await first.look()
    assert done.reminded == 1  # the class in 45 minutes, not the one in 3 hours
    await worker(school.maker, smtp).look()  # another process looks too: nothing more
    reminders = [a for a in smtp.arrived if a.kind == "lesson_reminder"]
    assert sorted(r.recipients[0] for r in reminders) == sorted([tutor.email, keen.email])
    (to_keen,) = smtp.to(keen.email, "lesson_reminder")
    assert str(to_keen.message["Subject"]).startswith("Starting soon: “Small talk”")
    assert f"http://127.0.0.1/classes/{lesson['id']}/live" in to_keen.text
    (event,) = calendar_events(to_keen)
    assert event.decoded("dtstart") == utc(lesson["starts_at"])
    assert str(event["url"]) == f"http://127.0.0.1/classes/{lesson['id']}"
    assert smtp.to(quiet.email) == []  # nothing by e-mail...
    assert await kinds(school, quiet.id) == ["booking_confirmed", "lesson_reminder"]  # ...in-app
    assert "lesson_reminder" in await kinds(school, tutor.id)
    assert all(f"/classes/{later['id']}" not in r.text for r in reminders)

    # Moved to tomorrow: reminded again before the new time, not now.
    status, _ = await coordinator.api(
        "PATCH",
        f"/api/v1/classes/{lesson['id']}",
        {"topic": "Small talk", "level": "B1", "starts_local": local_in(26),
         "timezone": "Asia/Jakarta", "duration_minutes": 60, "capacity": 4},
    )  # fmt: skip
    assert status == 200
    await first.look()
    moved = [a for a in smtp.arrived if a.kind == "lesson_moved"]
    assert sorted(m.recipients[0] for m in moved) == sorted([tutor.email, keen.email])
    async with school.maker() as db:
        stored = await db.get(Lesson, lesson["id"])
        assert stored is not None and stored.reminded_at is None


async def test_a_series_given_to_a_tutor_is_one_email_listing_its_classes(
    school: School, smtp: MailServer
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    ayu, _ = await school.join(Role.TUTOR, "Ayu")
    budi, _ = await school.join(Role.TUTOR, "Budi", language="id")
    start = (datetime.now() + timedelta(days=2)).date()
    status, made = await coordinator.api(
        "POST",
        "/api/v1/series",
        {"topic": "Weekly chat", "level": "A2", "weekdays": [0, 2], "local_time": "19:00",
         "timezone": "Asia/Jakarta", "start_date": start.isoformat(), "weeks": 8,
         "duration_minutes": 60, "capacity": 6, "tutor_id": ayu.id},
    )  # fmt: skip
    assert status == 201, made
    assert len(made["lessons"]) == 16
    await worker(school.maker, smtp).look()
    (given,) = smtp.to(ayu.email)
    assert given.kind == "lesson_assigned"
    assert str(given.message["Subject"]) == "You will teach 16 classes"
    assert given.text.count("• “Weekly chat” (A2)") == 16
    assert len(calendar_events(given)) == 16
    assert (await kinds(school, ayu.id)).count("lesson_assigned") == 16  # in-app, per class

    first = made["lessons"][0]["id"]
    status, _ = await coordinator.api(
        "PUT", f"/api/v1/classes/{first}/tutor", {"tutor_id": budi.id, "scope": "series"}
    )
    assert status == 200
    await worker(school.maker, smtp).look()
    (removed,) = smtp.to(ayu.email, "substitution_removed")
    (taken,) = smtp.to(budi.email)
    assert str(removed.message["Subject"]) == "Another tutor will teach 16 of your classes"
    assert taken.kind == "substitution_assigned"
    assert taken.message["Content-Language"] == "id"
    assert taken.text.count("• “Weekly chat” (A2)") == 16

    status, _ = await coordinator.api(
        "POST", f"/api/v1/classes/{first}/cancel", {"scope": "following"}
    )
    assert status == 200
    await worker(school.maker, smtp).look()
    (cancelled,) = smtp.to(budi.email, "lesson_cancelled")
    assert cancelled.text.count("• “Weekly chat” (A2)") == 16
    assert not any(
        p.get_content_type() == "text/calendar" for p in cancelled.message.iter_attachments()
    )


async def test_refusals_are_retried_with_back_off_until_the_server_takes_the_mail(
    school_with: SchoolFactory, smtp: MailServer
) -> None:
    clock = Clock()
    school = await school_with(clock=clock, mail=QUIET)
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, hours=30))["lessons"][0]
    student, visitor = await school.join(Role.STUDENT, "Rina")
    await visitor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    smtp.refusals = ["451 4.3.0 Try again later", "452 4.3.1 Out of space"]
    sender = worker(school.maker, smtp, clock)

    async def row() -> OutboxMail:
        async with school.maker() as db:
            (found,) = await db.scalars(select(OutboxMail))
            return found

    started = clock()
    assert (await sender.look()).retried == 1
    first = await row()
    assert (first.attempts, first.sent_at, first.claim) == (1, None, None)
    assert first.due_at - started == timedelta(seconds=30)
    assert "451" in (first.last_error or "")
    assert (await sender.look()).sent == 0  # not due yet: nothing tried
    assert smtp.tries == 1

    clock.move_to(first.due_at)
    assert (await sender.look()).retried == 1
    second = await row()
    assert second.due_at - first.due_at == timedelta(seconds=60)  # twice as long

    clock.move_to(second.due_at)
    assert (await sender.look()).sent == 1
    done = await row()
    assert (done.attempts, done.last_error) == (3, None)
    assert done.sent_at is not None
    assert [a.recipients for a in smtp.arrived] == [[student.email]]
    assert smtp.tries == 3


async def test_a_mailbox_refused_for_good_is_recorded_and_not_tried_again(
    school: School, smtp: MailServer
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, hours=30))["lessons"][0]
    _, visitor = await school.join(Role.STUDENT)
    await visitor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    smtp.refusals = ["550 5.1.1 No such mailbox"]
    sender = worker(school.maker, smtp)
    assert (await sender.look()).failed == 1
    assert (await sender.look()).failed == 0
    async with school.maker() as db:
        (row,) = await db.scalars(select(OutboxMail))
    assert row.failed_at is not None and "550" in (row.last_error or "")
    assert smtp.tries == 1
    # The booking stands: e-mail never undoes the action.
    status, mine = await visitor.api("GET", "/api/v1/me/classes")
    assert status == 200 and [m["status"] for m in mine] == ["confirmed"]


async def test_a_mail_server_that_is_down_delays_mail_and_loses_none(
    school_with: SchoolFactory, smtp: MailServer
) -> None:
    clock = Clock()
    school = await school_with(clock=clock, mail=QUIET)
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, hours=30))["lessons"][0]
    student, visitor = await school.join(Role.STUDENT)
    await visitor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    async with mail_server() as gone:
        port = gone.port
    # Nothing listens on that port any more: the connection is refused.
    sender = worker(school.maker, MailServer(port=port), clock)
    with pytest.raises(Exception, match="cannot take e-mail"):
        await sender.look()
    async with school.maker() as db:
        (row,) = await db.scalars(select(OutboxMail))
    assert row.sent_at is None and row.failed_at is None and row.attempts == 1
    clock.move_to(row.due_at)
    assert (await worker(school.maker, smtp, clock).look()).sent == 1
    assert smtp.to(student.email)


@pytest.mark.parametrize("workers", [2])
async def test_two_workers_never_send_the_same_message_twice(
    school: School, settings: Any, smtp: MailServer, workers: int
) -> None:
    """Each worker has its own engine (its own connections, as another process would), and
    they claim from the same outbox at the same time."""
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, hours=30))["lessons"][0]
    student = await school.person(Role.STUDENT)
    async with school.maker.begin() as db:
        item = await db.get(Lesson, lesson["id"])
        assert item is not None
        for _ in range(60):
            await outbox.enqueue_lessons(db, [student.id], "lesson_moved", [item], now())
    engines = [create_engine(settings.database_url) for _ in range(workers)]
    senders = [worker(create_sessionmaker(e), smtp, batch=4) for e in engines]

    async def pending() -> int:
        async with school.maker() as db:
            count = await db.scalar(select(func.count()).where(OutboxMail.sent_at.is_(None)))
            return int(count or 0)

    async def drain(sender: MailWorker) -> int:
        sent = 0
        while await pending():
            sent += (await sender.look()).sent
        return sent

    try:
        counts = await asyncio.gather(*(drain(s) for s in senders))
    finally:
        for engine in engines:
            await engine.dispose()
    ids = [str(a.message["Message-ID"]) for a in smtp.arrived]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert sum(counts) == 60 and smtp.tries == 60
    if not settings.database_url.startswith("sqlite"):
        # Both took part (28 and 32 in a run): PostgreSQL's SKIP LOCKED lets them claim at
        # once. SQLite has one writer at a time and no fair turn, so one worker may take all
        # 60 (a CI run: 60 and 0); that it never sends twice is what holds there.
        assert all(counts), counts


async def test_a_worker_killed_between_claim_and_send_loses_nothing(
    school: School, settings: Any, smtp: MailServer
) -> None:
    """A real process sends; the mail server holds its message unanswered; the process is
    killed (SIGKILL). The claim outlives it until its lease ends; then another worker sends
    the message, with the same Message-ID, and the booking it told about stands."""
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, hours=30))["lessons"][0]
    student, visitor = await school.join(Role.STUDENT)
    status, _ = await visitor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    assert status == 201  # committed: nothing has sent its e-mail yet
    smtp.hold = asyncio.Event()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.mail_process", settings.database_url, str(smtp.port),
        cwd=ROOT,
    )  # fmt: skip
    try:
        await smtp.until(lambda: len(smtp.held) == 1)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    async with school.maker() as db:
        (row,) = await db.scalars(select(OutboxMail))
    assert row.claim is not None and row.claimed_until is not None and row.sent_at is None
    assert row.attempts == 1

    smtp.hold.set()  # the server answers again
    assert (await worker(school.maker, smtp).look()).sent == 0  # the claim still holds
    after_lease = row.claimed_until + timedelta(seconds=1)
    assert (await worker(school.maker, smtp, lambda: after_lease).look()).sent == 1
    (arrived,) = smtp.to(student.email)
    assert arrived.message["Message-ID"] == smtp.held[0]["Message-ID"]
    async with school.maker() as db:
        (row,) = await db.scalars(select(OutboxMail))
    assert (row.attempts, row.claim) == (2, None) and row.sent_at is not None
    status, mine = await visitor.api("GET", "/api/v1/me/classes")
    assert [m["status"] for m in mine] == ["confirmed"]


async def test_a_freed_seat_and_the_late_tutor_nudge_come_by_email(
    school: School, smtp: MailServer
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor, _ = await school.join(Role.TUTOR, "Ayu")
    lesson = (await new_class(coordinator, hours=0.1, capacity=1, tutor_id=tutor.id))["lessons"][0]
    _, first = await school.join(Role.STUDENT, "First")
    waiting, second = await school.join(Role.STUDENT, "Waiting")
    await first.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    status, _ = await second.api("POST", f"/api/v1/classes/{lesson['id']}/waitlist")
    assert status == 201
    await first.api("DELETE", f"/api/v1/classes/{lesson['id']}/booking")
    async with school.maker.begin() as db:  # the autopilot's look: Ayu is not online
        await autopilot.watch(db, now(), autopilot.Policy(), autopilot.Whereabouts())
    async with school.maker() as db:  # this look, or the app's own loop first: once
        assert await autopilot.nudged(db, [lesson["id"]]) == {lesson["id"]}
    await worker(school.maker, smtp).look()
    (seat,) = smtp.to(waiting.email, "waitlist_promoted")
    assert str(seat.message["Subject"]).startswith("A seat is yours: “Small talk”")
    (nudge,) = smtp.to(tutor.email, "tutor_nudge")
    assert str(nudge.message["Subject"]).startswith("Your students are waiting: “Small talk”")
    assert f"http://127.0.0.1/classes/{lesson['id']}/live" in nudge.text


async def test_the_worker_logs_in_to_a_server_that_asks(school: School) -> None:
    """A server that takes mail only after a login (here without TLS, as a relay on the
    same machine could)."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        ok = (auth.login, auth.password) == (b"kelas", b"right password")
        return AuthResult(success=ok)

    def protocol() -> SMTP:
        with warnings.catch_warnings():  # aiosmtpd warns of a login without TLS: on purpose
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(handler, authenticator=check, auth_required=True, auth_require_tls=False)

    handler = MailServer()
    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
    handler.port = server.sockets[0].getsockname()[1]
    try:
        _, coordinator = await school.join(Role.COORDINATOR)
        lesson = (await new_class(coordinator, hours=30))["lessons"][0]
        student, visitor = await school.join(Role.STUDENT)
        await visitor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
        right = worker(school.maker, handler)
        right.smtp = Smtp(replace(handler.settings, user="kelas", password="right password"))
        assert (await right.look()).sent == 1
        assert handler.to(student.email)
    finally:
        server.close()
        await server.wait_closed()


def test_mail_settings_come_from_the_environment() -> None:
    base = {"SECRET_KEY": "x", "KELAS_BASE_URL": "https://kelas.example.org"}
    assert Settings.from_env(base).smtp is None  # no host: no e-mail
    smtp = Settings.from_env({**base, "KELAS_SMTP_HOST": "mail.example.org"}).smtp
    assert smtp == SmtpSettings(
        host="mail.example.org",
        port=587,
        security="starttls",
        sender="Kelas <kelas@kelas.example.org>",
    )
    tls = Settings.from_env(
        {**base, "KELAS_SMTP_HOST": "mail.example.org", "KELAS_SMTP_TLS": "tls",
         "KELAS_SMTP_USER": "kelas", "KELAS_SMTP_PASSWORD": "secret",
         "KELAS_MAIL_FROM": "School <school@example.org>", "KELAS_REMINDER_MINUTES": "30"}
    )  # fmt: skip
    assert tls.smtp is not None
    assert (tls.smtp.port, tls.smtp.user, tls.smtp.sender) == (
        465,
        "kelas",
        "School <school@example.org>",
    )
    assert tls.mail.remind_before == timedelta(minutes=30)
    with pytest.raises(ValueError, match="KELAS_SMTP_TLS"):
        Settings.from_env({**base, "KELAS_SMTP_HOST": "m", "KELAS_SMTP_TLS": "maybe"})
