"""A newcomer's tour in a real browser: plan a series, assign a tutor, book, cancel, wait."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Browser, expect

from classroom import demo
from tests.conftest import now
from tests.e2e.conftest import login, snapshot

D = demo.DOMAIN


async def test_coordinator_creates_a_weekly_series_and_assigns_a_tutor(
    browser: Browser, live_url: str
) -> None:
    page = await login(browser, live_url, f"coordinator@{D}")
    await expect(page.get_by_role("heading", name="Planning")).to_be_visible()
    await snapshot(page, "coordinator-planning")
    await page.get_by_role("link", name="New weekly series").click()
    await page.get_by_role("button", name="Create series").click()  # empty form first
    await expect(page.get_by_text("Please correct the marked fields.")).to_be_visible()
    await page.get_by_label("Topic").fill("Conversation club")
    await page.get_by_label("Level (CEFR)").select_option("B2")
    await page.get_by_label("Monday").check()
    await page.get_by_label("Wednesday").check()
    await page.get_by_label("At (local time)").fill("19:00")
    await page.get_by_label("Time zone").fill("Asia/Jakarta")
    start = (now() + timedelta(days=1)).date().isoformat()
    await page.get_by_label("From", exact=True).fill(start)
    await page.get_by_label("For how many weeks").fill("8")
    await page.get_by_role("button", name="Create series").click()
    await expect(page.get_by_role("heading", name="Conversation club")).to_be_visible()
    await page.get_by_label("Assign", exact=True).select_option(label="Citra Wijaya")
    await page.get_by_label("All upcoming classes of the series").check()
    await page.get_by_role("button", name="Save tutor").click()
    await page.wait_for_load_state()
    if await page.get_by_role("link", name="Go to the class").count():
        await page.get_by_role("link", name="Go to the class").click()
    await expect(page.get_by_text("Tutor: Citra Wijaya")).to_be_visible()
    await snapshot(page, "coordinator-series-assigned")


async def test_student_books_cancels_and_joins_a_waitlist(browser: Browser, live_url: str) -> None:
    page = await login(browser, live_url, f"oka@{D}")
    await expect(page.get_by_role("heading", name="My classes")).to_be_visible()
    await page.get_by_role("navigation").get_by_role("link", name="Find a class").click()
    await page.get_by_label("Topic").fill("Phone")
    await page.get_by_role("button", name="Filter").click()
    await page.get_by_role("link", name="Phone calls").click()
    await page.get_by_role("button", name="Book a seat").click()
    await expect(page.get_by_text("You are booked. See you in class!")).to_be_visible()
    await snapshot(page, "student-booked")
    await page.get_by_role("button", name="Cancel my booking").click()
    await expect(page.get_by_text("Your booking is cancelled.")).to_be_visible()
    await page.get_by_role("navigation").get_by_role("link", name="Find a class").click()
    await page.get_by_role("link", name="Travel stories").click()
    await expect(page.get_by_text("This class is full.")).to_be_visible()
    await page.get_by_role("button", name="Join the waitlist").click()
    await expect(page.get_by_text("On the waitlist, position 2")).to_be_visible()
    await page.get_by_role("navigation").get_by_role("link", name="My classes").click()
    await expect(page.get_by_text("On the waitlist, position 2")).to_be_visible()
    await snapshot(page, "student-my-classes")


async def test_tutor_sees_the_teaching_week_on_a_phone(browser: Browser, live_url: str) -> None:
    page = await login(
        browser, live_url, f"ayu@{D}", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    await expect(page.get_by_role("heading", name="My teaching week")).to_be_visible()
    await expect(page.get_by_text("Small talk at work").first).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    await snapshot(page, "tutor-week-phone")


async def test_the_booking_flow_works_from_the_keyboard(browser: Browser, live_url: str) -> None:
    page = await (await browser.new_context(base_url=live_url)).new_page()
    await page.goto("/login")
    await expect(page.get_by_label("E-mail")).to_be_focused()  # focus on arrival
    await page.keyboard.type(f"nur@{D}")
    await page.keyboard.press("Tab")
    await page.keyboard.type(demo.PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="My classes")).to_be_visible()
    await page.goto("/classes?topic=Pronunciation")
    link = page.get_by_role("link", name="Pronunciation clinic")
    await link.focus()
    await page.keyboard.press("Enter")
    button = page.get_by_role("button", name="Book a seat")
    await button.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("You are booked. See you in class!")).to_be_visible()
