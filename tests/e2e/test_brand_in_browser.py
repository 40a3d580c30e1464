"""Kelas shows its own logo in the header and as the tab's icon."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import snapshot
from tests.e2e.people import sign_in, visit


@pytest.mark.parametrize("screen", ["laptop", "phone"])
async def test_the_logo_and_the_favicon_are_ours(
    browser: Browser, live_url: str, screen: str
) -> None:
    for page in (
        await visit(browser, live_url, "en", screen),
        await sign_in(browser, live_url, "dewi", "en", screen),
    ):
        await page.goto("/")  # a visitor lands on the login, a student on their classes
        icon = await page.locator("link[rel=icon]").get_attribute("href")
        assert icon
        answer = await page.request.get(icon)
        assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")
        logo = page.locator("header .brand img")
        await expect(logo).to_be_visible()
        drawn = await logo.evaluate("img => img.complete && img.naturalWidth > 0")
        assert drawn, "the logo did not load"
        box = await logo.bounding_box()
        assert box and 24 <= box["width"] <= 40 and 24 <= box["height"] <= 40
        await expect(page.get_by_role("link", name="Kelas", exact=True)).to_be_visible()
        await snapshot(page, f"brand-{screen}-{'member' if '/my' in page.url else 'visitor'}")
