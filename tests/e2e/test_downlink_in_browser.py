"""What a person receives, in real browsers: audio only at a click, paused tiles that say so
(docs/protocol.md, "Downlink budget")."""

from __future__ import annotations

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
