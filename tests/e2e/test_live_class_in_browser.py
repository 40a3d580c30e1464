"""A live class in real browsers: a tutor and two students in headless Chromium, media
through the SFU. Each camera is a canvas filled with its owner's colour, so a pixel of a
received tile proves whose video arrived where."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from playwright.async_api import Browser, Page, expect

from classroom import booking, scheduling, schemas
from classroom.accounts import create_user
from classroom.db import create_engine, create_sessionmaker
from classroom.models import Level, Role
from tests.conftest import now
from tests.e2e.conftest import ARTIFACTS, snapshot

PEOPLE = {  # name: (colour, tone in Hz)
    "Tari Tutor": ((200, 40, 40), 330),
    "Sinta Student": ((40, 160, 60), 440),
    "Bayu Student": ((40, 70, 200), 550),
}

FAKE_DEVICES = """
(() => {
  const [r, g, b] = %(colour)s;
  const canvas = document.createElement("canvas");
  canvas.width = 640; canvas.height = 480;
  const ctx = canvas.getContext("2d");
  let n = 0;
  setInterval(() => {
    ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fillRect(0, 0, 640, 480);
    ctx.fillStyle = "#fff"; ctx.font = "bold 56px sans-serif"; ctx.fillText(%(label)s, 30, 90);
    ctx.fillRect((n++ * 9) %% 600, 400, 40, 40);
  }, 33);
  const video = canvas.captureStream(30).getVideoTracks()[0];
  let audio = null;
  navigator.mediaDevices.getUserMedia = async (want) => {
    if (want.audio && !audio) {
      const ac = new AudioContext();
      const osc = ac.createOscillator();
      osc.frequency.value = %(tone)s;
      const dest = ac.createMediaStreamDestination();
      osc.connect(dest); osc.start();
      audio = dest.stream.getAudioTracks()[0];
    }
    const tracks = [];
    if (want.audio) tracks.push(audio);
    if (want.video) tracks.push(video);
    return new MediaStream(tracks);
  };
})();
"""

PROBE = """
window.probe = {
  async inbound() {
    const pc = window.kelasLive?.media?.pc;
    if (!pc) return [];
    const stats = await pc.getStats();
    return [...stats.values()].filter((s) => s.type === "inbound-rtp").map((s) => ({
      kind: s.kind, track: s.trackIdentifier, frames: s.framesDecoded || 0,
      packets: s.packetsReceived || 0, energy: s.totalAudioEnergy || 0,
    }));
  },
  async videoFrames() {
    return (await this.inbound()).filter((s) => s.kind === "video")
      .reduce((sum, s) => sum + s.frames, 0);
  },
  async growingVideos(before, by) {
    return (await this.inbound())
      .filter((s) => s.kind === "video" && s.frames > (before[s.track] || 0) + by).length;
  },
  async audibleStreams() {
    return (await this.inbound()).filter((s) => s.kind === "audio" && s.energy > 0).length;
  },
  tileColour(userId) {
    const video = document.querySelector(`#stage figure[data-user="${userId}"] video`);
    if (!video || !video.videoWidth) return null;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(video, 0, 0);
    return [...ctx.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data.slice(0, 3)];
  },
  showsColour(userId, want) {
    const seen = this.tileColour(userId);
    return !!seen && want.every((v, i) => Math.abs(v - seen[i]) < 60);
  },
  audioTrackOf(userId) {
    const audio = document.querySelector(`#sound audio[data-user="${userId}"]`);
    return audio.srcObject.getAudioTracks()[0].id;
  },
};
"""


async def _class_with_people(database_url: str) -> tuple[int, dict[str, Any]]:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine).begin() as db:
        from classroom.accounts import Passwords

        hashed = await Passwords("CHEAPEST").hash("live-class-pass")
        users = {}
        for name in [*PEOPLE, "Citra Coordinator"]:
            role = Role.TUTOR if "Tutor" in name else Role.STUDENT
            role = Role.COORDINATOR if "Coordinator" in name else role
            users[name] = await create_user(
                db, email=f"{name.split()[0].lower()}@live.example.com", name=name, role=role,
                password_hash=hashed, timezone="Asia/Jakarta", language="en", now=now(),
            )  # fmt: skip
        starts = (now() + timedelta(minutes=3)).astimezone().replace(tzinfo=None, microsecond=0)
        lesson = schemas.NewLesson(
            topic="Live talk", level=Level.B1, starts_local=starts,
            timezone=str(now().astimezone().tzinfo), capacity=4, tutor_id=users["Tari Tutor"].id,
        )  # fmt: skip
        made = await scheduling.create_lesson(db, users["Citra Coordinator"], lesson, now())
        lesson_id = made.lessons[0].id
        for name in ("Sinta Student", "Bayu Student"):
            await booking.book(db, users[name], lesson_id, now())
    await engine.dispose()
    return lesson_id, users


async def _enter(browser: Browser, base: str, name: str, user: Any, lesson_id: int) -> Page:
    colour, tone = PEOPLE[name]
    page = await (await browser.new_context(base_url=base)).new_page()
    script = FAKE_DEVICES % {"colour": list(colour), "label": f'"{name}"', "tone": tone}
    await page.add_init_script(script)
    await page.add_init_script(PROBE)
    await page.goto("/login")
    await page.get_by_label("E-mail").fill(user.email)
    await page.get_by_label("Password").fill("live-class-pass")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state()
    await page.goto(f"/classes/{lesson_id}/live")
    await page.get_by_role("button", name="Join now").click()
    return page


async def _remote_video_flows(page: Page, count: int) -> None:
    await page.wait_for_function(
        "(n) => document.querySelectorAll('#stage figure:not(.mine) video').length >= n",
        arg=count,
        timeout=15000,
    )
    first = {s["track"]: s["frames"] for s in await page.evaluate("probe.inbound()")}
    await page.wait_for_function(
        "async ([before, n]) => (await probe.growingVideos(before, 10)) >= n",
        arg=[first, count],
        timeout=15000,
    )


async def test_tutor_and_two_students_see_and_hear_each_other(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await _class_with_people(database_url)
    pages = {}
    for name in PEOPLE:
        pages[name] = await _enter(browser, live_url, name, users[name], lesson_id)
        await pages[name].wait_for_function("() => window.kelasLive.media !== null")
    for page in pages.values():
        await _remote_video_flows(page, 2)
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
        await page.wait_for_function("async () => (await probe.audibleStreams()) >= 2")
    tutor, sinta, bayu = pages["Tari Tutor"], pages["Sinta Student"], pages["Bayu Student"]
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
        .get_by_role("button", name="Mute", exact=True)
        .click()
    )
    await expect(sinta.locator("#banner")).to_contain_text("muted you")
    stats = {s["track"]: s for s in await bayu.evaluate("probe.inbound()")}
    audio_before = stats[track]["packets"]
    video_before = await bayu.evaluate("probe.videoFrames()")
    await bayu.wait_for_function(
        "async (n) => (await probe.videoFrames()) > n", arg=video_before + 90, timeout=15000
    )
    stats = {s["track"]: s for s in await bayu.evaluate("probe.inbound()")}
    assert stats[track]["packets"] - audio_before <= 5
    # Bayu leaves and comes back: he is back, once.
    await bayu.goto(f"/classes/{lesson_id}/live")
    await bayu.get_by_role("button", name="Join now").click()
    await _remote_video_flows(bayu, 2)
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
    await _remote_video_flows(sinta, 2)
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
    lesson_id, users = await _class_with_people(database_url)
    page = await (await browser.new_context(base_url=live_url)).new_page()
    await page.add_init_script(DENIED)
    await page.goto("/login")
    await page.get_by_label("E-mail").fill(users["Sinta Student"].email)
    await page.get_by_label("Password").fill("live-class-pass")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state()
    await page.goto(f"/classes/{lesson_id}/live")
    await expect(page.locator("#device-error")).to_contain_text("not allowed")
    await snapshot(page, "live-device-denied")
    await page.get_by_role("button", name="Join now").click()
    await expect(page.locator("#people")).to_contain_text("Sinta Student")
    await expect(page.locator("#people")).to_contain_text("mic off")


async def test_the_class_page_offers_join_only_in_the_window(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await _class_with_people(database_url)
    page = await login_as(browser, live_url, users["Bayu Student"].email)
    await page.goto(f"/classes/{lesson_id}")
    await page.get_by_role("link", name="Join the class").click()
    await expect(page.get_by_role("button", name="Join now")).to_be_visible()
    stranger = await login_as(browser, live_url, users["Citra Coordinator"].email)
    await stranger.goto(f"/classes/{lesson_id}")
    await expect(stranger.get_by_role("link", name="Observe the class")).to_be_visible()


async def login_as(browser: Browser, base: str, email: str) -> Page:
    page = await (await browser.new_context(base_url=base)).new_page()
    await page.goto("/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill("live-class-pass")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state()
    return page
