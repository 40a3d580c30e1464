"""The school report and the rates form in a real browser, on a laptop and a phone, in
English and Bahasa Indonesia: the sections and their charts drawn and legible, nothing wider
than the screen, a bad amount marked at its field, a good one saved."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import accounts, demo
from classroom.db import create_engine, create_sessionmaker
from classroom.models import Role, User
from tests.conftest import now
from tests.e2e.conftest import downloaded, snapshot
from tests.e2e.people import SCREENS, sign_in
from tests.report_school import seed


class People:
    """The seeded school's people, beside the demo school's, with the demo's password."""

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self.maker = maker
        self.counter = 0

    async def person(self, role: Role, name: str | None = None, **kw: Any) -> User:
        self.counter += 1
        async with self.maker.begin() as db:
            return await accounts.create_user(
                db,
                email=f"seeded{self.counter}@report.example.com",
                name=name or f"Seeded {self.counter}",
                role=role,
                password_hash=await accounts.Passwords("CHEAPEST").hash(demo.PASSWORD),
                timezone="Asia/Jakarta",
                language="en",
                now=now(),
            )


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize("screen", ["laptop", "phone"])
async def test_the_school_report_and_the_rates_form(
    browser: Browser, live_url: str, database_url: str, language: str, screen: str
) -> None:
    engine = create_engine(database_url)
    seeded = await seed(People(create_sessionmaker(engine)))
    await engine.dispose()
    width = SCREENS[screen]["viewport"]["width"]  # type: ignore[index]
    page = await sign_in(browser, live_url, "coordinator", language, screen)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    await page.goto(f"/reports?since={seeded.since}&until={seeded.until}")
    for section in ("classes", "attendance", "weeks", "lecturers", "pay", "students"):
        await expect(page.locator(f"section#{section}")).to_be_visible()
    charts = page.locator("svg.chart")
    await expect(charts).to_have_count(3)
    for n in range(3):
        chart = charts.nth(n)
        box = await chart.bounding_box()
        assert box is not None and 0 < box["width"] <= width and box["height"] > 40, box
        assert await chart.get_attribute("role") == "img"
        assert await chart.locator("title").text_content()
        # Legible: a label drawn at least 10 CSS pixels high on any screen.
        label = await chart.locator(".chart-label").first.bounding_box()
        assert label is not None and label["height"] >= 10, label
        bars = await chart.locator(".chart-bar").count()
        assert bars >= 2
    pay = await page.locator("section#pay").inner_text()
    assert "Ayu" in pay and ("IDR340,000" in pay or "Rp340.000" in pay), pay
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    await snapshot(page, f"report-{language}-{screen}")
    await charts.nth(2).screenshot(path=f"test-artifacts/report-{language}-{screen}-chart.png")
    async with page.expect_download() as download:
        await page.locator("section#pay a.csv").first.click()
    file = await download.value
    assert file.suggested_filename.startswith("kelas-pay-")
    head = (await downloaded(file)).splitlines()[0]
    assert "," in head, head  # the CSV's header row

    await page.goto("/rates")
    form = page.locator("form[action='/rates']")
    await form.locator("[name=tutor_id]").select_option(str(seeded.citra.id))
    await form.locator("[name=amount]").fill("150.000")
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    await expect(page.locator("#f-amount")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-amount")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    await snapshot(page, f"report-rates-{language}-{screen}-error")
    await page.locator("#f-amount").fill("95000")
    await page.locator("form[action='/rates'] button[type=submit]").click()
    await page.wait_for_load_state()
    await expect(page.locator(".notice.ok")).to_contain_text("Citra")
    await snapshot(page, f"report-rates-{language}-{screen}")

    # A student's progress, as the coordinator sees it from the report's student table.
    student = seeded.students[0]
    await page.goto(f"/people/{student.id}/progress?since={seeded.since}&until={seeded.until}")
    await expect(page.locator("section#attendance svg.chart")).to_be_visible()
    await expect(page.locator("section#attendance tbody tr")).to_have_count(5)
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    await snapshot(page, f"report-progress-{language}-{screen}")
    assert errors == [], errors
    await page.context.close()
