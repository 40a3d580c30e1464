"""Every main page, as each role, in English and Bahasa Indonesia: no two different actions
share a label (a student leaving a class must not log out by mistake), nothing to press is
unlabelled, and on a phone every link and button is at least 24x24 CSS pixels (WCAG 2.2,
2.5.8), the navigation included."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import snapshot
from tests.e2e.page_checks import Target, shared_labels, targets, too_small, unlabelled
from tests.e2e.people import sign_in, visit

LIVE = "/classes/1/live"  # the demo's class that starts within minutes (Ayu teaches it)
PAGES: dict[str | None, list[str]] = {
    None: ["/login", "/signup"],
    "dewi": ["/my", "/classes", "/classes/1", "/classes/2", "/messages", "/account",
             "/account/password", "/check", "/progress", LIVE],
    "ayu": ["/teaching", "/availability", "/messages", "/account", "/classes/1", "/progress",
            LIVE],
    "coordinator": ["/planning", "/classes", "/tutors", "/planning/classes/new",
                    "/planning/series/new", "/classes/1", "/classes/5", "/classes/1/edit",
                    "/messages", "/account", LIVE, "/live", "/reports/attendance",
                    "/reports", "/rates"],
}  # fmt: skip


async def days_off(page: Page) -> None:
    """Two spells of days off, so that the page lists more than one thing to remove."""
    await page.goto("/availability")
    for first, last in (("2030-01-06", "2030-01-08"), ("2030-02-03", "2030-02-03")):
        form = page.locator("form[action='/availability/absences']")
        await form.locator("[name=first_day]").fill(first)
        await form.locator("[name=last_day]").fill(last)
        await form.locator("button[type=submit]").click()
        await page.wait_for_load_state()


async def states(page: Page, path: str) -> list[str]:
    """Open ``path``; for the live room, its device check and then the room itself."""
    await page.goto(path)
    await page.wait_for_load_state()
    if path != LIVE:
        return [path]
    join = page.locator("#join")
    await expect(join).to_be_visible()
    await expect(page.locator("#cam-select option, #cam-select[hidden]").first).to_be_attached()
    shown = [f"{path} (device check)"]
    await join.click()
    await expect(page.locator("#room")).to_be_visible()
    await expect(page.locator("#controls :is(a, button)").first).to_be_visible()
    return [*shown, f"{path} (room)"]


async def walk(browser: Browser, base: str, language: str, screen: str) -> dict[str, list[Target]]:
    """Every page state, as every role: what can be pressed on it."""
    found: dict[str, list[Target]] = {}
    for login, paths in PAGES.items():
        page = await (
            visit(browser, base, language, screen)
            if login is None
            else sign_in(browser, base, login, language, screen)
        )
        if login == "ayu":
            await days_off(page)
        for path in paths:
            for state in await states(page, path):
                name = f"{login or 'visitor'} {state}"
                found[name] = await targets(page)
                slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
                await snapshot(page, f"pages-{language}-{screen}-{slug}")
        await page.context.close()
    return found


@pytest.mark.parametrize("language", ["en", "id"])
async def test_no_two_actions_on_a_page_share_a_label(
    browser: Browser, live_url: str, language: str
) -> None:
    found = await walk(browser, live_url, language, "laptop")
    shared = [
        f"{name}: {label!r} does {len(actions)} things: {sorted(actions)[:2]}"
        for name, items in found.items()
        for label, actions in shared_labels(items).items()
    ]
    assert shared == [], "\n".join(shared)
    blank = [f"{name}: {html}" for name, items in found.items() for html in unlabelled(items)]
    assert blank == [], "\n".join(blank)


async def test_every_link_and_button_is_big_enough_to_tap_on_a_phone(
    browser: Browser, live_url: str
) -> None:
    found = await walk(browser, live_url, "id", "phone")  # the longer words
    small = [f"{name}: {item}" for name, items in found.items() for item in too_small(items)]
    print("\n".join(s for s in small if LIVE in s))  # the live room is checked on its own
    outside = [s for s in small if LIVE not in s]
    assert outside == [], "\n".join(outside)
