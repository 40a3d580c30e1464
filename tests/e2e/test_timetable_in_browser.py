"""The coordinators' timetable in a real browser, on a laptop and on a phone."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.async_api import Browser, Page, expect

from classroom import accounts, demo
from classroom.accounts import Passwords
from classroom.db import create_engine, create_sessionmaker
from classroom.models import Level, Role
from tests.conftest import now
from tests.e2e.conftest import login, snapshot
from tests.helpers import add_lesson

MONDAY = date(2030, 3, 4)
WEEK = f"/planning?week={MONDAY}"
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
NAMES = ["Agus Halim", "Bayu Putra", "Dian Rahman", "Endah Susanto", "Farah Tanjung",
         "Gilang Wibowo", "Hana Siregar", "Irfan Gunawan"]  # fmt: skip
TOPICS = ["Small talk at work", "Ordering food", "Job interviews", "Travel plans", "Hobbies"]


@pytest.fixture
async def busy_week(database_url: str, live_url: str) -> str:
    """Eight more lecturers with classes all week, and a crowded day without lecturers."""
    engine = create_engine(database_url)
    maker = create_sessionmaker(engine)
    password = await Passwords("CHEAPEST").hash(demo.PASSWORD)
    levels = list(Level)
    async with maker.begin() as db:
        for n, name in enumerate(NAMES):
            tutor = await accounts.create_user(
                db, email=f"tt{n}@{demo.DOMAIN}", name=name, role=Role.TUTOR,
                password_hash=password, timezone="Asia/Jakarta", language="en", now=now(),
            )  # fmt: skip
            for day in range(n % 3, 7, 2):
                topic = TOPICS[(n + day) % len(TOPICS)]
                add_lesson(db, MONDAY, day, 8 + n, tutor, levels[(n + day) % 4], topic)
        for hour in range(8, 17):  # more than a week cell lists
            add_lesson(db, MONDAY, 2, hour, None, levels[hour % 4], f"Drop-in {hour}:00")
        add_lesson(db, MONDAY, 4, 19, None, Level.B2, "Debate evening")
    await engine.dispose()
    return live_url


async def open_timetable(browser: Browser, base: str, **context: object) -> Page:
    page = await login(browser, base, f"coordinator@{demo.DOMAIN}", **context)
    await expect(page.get_by_role("heading", name="Planning")).to_be_visible()
    await page.goto(WEEK)
    await expect(page.get_by_role("table", name="Classes by tutor and day")).to_be_visible()
    return page


async def test_a_coordinator_plans_on_a_laptop(browser: Browser, busy_week: str) -> None:
    page = await open_timetable(browser, busy_week, **LAPTOP)
    table = page.get_by_role("table", name="Classes by tutor and day")
    first_row = table.get_by_role("row").nth(1)
    await expect(first_row.get_by_role("rowheader")).to_contain_text("No tutor yet")
    await expect(table.get_by_role("columnheader", name="Wed 6 Mar")).to_be_visible()
    await expect(first_row.get_by_role("link", name="3 more")).to_be_visible()
    await expect(page.get_by_text("10 classes have no tutor")).to_be_visible()
    await snapshot(page, "coordinator-timetable-laptop")

    # Filters from the keyboard: a level and "no lecturer yet".
    await page.get_by_label("Level", exact=True).select_option("B2")
    await page.get_by_label("No tutor yet").check()
    await page.get_by_label("No tutor yet").press("Enter")
    await expect(
        page.get_by_role("link", name=re.compile(r"^19:00 Debate evening\b"))
    ).to_be_visible()
    await expect(table.get_by_role("rowheader")).to_have_count(1)
    await expect(page.get_by_role("link", name="Small talk at work")).to_have_count(0)

    # The crowded day lists every class; assigning one goes straight to the form.
    await page.goto(WEEK)
    await page.get_by_role("link", name="3 more").click()
    await expect(page.get_by_role("table", name="Classes by tutor and day")).to_be_visible()
    await expect(
        page.get_by_role("link", name=re.compile(r"^16:00 Drop-in 16:00\b"))
    ).to_be_visible()
    await expect(page.get_by_role("columnheader")).to_have_count(2)
    await page.get_by_role("link", name="Assign – Drop-in 16:00").click()
    await expect(page.get_by_role("heading", name="Drop-in 16:00")).to_be_visible()
    await expect(page.get_by_label("Assign", exact=True)).to_be_in_viewport()
    await page.get_by_label("Assign", exact=True).select_option(label="Citra Wijaya")
    await page.get_by_role("button", name="Save tutor").click()
    await page.wait_for_load_state()
    await page.goto(WEEK + "&lecturer=citra")
    await expect(
        page.get_by_role("link", name=re.compile(r"^16:00 Drop-in 16:00\b"))
    ).to_be_visible()

    await page.goto(WEEK + "&rows=levels")
    levels = page.get_by_role("table", name="Classes by level and day")
    await expect(levels.get_by_role("rowheader").first).to_contain_text("A1")
    await snapshot(page, "coordinator-timetable-levels-laptop")


async def test_a_coordinator_plans_on_a_phone(browser: Browser, busy_week: str) -> None:
    page = await open_timetable(browser, busy_week, **PHONE)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone (only the table should)"
    await snapshot(page, "coordinator-timetable-phone")
    region = page.get_by_role("region", name="Classes by tutor and day")
    header = page.get_by_role("rowheader").nth(1)
    before = await header.bounding_box()
    await region.focus()  # the table scrolls from the keyboard too
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowRight")
    await region.evaluate("el => el.scrollBy(600, 0)")
    scrolled = await region.evaluate("el => el.scrollLeft")
    after = await header.bounding_box()
    assert scrolled > 0 and before and after and after["x"] == before["x"], "row headers stick"

    await (
        page.get_by_role("navigation", name="Whole week or one day")
        .get_by_role("link", name="Wed 6 Mar")
        .click()
    )
    await expect(page.get_by_role("columnheader")).to_have_count(2)
    await expect(
        page.get_by_role("link", name=re.compile(r"^16:00 Drop-in 16:00\b"))
    ).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    region_width = await region.evaluate("el => el.scrollWidth - el.clientWidth")
    assert width <= 390 and region_width <= 1, "one day fits a phone without scrolling"
    await snapshot(page, "coordinator-timetable-phone-day")
