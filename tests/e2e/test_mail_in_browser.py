"""E-mail in a real browser, against a real SMTP server: a forgotten password reset from the
link that arrives, and each person's choice of e-mail or in-app only, in English and
Indonesian, on a laptop and on a phone. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from classroom import demo
from tests.e2e.conftest import serve, snapshot
from tests.e2e.people import sign_in, visit
from tests.smtp_server import MailServer, mail_server
from web.mail.worker import WorkerPolicy

LINK = re.compile(r"http://127\.0\.0\.1:\d+(/password/reset/\S+)")
CASES = [("en", "laptop"), ("id", "phone")]


@pytest.fixture
async def smtp() -> AsyncIterator[MailServer]:
    async with mail_server() as server:
        yield server


@pytest.fixture
async def live_url(database_url: str, smtp: MailServer) -> AsyncIterator[str]:
    """The demo school, sending its e-mail to the test's SMTP server."""
    async with serve(database_url, smtp=smtp.settings, mail=WorkerPolicy(interval=0.2)) as server:
        yield server.url


@pytest.mark.parametrize(("language", "screen"), CASES)
async def test_a_forgotten_password_is_reset_from_the_emailed_link(
    browser: Browser, live_url: str, smtp: MailServer, language: str, screen: str
) -> None:
    page = await visit(browser, live_url, language, screen)
    await page.goto("/login")
    await page.locator("a[href='/password/forgot']").click()
    await page.locator("input[name=email]").fill(f"dewi@{demo.DOMAIN}")
    await snapshot(page, f"reset-ask-{language}-{screen}")
    await page.locator("form[action='/password/forgot'] button[type=submit]").click()
    await expect(page.get_by_role("status")).to_be_visible()
    await snapshot(page, f"reset-asked-{language}-{screen}")

    dewi = f"dewi@{demo.DOMAIN}"
    await smtp.until(lambda: bool(smtp.to(dewi, "password_reset")))
    (mail,) = smtp.to(dewi, "password_reset")
    match = LINK.search(mail.text)
    assert match, mail.text
    await page.goto(match.group(1))
    field = page.locator("input[name=new_password]")
    await field.fill("short")
    await page.locator("form button[type=submit]").click()
    await expect(field).to_have_attribute("aria-invalid", "true")
    await snapshot(page, f"reset-too-short-{language}-{screen}")
    await page.locator("input[name=new_password]").fill("my own new password")
    await page.locator("form button[type=submit]").click()
    await page.wait_for_url("**/login?reset=1")
    await expect(page.get_by_role("status")).to_be_visible()
    await snapshot(page, f"reset-done-{language}-{screen}")

    await page.locator("input[name=email]").fill(f"dewi@{demo.DOMAIN}")
    await page.locator("input[name=password]").fill("my own new password")
    await page.locator("form[action='/login'] button[type=submit]").click()
    await page.wait_for_url("**/my")

    await page.goto(match.group(1))  # the link worked once
    await expect(page.get_by_role("alert")).to_be_visible()
    await snapshot(page, f"reset-used-{language}-{screen}")


@pytest.mark.parametrize(("language", "screen"), CASES)
@pytest.mark.parametrize("login", ["eko", "ayu"])
async def test_each_person_chooses_which_messages_come_by_email(
    browser: Browser, live_url: str, login: str, language: str, screen: str
) -> None:
    page = await sign_in(browser, live_url, login, language, screen)
    await page.goto("/account")
    section = page.locator("#mail")
    await expect(section).to_be_visible()
    reminders = section.locator("input[name=by_email][value=lesson_reminder]")
    cancelled = section.locator("input[name=by_email][value=lesson_cancelled]")
    await expect(reminders).to_be_checked()  # e-mail for everything at first
    tutor_only = section.locator("input[value=substitution_assigned]")
    await expect(tutor_only).to_have_count(1 if login == "ayu" else 0)
    await reminders.uncheck()
    await snapshot(page, f"mail-choices-{login}-{language}-{screen}")
    await section.locator("button[type=submit]").click()
    await page.wait_for_url("**/account?saved=1#mail")
    await expect(reminders).not_to_be_checked()
    await expect(cancelled).to_be_checked()
    # Each choice is a labelled control: its label names the kind of message.
    label = await reminders.evaluate("e => e.closest('label').innerText.trim()")
    assert (
        label
        == {"en": "Reminders before each class", "id": "Pengingat sebelum setiap kelas"}[language]
    )
    await snapshot(page, f"mail-choices-saved-{login}-{language}-{screen}")
