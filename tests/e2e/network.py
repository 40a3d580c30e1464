"""Browsers on both sides of an impaired link (tests/netns.py): one Chromium on the host, with
the servers, and one inside the link's namespace, which reaches them only over the link.

What a page measures of its media comes from getStats (``MEASURE``): the ICE path in use, and
per received stream the concealed audio, the video freezes and the NACKs sent.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.conftest import ARTIFACTS, CHROMIUM, flags
from tests.netns import Link

MEASURE = """
window.measure = {
  async stats() {
    const pc = window.kelasLive?.media?.pc;
    return pc ? [...(await pc.getStats()).values()] : [];
  },
  /** The candidate pair in use: its local candidate's type and how it reaches a relay.
   * Not the pair's state: Chrome shows the selected pair "in-progress" while each keep-alive
   * check is out (on a busy machine, often), though media flows on it all along. */
  async path() {
    const all = await this.stats();
    const byId = new Map(all.map((s) => [s.id, s]));
    const transport = all.find((s) => s.type === "transport" && s.selectedCandidatePairId);
    const pair = transport && byId.get(transport.selectedCandidatePairId);
    if (!pair || transport.dtlsState !== "connected") return null;
    const local = byId.get(pair.localCandidateId);
    return { type: local.candidateType, protocol: local.protocol,
             relayProtocol: local.relayProtocol || null, rtt: pair.currentRoundTripTime };
  },
  /** The ids of the tracks that play ``userId``'s camera and microphone on this page. */
  tracksOf(userId) {
    const video = document.querySelector(`#stage figure[data-user="${userId}"] video`);
    const audio = document.querySelector(`#sound audio[data-user="${userId}"]`);
    return [video?.srcObject?.getVideoTracks()[0]?.id, audio?.srcObject?.getAudioTracks()[0]?.id];
  },
  /** What this page received, from everyone or from ``userId``: totals per kind. */
  async received(userId = null) {
    await this.tick();
    let inbound = (await this.stats()).filter((s) => s.type === "inbound-rtp");
    if (userId !== null) {
      const tracks = this.tracksOf(userId);
      inbound = inbound.filter((s) => tracks.includes(s.trackIdentifier));
    }
    const audio = inbound.filter((s) => s.kind === "audio" && s.totalSamplesReceived > 0);
    const video = inbound.filter((s) => s.kind === "video" && s.framesDecoded > 0);
    const sum = (list, key) => list.reduce((n, s) => n + (s[key] || 0), 0);
    return {
      audio: {
        streams: audio.length,
        samples: sum(audio, "totalSamplesReceived"),
        concealed: sum(audio, "concealedSamples"),
        packets: sum(audio, "packetsReceived"),
        lost: sum(audio, "packetsLost"),
        fecPackets: sum(audio, "fecPacketsReceived"),
      },
      video: {
        streams: video.length,
        frames: sum(video, "framesDecoded"),
        freezes: sum(video, "freezeCount"),
        frozenS: sum(video, "totalFreezesDuration"),
        packets: sum(video, "packetsReceived"),
        lost: sum(video, "packetsLost"),
        nacks: sum(video, "nackCount"),
        plis: sum(video, "pliCount"),
        keyframes: sum(video, "keyFramesDecoded"),
        fps: video.map((s) => s.framesPerSecond || 0),
        widths: video.map((s) => s.frameWidth || 0),
        longestFreezeS: Math.max(0, ...video.map((s) => this.longest[s.id] || 0)),
        pausedS: sum(video.map((s) => ({ p: this.pausedS[s.id] || 0 })), "p"),
      },
      bytes: sum(inbound, "bytesReceived"),
      at: performance.now(),
    };
  },
  /** What this page's camera sent: frames, keyframes, and the repair asked of it. */
  async sent() {
    const out = (await this.stats()).filter((s) => s.type === "outbound-rtp" && s.kind === "video");
    const sum = (key) => out.reduce((n, s) => n + (s[key] || 0), 0);
    return { frames: sum("framesEncoded"), keyframes: sum("keyFramesEncoded"),
             plis: sum("pliCount"), firs: sum("firCount"), nacks: sum("nackCount"),
             resent: sum("retransmittedPacketsSent"),
             // A simulcast camera's layers (rid): frames encoded and their width.
             layers: Object.fromEntries(out.filter((s) => s.rid).map(
               (s) => [s.rid, { frames: s.framesEncoded || 0, width: s.frameWidth || 0,
                                fps: s.framesPerSecond || 0,
                                limited: s.qualityLimitationReason }])) };
  },
  /**
   * getStats adds a freeze to freezeCount and totalFreezesDuration when it ends: read every
   * 400 ms (and once more by ``received``), a stream's growth in duration is the length of the
   * freeze that just ended (or of two or more together, which only overstates the longest).
   * A freeze that overlaps a time when that person's tile said "Video paused" (the server
   * paused the video for this page, its downlink budget, media:slots ``paused``; or sends it
   * again and its first new picture has not come) is the pause, not a freeze: it is kept
   * apart, in ``pausedS``. From now on.
   */
  watchFreezes() {
    this.longest = {};
    this.pausedS = {};
    this.last = new Map();
    this.pausedAt = new Map();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 400);
  },
  userOf(trackId) {
    for (const video of document.querySelectorAll("#stage figure[data-user] video")) {
      if (video.srcObject?.getVideoTracks()[0]?.id === trackId) {
        return Number(video.closest("figure").dataset.user);
      }
    }
    return null;
  },
  async tick() {
    if (!this.last) return;
    const now = performance.now() / 1000;
    // What the person sees: a tile that says "Video paused" (stage.js keeps saying so after
    // the server sends the video again, until its first new picture).
    const tiles = document.querySelectorAll("#stage figure.tile.paused[data-user]");
    const paused = new Set([...tiles].map((figure) => Number(figure.dataset.user)));
    for (const s of await this.stats()) {
      if (s.type !== "inbound-rtp" || s.kind !== "video") continue;
      if (paused.has(this.userOf(s.trackIdentifier))) this.pausedAt.set(s.id, now);
      const [count, total] = [s.freezeCount || 0, s.totalFreezesDuration || 0];
      const before = this.last.get(s.id) ?? [count, total];
      const ended = count > before[0] ? total - before[1] : 0;
      const wasPaused = (this.pausedAt.get(s.id) ?? -Infinity) >= now - ended - 0.5;
      if (wasPaused) this.pausedS[s.id] = (this.pausedS[s.id] || 0) + ended;
      else this.longest[s.id] = Math.max(this.longest[s.id] || 0, ended);
      this.last.set(s.id, [count, total]);
    }
  },
  longest: {},
  pausedS: {},
};
"""


def trusting_home(directory: Path, cert: Path) -> Path:
    """A home directory whose NSS database trusts ``cert`` as a CA: Chromium on Linux reads
    ``$HOME/.pki/nssdb`` for the certificates a user added, TURN over TLS included."""
    nssdb = directory / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    db = f"sql:{nssdb}"
    for command in (
        ["certutil", "-N", "-d", db, "--empty-password"],
        ["certutil", "-A", "-d", db, "-n", "kelas-test-turn", "-t", "C,,", "-i", str(cert)],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=10)
    return directory


@contextlib.asynccontextmanager
async def two_sides(
    link: Link, base: str, directory: Path, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[Browser, Browser]]:
    """A Chromium on the host and one behind ``link``, for the server at ``base`` (``env``
    for the one behind, its HOME say); both closed at the end, before the server stops."""
    wrapper = link.wrapper(CHROMIUM, directory, env)
    async with async_playwright() as playwright:
        args = flags(base)
        host = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            behind = await playwright.chromium.launch(executable_path=str(wrapper), args=args)
            try:
                yield host, behind
            finally:
                await behind.close()
        finally:
            await host.close()


async def received(page: Page, user_id: int | None = None) -> dict[str, Any]:
    """``measure.received`` on ``page``: from everyone, or from ``user_id``."""
    return await page.evaluate("(id) => measure.received(id)", user_id)  # type: ignore[no-any-return]


def over(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What was received between two ``received`` readings, with the figures the issue
    asks for: audio heard without concealment, freezes, NACKs."""
    a0, a1, v0, v1 = before["audio"], after["audio"], before["video"], after["video"]
    samples = a1["samples"] - a0["samples"]
    concealed = a1["concealed"] - a0["concealed"]
    return {
        "seconds": round((after["at"] - before["at"]) / 1000, 1),
        "audio_streams": a1["streams"],
        "audio_concealed_pct": round(100 * concealed / samples, 2) if samples else None,
        "audio_packets_lost": a1["lost"] - a0["lost"],
        "audio_fec_packets": a1["fecPackets"] - a0["fecPackets"],
        "video_streams": v1["streams"],
        "video_frames": v1["frames"] - v0["frames"],
        "video_fps": v1["fps"],
        "video_widths": v1["widths"],
        "video_freezes": v1["freezes"] - v0["freezes"],
        "video_frozen_s": round(v1["frozenS"] - v0["frozenS"], 2),
        "video_longest_freeze_s": round(v1["longestFreezeS"], 2),  # paused videos apart
        "video_paused_s": round(v1["pausedS"] - v0["pausedS"], 2),
        "video_packets_lost": v1["lost"] - v0["lost"],
        "video_nacks_sent": v1["nacks"] - v0["nacks"],
        "video_plis_sent": v1["plis"] - v0["plis"],
        "video_keyframes": v1["keyframes"] - v0["keyframes"],
        "kbit_per_s": round(8 * (after["bytes"] - before["bytes"]) / (after["at"] - before["at"])),
    }


def record(name: str, figures: dict[str, Any]) -> None:
    """Keep a test's figures in test-artifacts/network.json (one key per test), and print them."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "network.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    kept[name] = figures
    path.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")
    print(name, json.dumps(figures, sort_keys=True))
