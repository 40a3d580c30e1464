"""The school report's speaking balance and ratings, a tutor's and a student's progress
trends, in a real browser on a laptop and a phone, in English and Bahasa Indonesia: the
sections there, their charts drawn within the screen and legible, nothing wider than the
screen, a CSV downloaded; screenshots of each."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from classroom import demo
from classroom.db import create_engine, create_sessionmaker
from classroom.models import User
from tests.e2e.conftest import downloaded, snapshot
from tests.e2e.people import SCREENS, sign_in, visit
from tests.e2e.test_reports_in_browser import People
from tests.report_school import seed
from tests.report_sections import add_sections


async def _chart_fits(chart: Locator, width: int) -> None:
    box = await chart.bounding_box()
    assert box is not None and 0 < box["width"] <= width and box["height"] > 30, box
    assert await chart.get_attribute("role") == "img"
    label = await chart.locator(".chart-label").first.bounding_box()
    assert label is not None and label["height"] >= 10, label  # legible on any screen


async def _fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width


async def _log_in(browser: Browser, base: str, user: User, language: str, screen: str) -> Page:
    page = await visit(browser, base, language, screen)
    await page.goto("/login")
    await page.locator("input[name=email]").fill(user.email)
    await page.locator("input[name=password]").fill(demo.PASSWORD)
    await page.locator("form[action='/login'] button[type=submit]").click()
    await page.wait_for_load_state()
    if language != "en":
        await page.goto("/account")
        await page.locator("select[name=language]").select_option(language)
        await page.locator("form[action='/account'] button[type=submit]").click()
        await page.wait_for_url("**/account?saved=1")
    return page


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize("screen", ["laptop", "phone"])
async def test_speaking_ratings_and_progress_trends(
    browser: Browser, live_url: str, database_url: str, language: str, screen: str
) -> None:
    engine = create_engine(database_url)
    people = People(create_sessionmaker(engine))
    seeded = await seed(people)
    await add_sections(people, seeded)
    await engine.dispose()
    width = SCREENS[screen]["viewport"]["width"]  # type: ignore[index]
    period = f"since={seeded.since}&until={seeded.until}"
    name = f"{language}-{screen}"

    page = await sign_in(browser, live_url, "coordinator", language, screen)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"/reports?{period}")
    speaking, ratings = page.locator("section#speaking"), page.locator("section#ratings")
    await expect(speaking).to_be_visible()
    await expect(ratings).to_be_visible()
    await _chart_fits(speaking.locator("svg.chart"), width)
    await expect(speaking.locator("svg.chart .chart-bar")).to_have_count(2)  # Ayu, Budi
    await expect(speaking.locator("svg.chart .chart-marker")).to_have_count(1)
    await expect(speaking.locator("table")).to_have_count(3)
    await expect(ratings.locator("tbody tr")).to_have_count(2)
    await expect(ratings).to_contain_text("Useful corrections")
    await _fits(page, width)
    await speaking.screenshot(path=f"test-artifacts/sections-speaking-{name}.png")
    await ratings.screenshot(path=f"test-artifacts/sections-ratings-{name}.png")
    async with page.expect_download() as download:
        await ratings.locator("a.csv").click()
    file = await download.value
    assert file.suggested_filename.startswith("kelas-ratings-")
    head = (await downloaded(file)).splitlines()[0]
    assert "," in head, head  # the CSV's header row

    # Ayu's teaching, as the coordinator sees it from the report.
    await page.goto(f"/people/{seeded.ayu.id}/progress?{period}")
    mine = page.locator("section#speaking")
    await _chart_fits(mine.locator("svg.chart"), width)
    await expect(mine.locator("svg.chart .chart-bar")).to_have_count(2)  # L1, L2
    await expect(page.locator("section#ratings")).to_contain_text("Great class, I spoke a lot")
    await _fits(page, width)
    await snapshot(page, f"sections-tutor-{name}")
    assert errors == [], errors
    await page.context.close()

    # S1's own progress: speaking, level over time, notes to review.
    page = await _log_in(browser, live_url, seeded.students[0], language, screen)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"/progress?{period}")
    for section, bars in (("speaking", 3), ("levels", 3)):
        chart = page.locator(f"section#{section} svg.chart")
        await _chart_fits(chart, width)
        await expect(chart.locator(".chart-bar")).to_have_count(bars)
    review = page.locator("section#review")
    await expect(review.locator("li")).to_have_count(3)
    await expect(review).to_contain_text("I go home")
    await expect(review).not_to_contain_text("a secret for S2")
    await _fits(page, width)
    for section in ("speaking", "levels", "review"):
        await page.locator(f"section#{section}").screenshot(
            path=f"test-artifacts/sections-student-{section}-{name}.png"
        )
    await snapshot(page, f"sections-student-{name}")
    assert errors == [], errors
    await page.context.close()
