"""The setup check in a real browser: Chromium's fake camera and microphone, the data channels
to the server's own peers, the result kept; the coordinator sees who has not checked before
the class, and sees the student drop off that list once they have. On a laptop and a phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import snapshot
from tests.e2e.live_class import class_with_people, login_as
from tests.e2e.people import SCREENS


async def watched(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


async def run_check(browser: Browser, base: str, user: Any, screen: str) -> tuple[Page, Any]:
    """``user`` finds the check on their class page, runs it, and gets the stored result."""
    page = await login_as(browser, base, user.email)
    await page.set_viewport_size(SCREENS[screen]["viewport"])  # type: ignore[arg-type]
    errors = await watched(page)
    await page.goto("/my")
    await page.get_by_role("link", name="Live talk").first.click()
    await page.get_by_role("link", name="Check your setup before your first class").click()
    await page.wait_for_url("**/check")
    await page.get_by_text("You have not checked your setup yet.").wait_for()
    await page.get_by_role("button", name="Start the check").click()
    await page.wait_for_function("() => window.kelasCheck.result !== null", timeout=30000)
    result = await page.evaluate("() => window.kelasCheck.result")
    await page.get_by_role("button", name="Check again").wait_for()
    assert errors == [], errors
    return page, result


@pytest.mark.parametrize("screen", ["laptop", "phone"])
async def test_a_student_checks_their_setup_and_the_coordinator_sees_it(
    browser: Browser, live_url: str, database_url: str, screen: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    board = await login_as(browser, live_url, users["Citra Coordinator"].email)
    await board.set_viewport_size(SCREENS[screen]["viewport"])  # type: ignore[arg-type]
    board_errors = await watched(board)
    await board.goto("/live")
    card = board.locator(f'#board-soon [data-lesson="{lesson_id}"]')
    unready = card.locator(".board-unready")
    await unready.get_by_text("Sinta Student: not checked").wait_for()
    assert "Tari Tutor: not checked" in await unready.inner_text()
    await snapshot(board, f"check-coordinator-before-{screen}")

    page, result = await run_check(browser, live_url, users["Sinta Student"], screen)
    # Chromium's fake devices, and the direct path to the server on this machine (no STUN or
    # TURN here): each step says what it found, and the server kept what it proved.
    assert (result["mic"], result["camera"]) == ("ok", "ok"), result
    assert (result["udp"], result["relay"], result["stun"]) == ("ok", "none", "none"), result
    assert result["verdict"] in ("ok", "warn") and "no_path" not in result["reasons"]
    assert result["rtt_ms"] is not None and result["down_kbps"] and result["up_kbps"]
    for step in ("mic", "camera", "udp"):
        assert (
            await page.locator(f'#steps [data-step="{step}"]').get_attribute("data-status") == "ok"
        )
    assert await page.locator('#steps [data-step="relay"]').get_attribute("data-status") == "none"
    text = await page.locator("#check-result").inner_text()
    assert "Saved." in text
    assert "Round trip" in await page.locator('#steps [data-step="network"]').inner_text()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SCREENS[screen]["viewport"]["width"], width  # type: ignore[index]
    await snapshot(page, f"check-student-{screen}")
    # The page remembers it on the next visit.
    await page.reload()
    await page.get_by_text("Your last check").wait_for()

    # The coordinator: Sinta is off the list (Tari and Bayu are not), on the board and on
    # the class's page.
    await board.reload()
    await unready.get_by_text("Bayu Student: not checked").wait_for()
    assert "Sinta Student" not in await unready.inner_text()
    await snapshot(board, f"check-coordinator-after-{screen}")
    await board.goto(f"/classes/{lesson_id}")
    sinta = board.locator(f'tr[data-student="{users["Sinta Student"].id}"] [data-standing]')
    assert await sinta.get_attribute("data-standing") in ("ready", "warn")
    bayu = board.locator(f'tr[data-student="{users["Bayu Student"].id}"] [data-standing]')
    assert await bayu.get_attribute("data-standing") == "never"
    await snapshot(board, f"check-class-page-{screen}")
    assert board_errors == [], board_errors
    for p in (page, board):
        await p.context.close()
