"""The late-tutor autopilot in a real browser: a student waits for a tutor who does not come,
the coordinator's live view raises the alert with ranked substitutes, one click gives the
class to a tutor who offered to substitute, that tutor is told on the page they have open, and
the student's room names the new tutor and then shows them."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Browser

from tests.e2e.conftest import snapshot
from tests.e2e.live_class import class_with_people, enter, login_as, remote_video_flows


async def test_a_late_tutor_is_replaced_and_the_students_see_who_comes(
    browser: Browser, live_url: str, database_url: str
) -> None:
    # The class started five minutes ago: Tari, its tutor, has not come.
    lesson_id, users = await class_with_people(database_url, moved=-timedelta(minutes=8))
    errors: list[str] = []
    budi = await login_as(browser, live_url, users["Budi Tutor"].email)
    await budi.goto("/teaching")
    await budi.get_by_role("button", name="I can substitute").click()
    await budi.get_by_text("You are available to substitute until").wait_for()

    student = await enter(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    student.on("pageerror", lambda exc: errors.append(str(exc)))
    status = student.locator("#tutor-status")
    await status.get_by_text("Your tutor, Tari Tutor, is on the way.").wait_for()
    await snapshot(student, "autopilot-student-waiting")

    board = await login_as(browser, live_url, users["Citra Coordinator"].email)
    board.on("pageerror", lambda exc: errors.append(str(exc)))
    await board.goto("/live")
    alert = board.locator(f'#board-alerts [data-lesson="{lesson_id}"]')
    await alert.get_by_text("Tari Tutor is not in “Live talk”").wait_for()
    offers = await alert.locator(".board-substitutes li").all_inner_texts()
    assert offers[0].startswith("Give the class to Budi Tutor"), offers
    assert "online" in offers[0] and "can substitute until" in offers[0], offers
    assert (await board.title()).startswith("(1) ")
    await snapshot(board, "autopilot-alert")

    await alert.get_by_role("button", name="Give the class to Budi Tutor").click()
    await alert.wait_for(state="detached")  # cleared for every coordinator
    assert await board.locator("#board-alerts-section").is_hidden()

    called = budi.locator("[data-called]")
    await called.get_by_text("A coordinator has given you “Live talk”").wait_for()
    await snapshot(budi, "autopilot-substitute-called")
    await status.get_by_text("Your tutor today is Budi Tutor.").wait_for()
    await snapshot(student, "autopilot-student-told")

    await called.get_by_role("link", name="Join the class").click()
    await budi.wait_for_url(f"**/classes/{lesson_id}/live")
    # Budi's fake devices are installed by ``enter``; this page joins as Budi would.
    tutor = await enter(browser, live_url, "Budi Tutor", users["Budi Tutor"], lesson_id)
    await remote_video_flows(student, 1)
    budi_id = users["Budi Tutor"].id
    await student.wait_for_function(
        "([id, colour]) => probe.showsColour(id, colour)", arg=[budi_id, [220, 160, 30]]
    )
    await status.get_by_text("Your tutor today is Budi Tutor.").wait_for()
    people = await student.locator("#people").inner_text()
    assert "Budi Tutor" in people and "Tari Tutor" not in people
    await snapshot(student, "autopilot-student-with-substitute")
    assert errors == [], errors
    for page in (tutor, student, board, budi):
        await page.context.close()
