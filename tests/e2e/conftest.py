"""Real-browser tests: the real server on a random port, demo data, headless Chromium.

Chromium comes from Debian (scripts/setup installs it); Playwright drives it through the
driver shipped in its wheel. Screenshots are kept in test-artifacts/ as evidence.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from playwright.async_api import Browser, Download, Page, async_playwright

from classroom import demo
from classroom.accounts import Passwords
from classroom.db import create_engine, create_sessionmaker
from tests import netns
from tests.conftest import now
from web.app import create_app
from web.settings import Settings

ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
]  # fmt: skip


def flags(base: str) -> list[str]:
    """FLAGS for a server at ``base`` on an address other than loopback: Chromium must not map
    that address away (it maps even an address it is given), and must treat its plain http
    origin as secure, as it does 127.0.0.1's (else it hides its ICE candidates behind mDNS
    names, which the server cannot resolve, and the page's media never starts)."""
    host = urlsplit(base).hostname
    mapped = [f.replace("EXCLUDE 127.0.0.1", f"EXCLUDE 127.0.0.1, EXCLUDE {host}") for f in FLAGS]
    return [*mapped, f"--unsafely-treat-insecure-origin-as-secure={base}"]


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The browser tests run on the embedded default only; the API tests cover PostgreSQL."""
    import shutil

    path = tmp_path / "kelas.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite+aiosqlite:///{path}"


@dataclass(frozen=True)
class LiveServer:
    """The running server: its address, and its app (for a test that reaches the wire)."""

    url: str
    app: web.Application


@pytest.fixture
def live_url(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture
async def live_server(database_url: str) -> AsyncIterator[LiveServer]:
    async with serve(database_url) as server:
        yield server


@contextlib.asynccontextmanager
async def serve(
    database_url: str, host: str = "127.0.0.1", **settings: Any
) -> AsyncIterator[LiveServer]:
    """The app with the demo school, on a free port of ``host``; ``settings`` go to Settings."""
    engine = create_engine(database_url)
    async with create_sessionmaker(engine).begin() as session:
        await demo.seed(session, Passwords("CHEAPEST"), now())
    await engine.dispose()
    sock = socket.socket()
    sock.bind((host, 0))  # a free port, known before the app is built
    base = f"http://{host}:{sock.getsockname()[1]}"
    made = Settings(
        database_url=database_url,
        secret_key="e2e-secret",
        base_url=base,
        password_profile="CHEAPEST",
        **settings,
    )
    app = create_app(made)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield LiveServer(base, app)
    finally:
        await runner.cleanup()


@pytest.fixture
async def browser(live_url: str) -> AsyncIterator[Browser]:
    """Closed before the server stops (it depends on it), so no page holds a socket open."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        # Each context first: Chromium's close can hang on a context with a download still
        # in progress, and closing that context first does not (microsoft/playwright#22185).
        for context in launched.contexts:
            await context.close()
        await launched.close()


@pytest.fixture
def link() -> Iterator[netns.Link]:
    """A network namespace behind a link of its own (tests/netns.py), removed after the test."""
    with netns.link() as made:
        yield made


async def login(browser: Browser, base: str, email: str, **context: object) -> Page:
    page = await (await browser.new_context(base_url=base, **context)).new_page()  # type: ignore[arg-type]
    await page.goto("/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(demo.PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state()
    return page


async def downloaded(download: Download) -> str:
    """The text of a file the page downloaded, once it has all arrived. Waiting for it also
    keeps the browser from closing on a download still in progress, which can hang Chromium's
    close (microsoft/playwright#22185)."""
    path = await download.path()
    assert path is not None, await download.failure()
    return path.read_text(encoding="utf-8-sig")


async def snapshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
