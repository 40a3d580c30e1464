"""A live class in real browsers: a tutor and two students in headless Chromium, media
through the SFU (the people and their coloured cameras are in tests/e2e/live_class.py)."""

from __future__ import annotations

import json

from playwright.async_api import Browser, expect

from tests.e2e.conftest import ARTIFACTS, snapshot
from tests.e2e.live_class import (
    PEOPLE,
    class_with_people,
    enter,
    log_in,
    login_as,
    remote_video_flows,
    until,
)

SENDER_REPORTS = """async () => {
  const stats = await window.kelasLive.media.pc.getStats();
  const read = { audio: 0, video: 0 };
  stats.forEach((s) => {
    if (s.type === "remote-outbound-rtp" && s.reportsSent > 0 && s.packetsSent > 0) read[s.kind]++;
  });
  return read.audio >= 2 && read.video >= 2;
}"""


async def test_tutor_and_two_students_see_and_hear_each_other(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    pages = {}
    for name in PEOPLE:
        pages[name] = await enter(browser, live_url, name, users[name], lesson_id)
        await pages[name].wait_for_function("() => window.kelasLive?.media != null")
    for page in pages.values():
        await remote_video_flows(page, 2)
    # Chromium's trickled candidates (with usernameFragment, and the end of them) are
    # accepted: none refused.
    for page in pages.values():
        await page.wait_for_function("() => window.kelasLive.candidates.accepted > 0")
        assert await page.evaluate("() => window.kelasLive.candidates.refused") == 0
    join_ms = {
        name: await page.evaluate("() => window.kelasLive.firstFrameMs ?? null")
        for name, page in pages.items()
    }
    # Whose video arrives where: every tile shows its owner's colour.
    for name, page in pages.items():
        for other, (colour, _) in PEOPLE.items():
            if other == name:
                continue
            await page.wait_for_function(
                "([id, colour]) => probe.showsColour(id, colour)",
                arg=[users[other].id, list(colour)],
                timeout=10000,
            )
    # Audio arrives, with energy, on an unmuted element.
    for page in pages.values():
        await until(page, "async () => (await probe.audibleStreams()) >= 2")
    # Each voice goes as RED (Opus, each packet with the previous frame again: one lost on a
    # home link is rebuilt from the next), up to the server and down from it.
    for page in pages.values():
        codecs = await page.evaluate("probe.audioCodecs()")
        assert codecs["up"] == "audio/red", codecs
        assert all("audio/red" in slot for slot in codecs["down"]), codecs
    # Chromium reads the server's sender reports (RTCP SR, which lip sync needs) for each
    # of the two others' voices and pictures, with counts of what was sent.
    tutor, sinta, bayu = pages["Tari Tutor"], pages["Sinta Student"], pages["Bayu Student"]
    await until(tutor, SENDER_REPORTS)
    # Everyone's tone is loud: the server sees speech in the audio-level header extension.
    await expect(tutor.locator("#people li.speaking")).to_have_count(3)
    # Chat arrives.
    await tutor.get_by_placeholder("Write a message").fill("Selamat datang!")
    await tutor.get_by_role("button", name="Send").click()
    for page in (sinta, bayu):
        await expect(page.locator("#chat-log")).to_contain_text("Selamat datang!")
    await snapshot(tutor, "live-tutor")
    await snapshot(sinta, "live-student")
    # The tutor mutes Sinta: her audio stops reaching Bayu, while video goes on.
    sinta_id = users["Sinta Student"].id
    track = await bayu.evaluate("(id) => probe.audioTrackOf(id)", sinta_id)
    await (
        tutor.locator(f'#people li[data-user="{sinta_id}"]')
        .get_by_role("button", name="Mute: Sinta Student", exact=True)
        .click()
    )
    await expect(sinta.locator("#banner")).to_contain_text("muted you")
    stats = {s["track"]: s for s in await bayu.evaluate("probe.inbound()")}
    audio_before = stats[track]["packets"]
    video_before = await bayu.evaluate("probe.videoFrames()")
    await until(bayu, "async (n) => (await probe.videoFrames()) > n", video_before + 90)
    stats = {s["track"]: s for s in await bayu.evaluate("probe.inbound()")}
    assert stats[track]["packets"] - audio_before <= 5
    # Bayu leaves and comes back: he is back, once.
    await bayu.goto(f"/classes/{lesson_id}/live")
    await bayu.get_by_role("button", name="Join now").click()
    await remote_video_flows(bayu, 2)
    bayu_id = users["Bayu Student"].id
    await expect(tutor.locator(f'#people li[data-user="{bayu_id}"]')).to_have_count(1)
    await expect(tutor.locator("#people li")).to_have_count(3)
    await snapshot(bayu, "live-student-rejoined")
    # Sinta's connection drops (as on a network change): she is back by herself, once.
    await sinta.evaluate(
        "() => { window.oldPc = kelasLive.media.pc; kelasLive.firstFrameMs = undefined; "
        "kelasLive.joinedAt = performance.now(); kelasLive.socket.io.engine.close(); }"
    )
    await sinta.wait_for_function("() => kelasLive.media && kelasLive.media.pc !== window.oldPc")
    await remote_video_flows(sinta, 2)
    await sinta.wait_for_function("() => kelasLive.firstFrameMs !== undefined")
    back_after = await sinta.evaluate("() => kelasLive.firstFrameMs")
    assert back_after < 5000
    await expect(tutor.locator(f'#people li[data-user="{sinta_id}"]')).to_have_count(1)
    await expect(tutor.locator("#people li")).to_have_count(3)
    # Timings for the record (not asserted): join order matters, the first to join waits
    # for the others to arrive.
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "live-timings.json").write_text(
        json.dumps({"join_to_first_remote_frame_ms": join_ms, "reconnect_to_video_ms": back_after})
    )


DENIED = """
navigator.mediaDevices.getUserMedia = async (want) => {
  throw new DOMException("Permission denied", "NotAllowedError");
};
"""


async def test_a_denied_camera_gets_a_helpful_message_and_can_still_join(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    page = await (await browser.new_context(base_url=live_url)).new_page()
    await page.add_init_script(DENIED)
    await log_in(page, users["Sinta Student"].email)
    await page.goto(f"/classes/{lesson_id}/live")
    await expect(page.locator("#device-error")).to_contain_text("not allowed")
    await snapshot(page, "live-device-denied")
    await page.get_by_role("button", name="Join now").click()
    await expect(page.locator("#people")).to_contain_text("Sinta Student")
    await expect(page.locator("#people")).to_contain_text("mic off")


async def test_the_class_page_offers_join_only_in_the_window(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    page = await login_as(browser, live_url, users["Bayu Student"].email)
    await page.goto(f"/classes/{lesson_id}")
    await page.get_by_role("link", name="Join the class").click()
    await expect(page.get_by_role("button", name="Join now")).to_be_visible()
    stranger = await login_as(browser, live_url, users["Citra Coordinator"].email)
    await stranger.goto(f"/classes/{lesson_id}")
    await expect(stranger.get_by_role("link", name="Observe the class")).to_be_visible()


async def test_the_control_with_the_keyboards_focus_keeps_it_when_the_controls_are_redrawn(
    browser: Browser, live_url: str, database_url: str
) -> None:
    """The controls are drawn anew at each reading of the connection (every few seconds): a
    keyboard user on "Mute me" stays on it, and Enter there mutes."""
    lesson_id, users = await class_with_people(database_url)
    page = await enter(browser, live_url, "Tari Tutor", users["Tari Tutor"], lesson_id)
    await page.wait_for_function("() => window.kelasLive?.media != null && window.kelasLive.mic")
    await page.locator("#controls #mic").focus()
    old = await page.locator("#controls #mic").element_handle()
    await page.wait_for_function("(old) => !old.isConnected", arg=old)  # redrawn
    assert await page.evaluate("() => document.activeElement?.id") == "mic"
    await page.keyboard.press("Enter")
    await page.wait_for_function("() => window.kelasLive.mic === false")
    await expect(page.locator("#controls #mic")).to_be_focused()
