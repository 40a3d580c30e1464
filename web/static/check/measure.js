// The setup check's sums and words (the /check page): pure, so that node --test checks them.
// What the server's peer answers on each data channel is in signaling/media/probe.py.

/** The STUN servers (for the direct path) and the TURN servers (for the relay path) among
 * the ICE servers the server gave; a TURN entry carries its minted credential. */
export function splitServers(iceServers) {
  const urls = (server) => [].concat(server.urls || []);
  return {
    stun: iceServers.filter((s) => urls(s).every((u) => u.startsWith("stun:"))),
    turn: iceServers.filter((s) => urls(s).some((u) => /^turns?:/.test(u))),
  };
}

/** The candidate types (host, srflx, prflx, relay) in an SDP. */
export function candidateTypes(sdp) {
  return new Set([...(sdp || "").matchAll(/^a=candidate:.* typ (\w+)/gm)].map((m) => m[1]));
}

/**
 * Whether STUN worked: `none` without STUN servers; `ok` with a server-reflexive candidate,
 * or when no STUN server reported an error (a machine with a public address gets no srflx
 * candidate: its own address is already the one STUN would find); `failed` when one did.
 */
export function stunOutcome(hasStun, types, errorUrls) {
  if (!hasStun) return "none";
  if (types.has("srflx")) return "ok";
  return errorUrls.some((url) => url.startsWith("stun:")) ? "failed" : "ok";
}

/** Whether TURN gave a relay candidate: `none` without TURN servers. */
export function turnOutcome(hasTurn, types) {
  if (!hasTurn) return "none";
  return types.has("relay") ? "ok" : "failed";
}

/** Level above which the microphone counts as heard (the meter goes from 0 to 1). */
export const HEARD = 0.02;

/**
 * The microphone and camera from what getUserMedia gave (openDevices in live/media.js: its
 * `error` is null, "denied", "camera_denied", "no_camera" or "no_devices") and the loudest
 * level heard while the check ran.
 */
export function devicesOutcome({ audio, video, error, peak }) {
  let mic = "missing";
  if (audio) mic = peak > HEARD ? "ok" : "silent";
  else if (error === "denied") mic = "denied";
  let camera = "missing";
  if (video) camera = "ok";
  else if (error === "denied" || error === "camera_denied") camera = "denied";
  return { mic, camera };
}

/** The median of the round trips that came back, and the share of pings that did not. */
export function pingSummary(sent, rtts) {
  if (!sent) return { rtt_ms: null, loss: null };
  const sorted = [...rtts].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = !sorted.length
    ? null
    : sorted.length % 2
      ? sorted[mid]
      : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    rtt_ms: median == null ? null : Math.round(median),
    loss: Math.round((1 - Math.min(rtts.length, sent) / sent) * 1000) / 1000,
  };
}

/** kbit/s from bytes over milliseconds; null when nothing was timed. */
export function kbps(bytes, ms) {
  if (!bytes || !(ms > 0)) return null;
  return Math.round((bytes * 8) / ms);
}

const mbit = (n, language) =>
  new Intl.NumberFormat(language, { maximumFractionDigits: 1 }).format(n / 1000) + "\u00a0Mbit/s";
const msText = (n, language) =>
  new Intl.NumberFormat(language, { style: "unit", unit: "millisecond", unitDisplay: "short" }).format(n);
const percent = (share, language) =>
  new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 1 }).format(share);

/** "Round trip 45 ms, 0% lost, 2.4 Mbit/s down, 1.1 Mbit/s up", or null without numbers. */
export function measuredText(m, language, strings) {
  if (m.rtt_ms == null && m.down_kbps == null) return null;
  const dash = "–";
  return strings.measured
    .replace("{rtt}", m.rtt_ms == null ? dash : msText(m.rtt_ms, language))
    .replace("{loss}", m.loss == null ? dash : percent(m.loss, language))
    .replace("{down}", m.down_kbps == null ? dash : mbit(m.down_kbps, language))
    .replace("{up}", m.up_kbps == null ? dash : mbit(m.up_kbps, language));
}

/** The status badge of each step from the server's stored result ({verdict, reasons, ...}). */
export function stepStatuses(check) {
  const has = (reason) => check.reasons.includes(reason);
  const mic = check.mic === "ok" ? "ok" : check.mic === "silent" ? "warn" : "failed";
  return {
    mic,
    camera: check.camera === "ok" ? "ok" : "warn",
    udp: check.udp === "ok" ? (check.stun === "failed" ? "warn" : "ok") : "failed",
    relay: check.relay === "none" ? "none" : check.relay === "ok" ? "ok" : "failed",
    network:
      check.rtt_ms == null && check.down_kbps == null
        ? "failed"
        : has("unstable") || has("slow")
          ? "warn"
          : "ok",
  };
}
