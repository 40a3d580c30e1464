"""A coordinator substitutes the tutor of a class from the same ranked suggestions that an
unassigned class shows."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import snapshot
from tests.e2e.people import sign_in


@pytest.mark.parametrize("screen", ["laptop", "phone"])
async def test_substituting_a_tutor_offers_the_free_ones_least_loaded_first(
    browser: Browser, live_url: str, screen: str
) -> None:
    page = await sign_in(browser, live_url, "coordinator", "en", screen)
    await page.goto("/classes?topic=Ordering")
    await page.get_by_role("link", name="Ordering food").click()
    await expect(page.get_by_text("Tutor: Budi Santoso")).to_be_visible()
    await expect(page.get_by_text("Free and available, least loaded first")).to_be_visible()
    offered = page.get_by_role("button", name="Assign ")
    names = [(await offered.nth(i).inner_text()).strip() for i in range(await offered.count())]
    assert names and "Budi Santoso" not in names, names  # the tutor it has is busy with it
    loads = page.locator("aside li .muted")
    counts = [int((await loads.nth(i).inner_text()).split()[0]) for i in range(len(names))]
    assert counts == sorted(counts), counts
    await snapshot(page, f"substitute-suggestions-{screen}")
    await offered.first.click()
    await page.wait_for_load_state()
    if await page.get_by_role("link", name="Go to the class").count():  # a warning page first
        await page.get_by_role("link", name="Go to the class").click()
    await expect(page.get_by_text(f"Tutor: {names[0]}")).to_be_visible()
    await snapshot(page, f"substitute-done-{screen}")
