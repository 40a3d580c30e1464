"""A page whose module did not arrive whole, in real Chromium (web/static/loaded.js).

When the network changes under a loading page, Chromium fails what it has in flight
(ERR_NETWORK_CHANGED), a module's imports among them; the module never runs and its buttons do
nothing. Here the browser itself fails one import of the live page, as it does then: the page
loads itself once more and works. When the import keeps failing, the page says so, in the
person's language, and loads again when asked."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.e2e.conftest import snapshot
from tests.e2e.live_class import class_with_people, open_live

UNLOADED = {
    "en": "This page did not load completely",
    "id": "Halaman ini tidak termuat sepenuhnya",
}
RAN = "() => window.kelasLive !== undefined"


def _loads(page: Page) -> list[str]:
    """The documents the page asked for, from now on (a document replaced before its load
    event would not count as a load)."""
    loads: list[str] = []
    page.on(
        "request",
        lambda request: loads.append(request.url) if request.is_navigation_request() else None,
    )
    return loads


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_page_whose_import_failed_loads_itself_once_more_then_says_so(
    browser: Browser, live_url: str, database_url: str, language: str
) -> None:
    lesson_id, users = await class_with_people(database_url, {"Sinta Student": language})
    page = await open_live(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    await page.wait_for_function(RAN)
    notice = page.locator("#unloaded")
    await expect(notice).to_be_hidden()

    # One import fails once, as a network change fails it: the page comes back by itself.
    failed: list[str] = []

    async def fail_once(route: Route) -> None:
        if failed:
            await route.continue_()
        else:
            failed.append(route.request.url)
            await route.abort("internetdisconnected")

    await page.route("**/live/stage.js*", fail_once)
    loads = _loads(page)
    await page.reload()
    await page.wait_for_function(RAN)
    assert len(failed) == 1
    assert len(loads) == 2, loads  # the reload asked for, and the page's own
    await expect(notice).to_be_hidden()
    await page.unroute("**/live/stage.js*")

    # It keeps failing: one more load, then words and a button, not a page that sits dead.
    await page.evaluate("sessionStorage.clear()")
    await page.route("**/live/stage.js*", lambda route: route.abort("internetdisconnected"))
    loads.clear()
    await page.reload()
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text(UNLOADED[language])
    assert len(loads) == 2, loads
    assert not await page.evaluate(RAN)
    await snapshot(page, f"page-load-failed-{language}")

    # The network is back: the person's click loads it, and the class page works again.
    await page.unroute("**/live/stage.js*")
    await notice.get_by_role("button").click()
    await page.wait_for_function(RAN)
    await expect(notice).to_be_hidden()
    await expect(page.locator("#join")).to_be_enabled()
