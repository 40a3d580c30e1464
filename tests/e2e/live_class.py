"""A live class for the browser tests: people with coloured fake cameras and tones, a class
they are booked into, and a page per person that has joined it. Each camera is a canvas filled
with its owner's colour, so a pixel of a received tile proves whose video arrived where."""

from __future__ import annotations

import base64
import functools
import json
import subprocess
import tempfile
import weakref
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from classroom import booking, scheduling, schemas
from classroom.accounts import Passwords, create_user
from classroom.db import create_engine, create_sessionmaker
from classroom.models import Level, Role
from tests.conftest import now

PASSWORD = "live-class-pass"

PEOPLE = {  # name: (colour, tone in Hz)
    "Tari Tutor": ((200, 40, 40), 330),
    "Sinta Student": ((40, 160, 60), 440),
    "Bayu Student": ((40, 70, 200), 550),
}
OTHERS = {"Budi Tutor": ((220, 160, 30), 660)}  # a tutor who may substitute, not in the class
MORE = {  # students booked only when a test asks for a fuller class
    "Dewi Student": ((190, 60, 190), 770),
    "Eko Student": ((40, 180, 190), 880),
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
    // A busy picture (a person moving, a room behind them) below the middle: an encoder
    // needs its whole bitrate for it, unlike a plain colour.
    for (let i = 0; %(busy)s && i < 200; i++) {
      ctx.fillStyle = `hsl(${Math.random() * 360}, 80%%, 50%%)`;
      ctx.fillRect(Math.random() * 620, 260 + Math.random() * 200, 20, 20);
    }
  }, 33);
  const video = canvas.captureStream(30).getVideoTracks()[0];
  let audio = null;
  navigator.mediaDevices.getUserMedia = async (want) => {
    if (want.audio && !audio) {
      const ac = new AudioContext();
      const dest = ac.createMediaStreamDestination();
      if (%(busy)s) {
        // A voice, not a tone: speech (espeak-ng) from each person's own point in it,
        // looped. Opus codes a tone as music, which has no in-band FEC.
        const bytes = Uint8Array.from(atob(%(speech)s), (c) => c.charCodeAt(0));
        const source = ac.createBufferSource();
        source.buffer = await ac.decodeAudioData(bytes.buffer);
        source.loop = true;
        source.connect(dest);
        source.start(0, (%(tone)s / 110) %% source.buffer.duration);
      } else {
        const osc = ac.createOscillator();
        osc.frequency.value = %(tone)s;
        osc.connect(dest);
        osc.start();
      }
      audio = dest.stream.getAudioTracks()[0];
    }
    const tracks = [];
    if (want.audio) tracks.push(audio);
    if (want.video) tracks.push(video);
    return new MediaStream(tracks);
  };
})();
"""


@functools.cache
def speech() -> str:
    """A JSON string: the base64 of a WAV of a conversation class's talk, synthesized once
    by espeak-ng (Debian's package, installed by scripts/setup)."""
    with tempfile.TemporaryDirectory() as directory:
        wav = Path(directory) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(wav), SPEECH],
                       check=True, capture_output=True, timeout=30)  # fmt: skip
        return json.dumps(base64.b64encode(wav.read_bytes()).decode())


SPEECH = (
    "Good morning everyone. Today we talk about your weekend. Sinta, what did you do on "
    "Saturday? I went to the market with my mother, and we bought fish and vegetables. Then we "
    "cooked dinner together. That sounds lovely. Bayu, how about you? I played football with "
    "my friends in the park near my house."
)

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
  /** The codecs negotiated for the voices: what this page's microphone sends with (the
   * first), and what each of its audio slots may receive. (getStats names the codec RED
   * carries, Opus, either way.) */
  audioCodecs() {
    const media = window.kelasLive.media;
    const mimes = (p) => p.codecs.map((c) => c.mimeType);
    return { up: mimes(media.up.audio.sender.getParameters())[0],
             down: media.audioSlots.map((t) => mimes(t.receiver.getParameters())) };
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


async def class_with_people(
    database_url: str,
    languages: Mapping[str, str] | None = None,
    moved: timedelta = timedelta(0),
    more: tuple[str, ...] = (),
) -> tuple[int, dict[str, Any]]:
    """A class starting in three minutes, taught by Tari, with Sinta and Bayu booked (and
    Budi, another tutor); each person speaks English unless ``languages`` says otherwise.
    ``moved`` shifts the class once booked: a class that started a while ago. ``more`` names
    students of MORE booked too."""
    engine = create_engine(database_url)
    async with create_sessionmaker(engine).begin() as db:
        hashed = await Passwords("CHEAPEST").hash(PASSWORD)
        spoken = languages or {}
        users = {}
        for name in [*PEOPLE, *OTHERS, *more, "Citra Coordinator"]:
            role = Role.TUTOR if "Tutor" in name else Role.STUDENT
            role = Role.COORDINATOR if "Coordinator" in name else role
            users[name] = await create_user(
                db, email=f"{name.split()[0].lower()}@live.example.com", name=name, role=role,
                password_hash=hashed, timezone="Asia/Jakarta", language=spoken.get(name, "en"),
                now=now(),
            )  # fmt: skip
        starts = (now() + timedelta(minutes=3)).astimezone().replace(tzinfo=None, microsecond=0)
        lesson = schemas.NewLesson(
            topic="Live talk", level=Level.B1, starts_local=starts,
            timezone=str(now().astimezone().tzinfo), capacity=4, tutor_id=users["Tari Tutor"].id,
        )  # fmt: skip
        made = await scheduling.create_lesson(db, users["Citra Coordinator"], lesson, now())
        lesson_id = made.lessons[0].id
        for name in ("Sinta Student", "Bayu Student", *more):
            await booking.book(db, users[name], lesson_id, now())
        if moved:
            made.lessons[0].starts_at += moved
            made.lessons[0].ends_at += moved
    await engine.dispose()
    return lesson_id, users


async def enter(
    browser: Browser,
    base: str,
    name: str,
    user: Any,
    lesson_id: int,
    *,
    busy: bool = False,
    **context: Any,
) -> Page:
    """``name`` logs in with their fake devices, opens the live page and joins; ``context``
    goes to the browser context (a viewport, say). A ``busy`` camera sends a picture that
    takes its whole bitrate, and a ``busy`` microphone speech."""
    page = await open_live(browser, base, name, user, lesson_id, busy=busy, **context)
    # The page's module wires "Join now" once it has run (it is deferred): a click before
    # that would do nothing.
    try:
        await page.wait_for_function("() => window.kelasLive !== undefined")
    except PlaywrightTimeout:
        # A page whose imports failed loads itself once more (web/static/loaded.js); this is
        # a page that did not come up even so: what it had is in the failure.
        state = await _state(page)
        raise AssertionError(f"{name}'s live page never ran its module: {state}") from None
    await page.locator("#join").click()  # "Join now", in the person's language
    return page


async def _state(page: Page) -> dict[str, Any]:
    """What a page that did not come up had: where it is, how far it loaded, its scripts
    and whether each arrived, and its uncaught errors (to find out why, the next time)."""
    try:
        state = await page.evaluate(
            """() => ({
            url: location.href,
            readyState: document.readyState,
            title: document.title,
            scripts: performance.getEntriesByType("resource")
                .filter((e) => e.initiatorType === "script" || e.name.endsWith(".js"))
                .map((e) => [e.name, Math.round(e.duration), e.responseStatus ?? null]),
        })"""
        )
    except Exception as exc:  # a page that hangs may not answer either
        state = {"unreadable": repr(exc)}
    return {**state, "errors": PAGE_ERRORS.get(page, [])}


# The uncaught errors of each live page opened here, in order (open_live).
PAGE_ERRORS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


async def open_live(
    browser: Browser,
    base: str,
    name: str,
    user: Any,
    lesson_id: int,
    *,
    busy: bool = False,
    **context: Any,
) -> Page:
    """``name`` logs in with their fake devices and opens the live page: the device check."""
    colour, tone = {**PEOPLE, **OTHERS, **MORE}[name]
    page = await (await browser.new_context(base_url=base, **context)).new_page()
    script = FAKE_DEVICES % {
        "colour": list(colour),
        "label": f'"{name}"',
        "tone": tone,
        "busy": "true" if busy else "false",
        "speech": speech() if busy else '""',
    }
    await page.add_init_script(script)
    await page.add_init_script(PROBE)
    # What went wrong in the page's own code, for a failing test to show.
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    PAGE_ERRORS[page] = errors
    await log_in(page, user.email)
    await page.goto(f"/classes/{lesson_id}/live")
    return page


async def remote_video_flows(page: Page, count: int) -> None:
    await page.wait_for_function(
        "(n) => document.querySelectorAll('#stage figure:not(.mine) video').length >= n",
        arg=count,
        timeout=15000,
    )
    first = {s["track"]: s["frames"] for s in await page.evaluate("probe.inbound()")}
    await until(
        page, "async ([before, n]) => (await probe.growingVideos(before, 10)) >= n", [first, count]
    )


async def until(
    page: Page, predicate: str, arg: Any = None, timeout_ms: int = 15000, every_ms: int = 100
) -> None:
    """Wait until the async ``predicate`` (JS, called with ``arg``) resolves to true.

    ``page.wait_for_function`` cannot: it takes the Promise an async function returns as a
    true value and returns at once, whatever the Promise resolves to."""
    await page.evaluate(
        f"""async (arg) => {{
          const predicate = {predicate};
          const end = performance.now() + {timeout_ms};
          while (!(await predicate(arg))) {{
            if (performance.now() > end) throw new Error({json.dumps("timed out: " + predicate)});
            await new Promise((resolve) => setTimeout(resolve, {every_ms}));
          }}
        }}""",
        arg,
    )


async def login_as(browser: Browser, base: str, email: str) -> Page:
    """A new browser context (a person of their own), logged in."""
    page = await (await browser.new_context(base_url=base)).new_page()
    await log_in(page, email)
    return page


async def log_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state()
