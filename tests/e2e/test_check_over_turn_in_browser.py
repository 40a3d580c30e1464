"""The setup check in a real browser at a school with a TURN server (a real coturn, the
shipped configuration): Chromium gathers a relay candidate and reaches the server's peer
through the relay too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aioice.ice import get_host_addresses
from playwright.async_api import Browser

from tests.conftest import TurnFactory
from tests.e2e.conftest import LiveServer, serve, snapshot
from tests.e2e.live_class import class_with_people, login_as


@pytest.fixture
async def live_server(database_url: str, start_turn: TurnFactory) -> AsyncIterator[LiveServer]:
    """The relay's peers are this machine's own addresses, which the shipped configuration
    denies (they may be private): this coturn allows exactly those."""
    turn = await start_turn(allowed_peers=tuple(get_host_addresses(True, True)))
    udp, tcp, _ = turn.urls()
    stun = udp.replace("turn:", "stun:").split("?")[0]
    changes = {"stun_urls": (stun,), "turn_urls": (udp, tcp), "turn_secret": turn.secret}
    async with serve(database_url, **changes) as server:
        yield server


async def test_the_check_goes_through_the_relay_too(
    browser: Browser, live_url: str, database_url: str
) -> None:
    _, users = await class_with_people(database_url)
    page = await login_as(browser, live_url, users["Bayu Student"].email)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto("/check")
    await page.get_by_role("button", name="Start the check").click()
    await page.wait_for_function("() => window.kelasCheck.result !== null", timeout=40000)
    result = await page.evaluate("() => window.kelasCheck.result")
    assert (result["udp"], result["relay"], result["turn"]) == ("ok", "ok", "ok"), result
    assert result["stun"] == "ok", result
    relay = page.locator('#steps [data-step="relay"]')
    assert await relay.get_attribute("data-status") == "ok"
    assert "get through the relay" in await relay.inner_text()
    await snapshot(page, "check-student-turn-laptop")
    assert errors == [], errors
    await page.context.close()
