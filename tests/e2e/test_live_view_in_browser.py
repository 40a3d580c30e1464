"""The coordinator's live view in a real browser: a class in progress with its participants,
updated without a reload when a student joins, on a laptop and on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import snapshot
from tests.e2e.live_class import class_with_people, enter, login_as

SCREENS = {
    "laptop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


async def board(browser: Browser, base: str, user: Any, screen: str) -> tuple[Page, list[str]]:
    page = await login_as(browser, base, user.email)
    await page.set_viewport_size(SCREENS[screen]["viewport"])  # type: ignore[arg-type]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto("/live")
    await page.evaluate("window.sameDocument = true")  # gone if the page reloads
    return page, errors


@pytest.mark.parametrize("screen", ["laptop", "phone"])
async def test_a_coordinator_watches_a_class_fill_up_without_reloading(
    browser: Browser, live_url: str, database_url: str, screen: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    page, errors = await board(browser, live_url, users["Citra Coordinator"], screen)
    card = page.locator(f'#board-live [data-lesson="{lesson_id}"]')
    soon = page.locator(f'#board-soon [data-lesson="{lesson_id}"]')
    await soon.wait_for()  # starts in three minutes, nobody in yet
    assert "Tari Tutor" in await soon.inner_text()

    tutor = await enter(browser, live_url, "Tari Tutor", users["Tari Tutor"], lesson_id)
    await card.get_by_text("tutor is here").wait_for()
    assert "Tari Tutor" in await card.inner_text()

    student = await enter(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    await card.get_by_text("Sinta Student").wait_for()
    text = await card.inner_text()
    assert "In the room: 2" in text and "Student" in text
    # Each person's connection, graded from the RTCP reports their browser sends: on loopback,
    # good; the tutor sees it on the student's tile too.
    await card.locator('[title^="Connection good"]').nth(1).wait_for()
    assert " ms · 0%" in await card.inner_text()
    await tutor.locator('.tile .quality-good[title^="Connection good"]').first.wait_for()
    assert await page.evaluate("window.sameDocument") is True
    tutors = page.locator("#board-tutors")
    assert "Tari Tutor" in await tutors.inner_text()
    observe = card.get_by_role("link", name="Observe")
    assert await observe.get_attribute("href") == f"/classes/{lesson_id}/live"
    # Nothing spills sideways on a phone.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SCREENS[screen]["viewport"]["width"], width  # type: ignore[index]
    await snapshot(page, f"live-view-{screen}")
    assert errors == [], errors
    for p in (student, tutor, page):
        await p.context.close()
