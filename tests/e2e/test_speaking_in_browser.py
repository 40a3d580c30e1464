"""The speaking view in real browsers: the tutor opens it with the S key (not always on),
sees the balance, each student's share against a fair one and their turns, and a short
prompt when they have spoken too much of the last (tiny, for the test) window; a student has
no such view by default. In English on a laptop and in Indonesian on a phone, each also shot
at the other size. Everyone's fake microphone plays a tone: all speak all the time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from signaling.speaking import Rules
from tests.e2e.conftest import serve, snapshot
from tests.e2e.live_class import class_with_people, enter

SCREENS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
CASES = [("en", "laptop"), ("id", "phone")]


@pytest.fixture
async def live_url(database_url: str) -> AsyncIterator[str]:
    rules = Rules(silent_after_s=120.0, tutor_share=0.3, window_s=4.0)
    async with serve(database_url, speaking=rules) as server:
        yield server.url


@pytest.mark.parametrize(("language", "screen"), CASES)
async def test_the_tutor_opens_the_speaking_view_and_gets_a_prompt(
    browser: Browser, live_url: str, database_url: str, language: str, screen: str
) -> None:
    speakers = {"Tari Tutor": language, "Sinta Student": language, "Bayu Student": language}
    lesson_id, users = await class_with_people(database_url, languages=speakers)
    tutor = await enter(
        browser, live_url, "Tari Tutor", users["Tari Tutor"], lesson_id, viewport=SCREENS[screen]
    )
    # The tutor is quiet until everyone is in: the prompt, shown for 10 s, comes once the
    # tutor has spoken 30 % of the (4 s) window, whenever the students took to join.
    await tutor.wait_for_function("() => window.kelasLive?.media != null")
    mic = tutor.locator("#controls #mic")
    await mic.click()
    await tutor.wait_for_function("() => window.kelasLive.mic === false")
    sinta = await enter(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    bayu = await enter(browser, live_url, "Bayu Student", users["Bayu Student"], lesson_id)
    for page in (tutor, sinta, bayu):
        await page.wait_for_function("() => window.kelasLive?.media != null")
    panel = tutor.locator("#speaking-panel")
    await expect(panel).to_be_hidden()  # nothing shows until the tutor asks
    await tutor.locator("body").press("s")
    await expect(panel).to_be_visible()
    await expect(tutor.locator("#speaking-toggle")).to_have_attribute("aria-expanded", "true")
    rows = panel.locator("tbody tr")
    await expect(rows).to_have_count(3, timeout=15000)
    await expect(rows.first).to_contain_text("Tari Tutor")
    # Both students speak (their tones): each has a share against a fair 50%.
    for name in ("Sinta Student", "Bayu Student"):
        row = panel.locator(f'tbody tr[data-user="{users[name].id}"]')
        await expect(row).to_contain_text("50%", timeout=15000)
    prompt = tutor.locator("#speaking-prompt")
    await expect(prompt).to_be_hidden()
    await mic.press("Enter")  # from the keyboard: on a phone the open panel covers it
    await tutor.wait_for_function("() => window.kelasLive.mic === true")
    await expect(prompt).to_be_visible(timeout=15000)
    await expect(prompt).to_contain_text("%")
    other = "phone" if screen == "laptop" else "laptop"
    await snapshot(tutor, f"speaking-{language}-{screen}")
    await tutor.set_viewport_size(SCREENS[other])
    await snapshot(tutor, f"speaking-{language}-{other}")
    # The prompt goes away by itself; the panel closes with its button.
    await expect(prompt).to_be_hidden(timeout=15000)
    await panel.locator("#speaking-close").click()
    await expect(panel).to_be_hidden()
    # A student has no speaking view unless the school shows students their share.
    await expect(sinta.locator("#controls #mic")).to_be_visible()
    await expect(sinta.locator("#speaking-toggle")).to_have_count(0)
    await sinta.locator("body").press("s")
    await expect(sinta.locator("#speaking-panel")).to_be_hidden()
    await expect(sinta.locator("#speaking-prompt")).to_be_hidden()
    # The tutor ends the class: the class page shows the figures kept, beside attendance.
    tutor.on("dialog", lambda dialog: dialog.accept())
    await tutor.locator("#end").click()
    await expect(sinta.locator("#banner")).to_be_visible()
    await tutor.goto(f"/classes/{lesson_id}")
    table = tutor.locator("table#speaking")
    await expect(table.locator("tbody tr")).to_have_count(3)
    await expect(tutor.locator("#speaking-balance")).to_contain_text("%")
    await snapshot(tutor, f"speaking-class-page-{language}-{other}")
    await tutor.set_viewport_size(SCREENS[screen])
    await snapshot(tutor, f"speaking-class-page-{language}-{screen}")
