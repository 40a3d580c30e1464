"""A forgotten password, end to end over HTTP with the app's own worker sending to a real SMTP
server: the link arrives, sets a password once, ends every login, lapses; an unknown address
gets the same answer; requests are throttled per client address and, quietly, per account."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from classroom.models import OutboxMail, Role
from tests.conftest import PASSWORD, School, SchoolFactory, Visitor
from tests.smtp_server import MailServer, mail_server
from web.mail.worker import WorkerPolicy

LINK = re.compile(r"http://127\.0\.0\.1/password/reset/(\S+)")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def smtp() -> AsyncIterator[MailServer]:
    async with mail_server() as server:
        yield server


async def ask(visitor: Visitor, email: str) -> tuple[int, str]:
    status, _, body = await visitor.form("/password/forgot", {"email": email})
    return status, body


async def links_sent(school: School, user_id: int) -> int:
    async with school.maker() as db:
        count = await db.scalar(
            select(func.count()).where(
                OutboxMail.user_id == user_id, OutboxMail.kind == "password_reset"
            )
        )
        return int(count or 0)


async def test_a_forgotten_password_is_reset_by_a_link_that_works_once(
    school_with: SchoolFactory, smtp: MailServer
) -> None:
    clock = Clock()
    school = await school_with(clock=clock, smtp=smtp.settings, mail=WorkerPolicy(interval=3600))
    user, logged_in = await school.join(Role.STUDENT, "Rina", language="id")
    visitor = await school.visitor()
    status, login_page = await visitor.page("/login")
    assert 'href="/password/forgot"' in login_page

    status, known = await ask(visitor, user.email.upper())
    assert status == 200
    status, unknown = await ask(visitor, "nobody@school.example.com")
    assert status == 200 and unknown == known  # the same answer, word for word
    assert "If an account has this address" in known

    (mail,) = (await smtp.wait_for(1))[:1]
    assert mail.recipients == [user.email] and mail.kind == "password_reset"
    assert str(mail.message["Subject"]) == "Atur kata sandi baru untuk Kelas"  # her language
    assert "dalam 60 menit" in mail.text
    match = LINK.search(mail.text)
    assert match
    path = f"/password/reset/{match.group(1)}"

    async with visitor.client.get(path) as resp:
        assert resp.status == 200
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert 'name="new_password"' in await resp.text()
    status, _, body = await visitor.form(path, {"new_password": "short"})
    assert status == 422 and "aria-invalid" in body
    status, location, _ = await visitor.form(path, {"new_password": "a brand new password"})
    assert (status, location) == (303, "/login?reset=1")

    # Every login of the account has ended; the new password works, the old one does not.
    await logged_in.refresh_csrf()
    assert logged_in.user == {}
    assert await school.login(user, "a brand new password")
    stranger = await school.visitor()
    status, _ = await stranger.api(
        "POST", "/api/v1/login", {"email": user.email, "password": PASSWORD}
    )
    assert status == 401

    # The link worked once.
    async with visitor.client.get(path) as resp:
        assert resp.status == 410
        assert 'href="/password/forgot"' in await resp.text()  # ask for another
    status, _, body = await visitor.form(path, {"new_password": "yet another password"})
    assert status == 410 and "has expired or has already been used" in body
    assert await school.login(user, "a brand new password")

    # A new link lapses after its hour.
    await ask(visitor, user.email)
    second = (await smtp.wait_for(2))[1]
    match = LINK.search(second.text)
    assert match
    clock.now += timedelta(minutes=61)
    async with visitor.client.get(f"/password/reset/{match.group(1)}") as resp:
        assert resp.status == 410
    # A forged or mangled token is the same dead end.
    user_id, expires, signature = match.group(1).split(".")
    forged = f"{user_id}.{int(expires) + 7200}.{signature}"
    async with visitor.client.get(f"/password/reset/{forged}") as resp:
        assert resp.status == 410


async def test_reset_requests_are_throttled_without_telling_which_accounts_exist(
    school_with: SchoolFactory, smtp: MailServer
) -> None:
    school = await school_with(
        smtp=smtp.settings, mail=WorkerPolicy(interval=3600), reset_burst=6, reset_per_minute=1
    )
    user = await school.person(Role.STUDENT)
    visitor = await school.visitor()
    answers = [await ask(visitor, user.email) for _ in range(5)]
    assert set(answers) == {answers[0]} and answers[0][0] == 200
    assert await links_sent(school, user.id) == 3  # at most 3 links an hour per account
    status, unknown = await ask(visitor, "nobody@school.example.com")
    assert (status, unknown) == answers[0]  # the quiet limit looks like success
    status, _ = await ask(visitor, "nobody@school.example.com")
    assert status == 429  # per client address, whatever the address asked about
    await smtp.wait_for(3)
    assert len(smtp.to(user.email)) == 3


async def test_without_a_mail_server_no_link_is_offered(school: School) -> None:
    visitor = await school.visitor()
    status, page = await visitor.page("/login")
    assert "/password/forgot" not in page
    status, _, body = await visitor.form("/password/forgot", {"email": "a@school.example.com"})
    assert status == 200 and "does not send e-mail" in body
    async with school.maker() as db:
        assert not list(await db.scalars(select(OutboxMail)))
