"""The live room laid out for who is looking, on a laptop and on a phone, in real browsers:
the tutor sees the students large, a student sees the tutor large, the controls are in view
without scrolling, the side panels fold behind buttons on a phone, a muted student is told so
and offered the hand, and axe-core finds nothing to fix or to review."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import snapshot
from tests.e2e.live_class import (
    PAGE_ERRORS,
    class_with_people,
    enter,
    log_in,
    remote_video_flows,
)

AXE = Path(__file__).parent.parent.parent / "node_modules" / "axe-core" / "axe.min.js"
LAPTOP, SMALL_LAPTOP, PHONE = (1280, 800), (1366, 768), (390, 844)
PHONE_CONTEXT: dict[str, Any] = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}


async def _room(
    browser: Browser, live_url: str, database_url: str, size: tuple[int, int]
) -> tuple[dict[str, Page], dict[str, Any]]:
    """Tari, Sinta and Bayu in class, each seeing the other two, in windows of ``size``."""
    lesson_id, users = await class_with_people(database_url)
    context: dict[str, Any] = {"viewport": {"width": size[0], "height": size[1]}}
    if size == PHONE:
        context |= PHONE_CONTEXT
    pages = {}
    for name in ("Tari Tutor", "Sinta Student", "Bayu Student"):
        pages[name] = await enter(browser, live_url, name, users[name], lesson_id, **context)
    for page in pages.values():
        await remote_video_flows(page, 2)
    return pages, users


async def _box(page: Page, selector: str) -> dict[str, float]:
    box = await page.locator(selector).bounding_box()
    assert box is not None, selector
    return box


def _area(box: dict[str, float]) -> float:
    return box["width"] * box["height"]


async def _visible(page: Page, selector: str, fields: str) -> list[dict[str, Any]]:
    """``fields`` (JS, of ``n`` and its rectangle ``r``) of each visible element matching
    ``selector``, found and read in one evaluation: the page draws its controls anew on its
    own events (every 2 s at least), and elements found in one step and read in another
    (``eval_on_selector_all``) may be the ones just replaced, detached and never visible."""
    found: list[dict[str, Any]] = await page.evaluate(
        "(s) => [...document.querySelectorAll(s)].filter((n) => n.checkVisibility())"
        f".map((n) => {{ const r = n.getBoundingClientRect(); return {fields}; }})",
        selector,
    )
    return found


async def _in_view_without_scrolling(page: Page, selector: str) -> None:
    """Every element matching ``selector`` is inside the window as the page opens."""
    await expect(page.locator(selector).first).to_be_visible()  # drawn once the room is
    assert await page.evaluate("() => [window.scrollX, window.scrollY]") == [0, 0]
    viewport = page.viewport_size
    assert viewport is not None
    boxes = await _visible(
        page, selector, "{text: n.textContent, x: r.x, y: r.y, right: r.right, bottom: r.bottom}"
    )
    if not boxes:  # what the page held and what went wrong in its code say why
        room = await page.evaluate("() => document.querySelector('#room')?.outerHTML")
        raise AssertionError((selector, PAGE_ERRORS.get(page), (room or "")[-3000:]))
    for box in boxes:
        assert box["x"] >= 0 and box["y"] >= 0, box
        assert box["right"] <= viewport["width"] and box["bottom"] <= viewport["height"], box


async def _targets_at_least_24px(page: Page) -> None:
    """WCAG 2.2 (2.5.8): every control in the room that can be seen is 24 × 24 px or more."""
    targets = await _visible(
        page,
        "#room button, #room a, #room input, #room select",
        "{text: n.textContent || n.id, w: r.width, h: r.height}",
    )
    assert [t for t in targets if t["w"] < 24 or t["h"] < 24] == []


async def _axe(page: Page) -> None:
    """axe-core on the room: no violation, and nothing left for a person to review.

    Reviewed and left out: `video-caption` asks whether each <video> has captions. The tiles'
    videos are silent (muted; each person's sound plays in its own <audio>), so there is
    nothing to caption in them; live captions of the audio are a feature of their own.
    """
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes:"
        " ['violations', 'incomplete'], rules: {'video-caption': {enabled: false}}});"
        " const brief = (list) => list.map((v) => ({id: v.id,"
        " nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary)}));"
        " return {violations: brief(r.violations), incomplete: brief(r.incomplete)}; }"
    )
    assert result == {"violations": [], "incomplete": []}


@pytest.mark.parametrize("size", [LAPTOP, SMALL_LAPTOP, PHONE], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_room_is_laid_out_for_who_is_looking(
    browser: Browser, live_url: str, database_url: str, size: tuple[int, int]
) -> None:
    pages, users = await _room(browser, live_url, database_url, size)
    tutor, sinta = pages["Tari Tutor"], pages["Sinta Student"]
    tari_id, sinta_id = users["Tari Tutor"].id, users["Sinta Student"].id
    bayu_id = users["Bayu Student"].id
    # The tutor sees the students' faces large, their own view small.
    own = _area(await _box(tutor, '#stage figure[data-user="me"]'))
    for student in (sinta_id, bayu_id):
        face = await _box(tutor, f'#stage figure[data-user="{student}"]')
        assert _area(face) > 3 * own
    await expect(tutor.locator("#stage")).to_have_attribute("data-layout", "gallery")
    # A student sees the tutor large, the classmate and themselves small.
    teacher = _area(await _box(sinta, f'#stage figure[data-user="{tari_id}"]'))
    for other in (f'[data-user="{bayu_id}"]', '[data-user="me"]'):
        assert teacher > 3 * _area(await _box(sinta, f"#stage figure{other}"))
    await expect(sinta.locator("#stage")).to_have_attribute("data-layout", "speaker")
    # The stage is a named region; the controls are in view without scrolling.
    await expect(sinta.get_by_role("region", name="Video")).to_be_visible()
    for page in pages.values():
        await _in_view_without_scrolling(page, "#controls > *")
    await expect(tutor.locator("#controls")).to_contain_text("Mute all")
    await expect(tutor.locator("#controls")).to_contain_text("End class")
    label = f"{size[0]}x{size[1]}"
    await snapshot(tutor, f"room-tutor-{label}")
    await snapshot(sinta, f"room-student-{label}")
    if size != PHONE:
        # People and chat beside the stage, the message box in view.
        for page in (tutor, sinta):
            await expect(page.locator("#people-panel")).to_be_visible()
            await expect(page.locator("#chat-panel")).to_be_visible()
            await _in_view_without_scrolling(page, "#chat-form > *:not(label)")
        await _axe(tutor)
        await _axe(sinta)
        return
    # On a phone the panels fold behind two buttons; each opens over part of the stage.
    for page in (tutor, sinta):
        await expect(page.locator("#people-panel")).to_be_hidden()
        await expect(page.locator("#chat-panel")).to_be_hidden()
        await _targets_at_least_24px(page)
    people = tutor.get_by_role("button", name="People")
    await people.click()
    await expect(people).to_have_attribute("aria-expanded", "true")
    await expect(tutor.locator("#people-panel")).to_be_visible()
    await expect(tutor.locator(f'#people li[data-user="{sinta_id}"]')).to_contain_text("Spotlight")
    await _targets_at_least_24px(tutor)  # the per-student controls too
    await _in_view_without_scrolling(tutor, "#controls > *")
    await snapshot(tutor, "room-tutor-phone-people")
    await _axe(tutor)
    # The tutor writes while Sinta's chat is folded: her Chat button counts it.
    await tutor.get_by_role("button", name="Chat").click()
    await expect(tutor.locator("#people-panel")).to_be_hidden()
    await tutor.locator("#chat-text").fill("Selamat pagi")
    await tutor.locator("#chat-form button[type=submit]").click()
    await expect(sinta.locator("#chat-unread")).to_have_text("1")
    chat = sinta.get_by_role("button", name="Chat")
    await chat.click()
    await expect(sinta.locator("#chat-panel")).to_be_visible()
    await expect(sinta.locator("#chat-unread")).to_be_hidden()
    await expect(sinta.locator("#chat-log")).to_contain_text("Selamat pagi")
    await expect(sinta.locator("#people-panel")).to_be_hidden()
    await _in_view_without_scrolling(sinta, "#chat-form > *:not(label)")
    await _in_view_without_scrolling(sinta, "#controls > *")
    await sinta.locator("#chat-text").fill("Halo semua")
    await sinta.locator("#chat-form button[type=submit]").click()
    await expect(sinta.locator("#chat-log")).to_contain_text("Halo semua")
    await _targets_at_least_24px(sinta)
    await snapshot(sinta, "room-student-phone-chat")
    await _axe(sinta)
    await chat.click()
    await expect(sinta.locator("#chat-panel")).to_be_hidden()


async def test_a_muted_student_is_told_so_and_offered_the_hand(
    browser: Browser, live_url: str, database_url: str
) -> None:
    pages, users = await _room(browser, live_url, database_url, PHONE)
    tutor, sinta, bayu = pages["Tari Tutor"], pages["Sinta Student"], pages["Bayu Student"]
    sinta_id, bayu_id = users["Sinta Student"].id, users["Bayu Student"].id
    await tutor.get_by_role("button", name="People").click()
    person = tutor.locator(f'#people li[data-user="{sinta_id}"]')
    await person.get_by_role("button", name="Mute: Sinta Student", exact=True).click()
    # Sinta sees her state, not an "Unmute" that would only be refused, and the way to ask.
    controls = sinta.locator("#controls")
    await expect(controls.locator("#mic-state")).to_have_text("Muted by the tutor")
    await expect(controls.get_by_role("button", name="Unmute")).to_have_count(0)
    ask = controls.get_by_role("button", name="Raise hand to ask")
    await ask.click()
    # A raised hand is words with an icon that ships with Kelas, in the queue's order.
    await expect(controls.locator(".hand")).to_have_text("Hand raised · 1st")
    await expect(controls.locator(".hand svg.icon-hand")).to_have_count(1)
    await bayu.locator("#controls").get_by_role("button", name="Raise hand").click()
    await expect(bayu.locator("#controls .hand")).to_have_text("Hand raised · 2nd")
    await expect(person.locator(".hand")).to_have_text("Hand raised · 1st")
    bayu_row = tutor.locator(f'#people li[data-user="{bayu_id}"]')
    await expect(bayu_row.locator(".hand")).to_have_text("Hand raised · 2nd")
    await expect(tutor.locator(f'#stage figure[data-user="{sinta_id}"] .hand')).to_have_text(
        "Hand raised · 1st"
    )
    await _in_view_without_scrolling(sinta, "#controls > *")
    await snapshot(sinta, "room-student-phone-muted-hand")
    await snapshot(tutor, "room-tutor-phone-hands")
    # The tutor lets her speak: the button is back, her hand still up until she lowers it.
    await person.get_by_role("button", name="Allow to unmute: Sinta Student").click()
    await expect(controls.get_by_role("button", name="Unmute")).to_be_visible()
    await expect(controls.locator("#mic-state")).to_have_count(0)
    await controls.get_by_role("button", name="Lower hand").click()
    await expect(bayu.locator("#controls .hand")).to_have_text("Hand raised · 1st")


async def test_device_pickers_show_friendly_names_and_the_default(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    page = await (await browser.new_context(base_url=live_url)).new_page()
    await log_in(page, users["Sinta Student"].email)
    await page.goto(f"/classes/{lesson_id}/live")
    for select in ("#mic-select", "#cam-select"):
        options = page.locator(f"{select} option")
        await expect(options.first).to_have_text(re.compile(r"\(default\)$"))
        for text in await options.all_inner_texts():
            assert "Default - " not in text
            assert not re.search(r"\([0-9a-f]{4}:[0-9a-f]{4}\)", text)
    await snapshot(page, "room-device-check")
