"""What a person receives, in real browsers: audio only at a click, paused tiles that say so
(docs/protocol.md, "Downlink budget")."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import snapshot
from tests.e2e.live_class import class_with_people, enter, remote_video_flows


async def a_second_of_voice(page: Page) -> None:
    """Until 50 more audio packets (a second of a voice) have reached ``page``."""
    audio = {s["track"]: s["packets"] for s in await page.evaluate("probe.inbound()")}
    await page.wait_for_function(
        "async (before) => (await probe.inbound()).some((s) => s.kind === 'audio' "
        "&& s.packets > (before[s.track] || 0) + 50)",
        arg=audio,
    )


async def hold(page: Page, kind: str) -> None:
    """No more pictures of ``kind`` (video, screen) leave ``page``; its camera or sharing
    stays on."""
    await page.evaluate(
        "(kind) => { const sender = kelasLive.media.up[kind].sender;"
        " window.held = {...window.held, [kind]: sender.track}; sender.replaceTrack(null); }",
        kind,
    )


async def release(page: Page, kind: str) -> None:
    await page.evaluate("(kind) => kelasLive.media.up[kind].sender.replaceTrack(held[kind])", kind)


async def test_audio_only_pauses_every_video_and_says_so(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    tutor = await enter(browser, live_url, "Tari Tutor", users["Tari Tutor"], lesson_id)
    sinta = await enter(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    await remote_video_flows(sinta, 1)
    await sinta.get_by_role("button", name="Audio only").click()
    tile = sinta.locator(f'#stage figure[data-user="{users["Tari Tutor"].id}"]')
    await expect(tile.locator(".paused-note")).to_have_text("Video paused")
    await expect(tile.locator("figcaption .name")).to_have_text("Tari Tutor")
    await expect(sinta.get_by_role("button", name="Show video")).to_have_attribute(
        "aria-pressed", "true"
    )
    # The tutor's voice goes on (another second of it), and no more frames (a few in flight).
    frames = await sinta.evaluate("probe.videoFrames()")
    await a_second_of_voice(sinta)
    assert await sinta.evaluate("probe.videoFrames()") <= frames + 3
    await snapshot(sinta, "live-audio-only")
    await sinta.get_by_role("button", name="Show video").click()
    await expect(tile.locator(".paused-note")).to_be_hidden()
    await remote_video_flows(sinta, 1)
    await tutor.close()
    await sinta.close()


async def test_a_video_sent_again_says_paused_until_its_first_new_picture(
    browser: Browser, live_url: str, database_url: str
) -> None:
    """The server resumes a video at its next keyframe: until that comes, the tile still says
    "Video paused", rather than showing the last picture undimmed, as if frozen."""
    lesson_id, users = await class_with_people(database_url)
    tari = users["Tari Tutor"].id
    tutor = await enter(browser, live_url, "Tari Tutor", users["Tari Tutor"], lesson_id)
    sinta = await enter(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    await remote_video_flows(sinta, 1)
    tile = sinta.locator(f'#stage figure[data-user="{tari}"]')
    await sinta.get_by_role("button", name="Audio only").click()
    await expect(tile.locator(".paused-note")).to_have_text("Video paused")
    # The tutor's camera stays on, but no picture leaves her browser for now. Counted once the
    # frames in flight at the pause have landed (a second of voice later).
    await hold(tutor, "video")
    await a_second_of_voice(sinta)
    frames = await sinta.evaluate("probe.videoFrames()")
    await sinta.get_by_role("button", name="Show video").click()
    await sinta.wait_for_function("(id) => !kelasLive.paused.has(id)", arg=tari)
    await expect(tile.locator(".paused-note")).to_be_visible()
    # A second of the tutor's voice later: still no picture, and the tile still says so.
    await a_second_of_voice(sinta)
    assert await sinta.evaluate("probe.videoFrames()") == frames
    await expect(tile.locator(".paused-note")).to_be_visible()
    await expect(tile).to_have_class(re.compile(r"\bpaused\b"))
    # Her pictures again: the first one ends the notice.
    await release(tutor, "video")
    await expect(tile.locator(".paused-note")).to_be_hidden()
    assert await sinta.evaluate("probe.videoFrames()") > frames
    await expect(tile).not_to_have_class(re.compile(r"\bpaused\b"))
    await tutor.close()
    await sinta.close()


async def test_a_shared_screen_sent_again_says_paused_until_its_first_new_picture(
    browser: Browser, live_url: str, database_url: str
) -> None:
    """The same for the tutor's shared screen: paused with the videos for someone who chose
    audio only, and said so until its first new picture once they want video again."""
    lesson_id, users = await class_with_people(database_url)
    tutor = await enter(browser, live_url, "Tari Tutor", users["Tari Tutor"], lesson_id)
    sinta = await enter(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    await remote_video_flows(sinta, 1)
    await tutor.get_by_role("button", name="Share screen").click()
    await sinta.wait_for_function("() => document.querySelector('#screen')?.videoWidth > 0")
    note = sinta.locator("#screen-note")
    await expect(note).to_be_hidden()
    await sinta.get_by_role("button", name="Audio only").click()
    await expect(note).to_have_text("Shared screen paused")
    await hold(tutor, "screen")
    await sinta.get_by_role("button", name="Show video").click()
    await sinta.wait_for_function("() => !kelasLive.screenPaused")
    await expect(note).to_be_visible()
    await a_second_of_voice(sinta)
    await expect(note).to_be_visible()
    await snapshot(sinta, "live-screen-sent-again")
    await release(tutor, "screen")
    await expect(note).to_be_hidden()
    await tutor.close()
    await sinta.close()
