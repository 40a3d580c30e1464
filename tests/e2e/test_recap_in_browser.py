"""Notes, the class report and the recap in a real browser: during class the tutor presses N,
writes a correction for Sinta, and Sinta sees it appear; after class the tutor files the
report (pre-filled from the note), Sinta opens her recap and rates the class. Screenshots of
each page on a laptop and a phone, in English and Indonesian."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Browser, Page
from sqlalchemy import update

from classroom.db import create_engine, create_sessionmaker
from classroom.models import Lesson, User
from tests.conftest import now
from tests.e2e.conftest import snapshot
from tests.e2e.live_class import class_with_people, enter, log_in, login_as
from tests.e2e.people import LAPTOP, PHONE

SCREENS = {"laptop": LAPTOP, "phone": PHONE}


async def fits(page: Page, width: int) -> None:
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, scroll


async def shoot(
    browser: Browser,
    base: str,
    database_url: str,
    errors: list[str],
    pages: list[tuple[User, str, str]],
) -> None:
    """Each page as its person sees it, on both screens and in both languages."""
    engine = create_engine(database_url)
    for language in ("en", "id"):
        async with create_sessionmaker(engine).begin() as db:
            await db.execute(update(User).values(language=language))
        for screen, size in SCREENS.items():
            for who, path, name in pages:
                page = await (await browser.new_context(base_url=base, **size)).new_page()
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await log_in(page, who.email)
                await page.goto(path)
                await fits(page, size["viewport"]["width"])  # type: ignore[index]
                await snapshot(page, f"recap-{name}-{language}-{screen}")
                await page.context.close()
    async with create_sessionmaker(engine).begin() as db:
        await db.execute(update(User).values(language="en"))
    await engine.dispose()


async def test_a_note_in_class_then_the_report_the_recap_and_a_rating(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    tari, sinta = users["Tari Tutor"], users["Sinta Student"]
    errors: list[str] = []
    tutor = await enter(browser, live_url, "Tari Tutor", tari, lesson_id, **LAPTOP)
    student = await enter(browser, live_url, "Sinta Student", sinta, lesson_id, **PHONE)
    for page in (tutor, student):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The tutor's page knows Sinta is here (the box offers her), and has the focus nowhere.
    await tutor.wait_for_function(
        "(id) => window.kelasLive.people.has(id)", arg=sinta.id, timeout=15000
    )
    await student.wait_for_function("() => window.kelasLive.room !== null")
    stage = await tutor.locator("#stage").bounding_box()

    await tutor.keyboard.press("n")
    box = tutor.locator("#note-box")
    await box.wait_for(state="visible")
    assert await tutor.evaluate("document.activeElement.id") == "note-text"
    assert await tutor.locator("#note-text").input_value() == ""  # the N was not typed
    # A small box over a corner: the stage keeps its size and most of its picture.
    assert await tutor.locator("#stage").bounding_box() == stage
    opened = await box.bounding_box()
    assert (
        stage
        and opened
        and opened["width"] * opened["height"] < 0.4 * (stage["width"] * stage["height"])
    )
    await tutor.locator("#note-for").select_option(str(sinta.id))
    await tutor.locator("#note-text").fill("I go to home")
    await tutor.locator("#note-better").fill("I go home")
    await snapshot(tutor, "recap-live-note-box-laptop")
    await tutor.locator("#note-better").press("Enter")
    await box.wait_for(state="hidden")

    note = student.locator("#notes-list li", has_text="I go home")
    await note.wait_for(timeout=10000)
    assert "I go to home" in await note.inner_text()
    await tutor.locator("#notes-list li", has_text="Sinta Student").wait_for()
    await tutor.keyboard.press("n")  # a word for everyone, from the keyboard alone
    await tutor.locator("#note-kind").select_option("word")
    await tutor.locator("#note-for").select_option("")
    await tutor.locator("#note-text").fill("a piece of cake")
    await tutor.locator("#note-text").press("Enter")
    await student.locator("#notes-list li", has_text="a piece of cake").wait_for(timeout=10000)
    await fits(student, 390)
    await snapshot(student, "recap-live-student-phone")
    await snapshot(tutor, "recap-live-tutor-laptop")
    for page in (tutor, student):
        await page.context.close()

    # The class is over.
    engine = create_engine(database_url)
    async with create_sessionmaker(engine).begin() as db:
        ended = now() - timedelta(minutes=1)
        await db.execute(
            update(Lesson)
            .where(Lesson.id == lesson_id)
            .values(starts_at=ended - timedelta(hours=1), ends_at=ended)
        )
    await engine.dispose()

    # The report is missing: the coordinators see it, the tutor too.
    await shoot(browser, live_url, database_url, errors, [
        (users["Citra Coordinator"], "/reports/attendance", "missing"),
        (tari, "/teaching", "teaching"),
    ])  # fmt: skip

    # The tutor files the report: Sinta's comment starts from her note.
    tutor = await login_as(browser, live_url, tari.email)
    await tutor.goto("/teaching")
    await tutor.locator(f'#missing-reports a[href="/classes/{lesson_id}/report"]').click()
    comment = tutor.locator(f"#comment_{sinta.id}")
    assert await comment.input_value() == "“I go to home” → “I go home”"
    await comment.fill("“I go to home” → “I go home”. Good questions today!")
    await tutor.locator(f"#level_{sinta.id}").select_option("B1")
    await tutor.locator("#report-form button[type=submit]").click()  # no summary yet
    await tutor.locator("#summary[aria-invalid=true]").wait_for()
    assert "Please write a short summary of the class" in await tutor.locator("main").inner_text()
    await tutor.locator("#summary").fill("We practised small talk at work.")
    await tutor.locator("#report-form button[type=submit]").click()
    await tutor.locator("#report-filed").wait_for()
    await tutor.context.close()

    # Sinta reads her recap and rates the class, once.
    student = await login_as(browser, live_url, sinta.email)
    await student.goto(f"/classes/{lesson_id}")
    await student.locator("#recap-link").click()
    assert await student.locator("#level").inner_text() == "B1"
    assert "I go home" in await student.locator("#my-notes").inner_text()
    assert "a piece of cake" in await student.locator("#shared-notes").inner_text()
    await student.locator("#rate button[type=submit]").click()  # no stars chosen
    await student.locator("#e-stars").wait_for()
    # Each choice is a target a thumb can hit, and the whole of it chooses.
    for label in await student.locator("#rate .rating label").all():
        box = await label.bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44, box
    await student.locator("#rate .rating label").nth(4).click(position={"x": 40, "y": 6})
    assert await student.locator("#rate input[name=stars][value='5']").is_checked()
    await student.locator("#rating-comment").fill("Thank you, Tari!")
    await student.locator("#rate button[type=submit]").click()
    await student.get_by_text("Thank you for rating the class.").wait_for()
    assert await student.locator("#rate").count() == 0
    assert "★★★★★" in await student.locator("#rating").inner_text()
    await student.context.close()

    # The recap and the report, on both screens, in both languages.
    await shoot(browser, live_url, database_url, errors, [
        (sinta, f"/classes/{lesson_id}/recap", "recap"),
        (tari, f"/classes/{lesson_id}/report", "report"),
    ])  # fmt: skip
    assert errors == [], errors
