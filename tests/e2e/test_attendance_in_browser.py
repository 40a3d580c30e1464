"""Attendance after class in a real browser: the class page's attendance table, a
coordinator's correction, and the no-show report, on a laptop and on a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser

from classroom import attendance, live
from classroom.db import create_engine, create_sessionmaker
from tests.conftest import now
from tests.e2e.conftest import snapshot
from tests.e2e.live_class import class_with_people, login_as

SCREENS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("screen", ["laptop", "phone"])
async def test_a_coordinator_reads_and_corrects_attendance(
    browser: Browser, live_url: str, database_url: str, screen: str
) -> None:
    lesson_id, users = await class_with_people(database_url, moved=-timedelta(hours=2))
    engine = create_engine(database_url)
    started = now() - timedelta(hours=2) + timedelta(minutes=3)
    async with create_sessionmaker(engine).begin() as db:
        await live.record_join(db, lesson_id, users["Tari Tutor"].id, started)
        await live.record_join(db, lesson_id, users["Sinta Student"].id, started)
    async with create_sessionmaker(engine).begin() as db:
        await attendance.close_classes(db, now(), attendance.Policy())
    await engine.dispose()

    page = await login_as(browser, live_url, users["Citra Coordinator"].email)
    await page.set_viewport_size(SCREENS[screen])  # type: ignore[arg-type]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"/classes/{lesson_id}")
    table = page.locator("#attendance")
    bayu = table.locator(f'tr[data-user="{users["Bayu Student"].id}"]')
    assert (
        await bayu.get_by_label("Attendance of Bayu Student", exact=True).input_value() == "no_show"
    )
    await snapshot(page, f"attendance-class-{screen}")
    await bayu.get_by_label("Attendance of Bayu Student", exact=True).select_option("present")
    await bayu.get_by_role("button", name="Correct the attendance of Bayu Student").click()
    await page.get_by_text("Saved.").wait_for()
    bayu = page.locator(f'#attendance tr[data-user="{users["Bayu Student"].id}"]')
    assert "corrected" in await bayu.inner_text()

    await page.goto("/reports/attendance")
    report = await page.locator("main").inner_text()
    assert "Sinta Student" in report and "Bayu Student" in report and "Live talk" in report
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SCREENS[screen]["width"], width
    await snapshot(page, f"attendance-report-{screen}")
    assert errors == [], errors
    await page.context.close()
