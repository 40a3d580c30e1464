"""What a person receives, in real browsers: audio only at a click, paused tiles that say so
(docs/protocol.md, "Downlink budget")."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.e2e.conftest import snapshot
from tests.e2e.live_class import class_with_people, enter, remote_video_flows


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
    audio = {s["track"]: s["packets"] for s in await sinta.evaluate("probe.inbound()")}
    await sinta.wait_for_function(
        "async (before) => (await probe.inbound()).some((s) => s.kind === 'audio' "
        "&& s.packets > (before[s.track] || 0) + 50)",
        arg=audio,
    )
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
    # The tutor's camera stays on, but no picture leaves her browser for now.
    await tutor.evaluate(
        "window.held = kelasLive.media.up.video.sender.track;"
        "kelasLive.media.up.video.sender.replaceTrack(null)"
    )
    frames = await sinta.evaluate("probe.videoFrames()")
    await sinta.get_by_role("button", name="Show video").click()
    await sinta.wait_for_function("(id) => !kelasLive.paused.has(id)", arg=tari)
    await expect(tile.locator(".paused-note")).to_be_visible()
    # A second of the tutor's voice later: still no picture, and the tile still says so.
    audio = {s["track"]: s["packets"] for s in await sinta.evaluate("probe.inbound()")}
    await sinta.wait_for_function(
        "async (before) => (await probe.inbound()).some((s) => s.kind === 'audio' "
        "&& s.packets > (before[s.track] || 0) + 50)",
        arg=audio,
    )
    assert await sinta.evaluate("probe.videoFrames()") == frames
    await expect(tile.locator(".paused-note")).to_be_visible()
    await expect(tile).to_have_class(re.compile(r"\bpaused\b"))
    # Her pictures again: the first one ends the notice.
    await tutor.evaluate("kelasLive.media.up.video.sender.replaceTrack(window.held)")
    await expect(tile.locator(".paused-note")).to_be_hidden()
    assert await sinta.evaluate("probe.videoFrames()") > frames
    await expect(tile).not_to_have_class(re.compile(r"\bpaused\b"))
    await tutor.close()
    await sinta.close()
