"""Every form error names and marks its field, in English and in Bahasa Indonesia, on a
laptop and on a phone: the input is aria-invalid, the message sits next to it and is linked
with aria-describedby, and "Please correct the marked fields." never points at nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import snapshot
from tests.e2e.people import sign_in, visit
from tests.test_field_errors_translated import indonesian_sentences, untranslated

LONG_EMAIL = "a" * 300 + "@example.com"


@dataclass(frozen=True)
class Case:
    name: str
    login: str | None  # a demo person, or None for a visitor
    path: str
    action: str  # the form's action
    values: dict[str, str]
    marked: str  # the field at fault
    message: str  # its English message
    checks: list[str] = field(default_factory=list)  # checkboxes to tick


CASES = [
    Case("login-long-email", None, "/login", "/login",
         {"email": LONG_EMAIL, "password": "whatever"}, "email",
         "Please enter at most 254 characters"),
    Case("signup-email-without-at", None, "/signup", "/signup",
         {"name": "Rina", "email": "rina.example.com", "password": "a long password"}, "email",
         "Please enter a valid e-mail address"),
    Case("availability-ends-before-start", "ayu", "/availability", "/availability/windows",
         {"start_time": "17:00", "end_time": "09:00"}, "end_time",
         "The window must end after it starts"),
    Case("days-off-backwards", "ayu", "/availability", "/availability/absences",
         {"first_day": "2030-01-10", "last_day": "2030-01-01"}, "last_day",
         "The last day cannot be before the first day"),
    Case("password-wrong-current", "oka", "/account/password", "/account/password",
         {"current_password": "not my password", "new_password": "a brand new one"},
         "current_password", "This is not your current password"),
    Case("account-unknown-zone", "oka", "/account", "/account",
         {"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    Case("class-in-the-past", "coordinator", "/planning/classes/new", "/planning/classes/new",
         {"topic": "Old news", "starts_local": "2020-01-06T10:00"}, "starts_local",
         "The class must start in the future"),
    Case("series-without-days", "coordinator", "/planning/series/new", "/planning/series/new",
         {"topic": "Weekly"}, "weekdays", "Please choose at least one day"),
    Case("class-edit-too-many-seats", "coordinator", "/classes/1/edit", "/classes/1/edit",
         {"capacity": "20"}, "capacity", "Must be at most 12"),
    Case("tutor-email-without-at", "coordinator", "/tutors", "/tutors",
         {"name": "New Tutor", "email": "new.tutor"}, "email",
         "Please enter a valid e-mail address"),
]  # fmt: skip


async def fill(page: Page, case: Case) -> None:
    form = page.locator(f"form[action='{case.action}']")
    for name, value in case.values.items():
        await form.locator(f"[name={name}]").fill(value)
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()


async def errors_shown(page: Page) -> list[str]:
    """Check how the page shows its errors; return every error text on it."""
    alert = page.get_by_role("alert")
    await expect(alert).to_be_visible()
    invalid = page.locator("[aria-invalid=true]")
    headline = await page.evaluate(
        "() => [...document.querySelectorAll('[role=alert] > div')].map(d => d.innerText)"
    )
    texts = [t.strip() for t in headline if t.strip()]
    marked = await invalid.count()
    for i in range(marked):
        control = invalid.nth(i)
        described = await control.get_attribute("aria-describedby")
        assert described, await control.evaluate("e => e.outerHTML")
        message = page.locator(f"#{described}")
        await expect(message).to_be_visible()
        texts.append((await message.inner_text()).strip())
    return texts


@pytest.mark.parametrize("screen", ["laptop", "phone"])
@pytest.mark.parametrize("language", ["en", "id"])
async def test_form_errors_mark_their_field(
    browser: Browser, live_url: str, language: str, screen: str
) -> None:
    patterns = indonesian_sentences()
    pages: dict[str | None, Page] = {}
    for case in CASES:
        if case.login not in pages:
            pages[case.login] = await (
                visit(browser, live_url, language, screen)
                if case.login is None
                else sign_in(browser, live_url, case.login, language, screen)
            )
        page = pages[case.login]
        await page.goto(case.path)
        await fill(page, case)
        texts = await errors_shown(page)
        target = page.locator(f"[name={case.marked}]").first
        if case.marked == "weekdays":  # a group of checkboxes: its fieldset is marked
            target = page.locator("fieldset", has=target)
        await expect(target).to_have_attribute("aria-invalid", "true")
        described = await target.get_attribute("aria-describedby")
        message = (await page.locator(f"#{described}").inner_text()).strip()
        if language == "en":
            assert message == case.message, case.name
            assert "Please correct the marked fields." in texts, case.name
        else:
            assert untranslated(texts, patterns) == [], case.name
        await snapshot(page, f"form-error-{case.name}-{language}-{screen}")
