// The setup check (/check): the microphone and camera, then the network path to this server
// (directly, and through the TURN relay when the school has one), measured over data channels
// with the server's own short-lived peers (signaling/media/probe.py); the result is kept for
// the person, with the receipts that prove which paths reached the server.
import { openDevices, levelMeter } from "../live/media.js";
import {
  candidateTypes,
  devicesOutcome,
  kbps,
  measuredText,
  pingSummary,
  splitServers,
  stepStatuses,
  stunOutcome,
  turnOutcome,
} from "./measure.js";

const config = JSON.parse(document.getElementById("check-config").textContent);
const T = config.strings;
const $ = (sel) => document.querySelector(sel);
const GATHER_MS = 6000; // TURN over TLS can take a few seconds
const OPEN_MS = 10000;
const PINGS = 20;
const PING_EVERY_MS = 50;
const DOWN_MS = 2000;
const UP_MS = 1500;
const UP_KBPS = 2500;
const state = { running: false, result: null, level: 0 };
window.kelasCheck = state; // for tests and for support in the console

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const within = (promise, ms) => Promise.race([promise, sleep(ms).then(() => null)]);

async function api(method, path, body) {
  try {
    const response = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": config.csrf_token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json();
    return response.ok ? data : { error: data.error };
  } catch {
    return { error: { message: T.no_answer } };
  }
}

// -- one data-channel peer connection to the server ---------------------------------------

/** Messages of a channel, awaited in order; binary ones are counted with their times. */
function inbox(channel) {
  const box = { texts: [], waiting: null, bytes: 0, first: null, last: null };
  channel.binaryType = "arraybuffer";
  channel.onmessage = ({ data }) => {
    if (typeof data !== "string") {
      const now = performance.now();
      box.bytes += data.byteLength;
      box.first ??= now;
      box.last = now;
      return;
    }
    box.texts.push(data);
    box.waiting?.();
  };
  box.next = async (ms) => {
    const until = performance.now() + ms;
    while (!box.texts.length) {
      const left = until - performance.now();
      if (left <= 0) return null;
      await within(new Promise((resolve) => (box.waiting = resolve)), left);
    }
    return JSON.parse(box.texts.shift());
  };
  return box;
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) =>
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    }),
  );
}

/** Offer two data channels with `servers` and `policy`; resolves when the server's receipt
 * came, or with what went wrong. */
async function tryPath(servers, policy) {
  const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: policy });
  const errors = [];
  pc.onicecandidateerror = (e) => errors.push(e.url || "");
  const ping = pc.createDataChannel("ping", { ordered: false, maxRetransmits: 0 });
  const bulk = pc.createDataChannel("bulk");
  const pings = inbox(ping);
  const bulks = inbox(bulk);
  await pc.setLocalDescription(await pc.createOffer());
  await within(gathered(pc), GATHER_MS);
  const sdp = pc.localDescription.sdp;
  const path = { pc, ping, bulk, pings, bulks, errors, types: candidateTypes(sdp), receipt: null };
  if (!path.types.size) return path;
  const answer = await api("POST", "/api/v1/check/offer", { type: "offer", sdp });
  if (answer.error) {
    path.error = answer.error;
    return path;
  }
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  const first = await bulks.next(OPEN_MS);
  path.receipt = first?.receipt ?? null;
  return path;
}

async function measurePings(path) {
  const sentAt = new Map();
  const rtts = [];
  path.ping.onmessage = ({ data }) => {
    const n = JSON.parse(data).n;
    if (sentAt.has(n)) rtts.push(performance.now() - sentAt.get(n));
    sentAt.delete(n);
  };
  for (let n = 0; n < PINGS; n++) {
    sentAt.set(n, performance.now());
    path.ping.send(JSON.stringify({ n }));
    await sleep(PING_EVERY_MS);
  }
  await sleep(1000); // a pong later than this counts as lost
  return pingSummary(PINGS, rtts);
}

async function measureDown(path) {
  const box = path.bulks;
  path.bulk.send(JSON.stringify({ down: DOWN_MS }));
  const done = await box.next(DOWN_MS + 8000);
  return done ? kbps(box.bytes, box.last - box.first) : null;
}

async function measureUp(path) {
  const chunk = new Uint8Array(1000);
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < UP_MS) {
    const due = ((performance.now() - started) * UP_KBPS) / 8;
    while (sent + chunk.length <= due && path.bulk.bufferedAmount < 256 * 1024) {
      path.bulk.send(chunk);
      sent += chunk.length;
    }
    await sleep(10);
  }
  path.bulk.send(JSON.stringify({ up: true }));
  const answer = await path.bulks.next(10000);
  return answer ? kbps(answer.up_bytes, answer.up_ms) : null;
}

// -- the check ------------------------------------------------------------------------------

function step(name, status, detail) {
  const item = $(`#steps [data-step="${name}"]`);
  const badge = item.querySelector("[data-status]");
  badge.textContent = T["status_" + status] ?? T.waiting;
  badge.className = "badge " + ({ ok: "ok", warn: "warn", failed: "bad" }[status] ?? "");
  item.dataset.status = status;
  if (detail !== undefined) item.querySelector("[data-detail]").textContent = detail;
}

async function run() {
  state.running = true;
  const start = $("#check-start");
  start.disabled = true;
  start.textContent = T.running;
  $("#check-result").hidden = true;
  for (const name of ["mic", "camera", "udp", "relay", "network"]) step(name, "waiting", "");

  const { stream, error } = await openDevices({ audioId: "", videoId: "", mic: true, cam: true });
  $("#preview").srcObject = stream.getTracks().length ? stream : null;
  state.level = 0;
  const stopMeter = levelMeter(stream, (v) => {
    $("#meter").value = v;
    state.level = Math.max(state.level, v);
  });

  const network = await checkNetwork();
  stopMeter();
  const devices = devicesOutcome({
    audio: stream.getAudioTracks().length > 0,
    video: stream.getVideoTracks().length > 0,
    error,
    peak: state.level,
  });
  const report = { ...devices, ...network };
  const saved = await api("POST", "/api/v1/me/checks", report);
  show(saved, report);
  // The camera goes off when the check is over; the preview keeps its last picture.
  keepLastFrame($("#preview"));
  $("#preview").srcObject = null;
  stream.getTracks().forEach((t) => t.stop());
  start.disabled = false;
  start.textContent = T.again;
  state.running = false;
}

async function checkNetwork() {
  const found = { receipts: [], rtt_ms: null, loss: null, down_kbps: null, up_kbps: null };
  const ice = await api("POST", "/api/v1/check/ice-servers");
  const { stun, turn } = splitServers(ice.ice_servers ?? []);
  const direct = await tryPath(stun, "all");
  found.stun = stunOutcome(stun.length > 0, direct.types, direct.errors);
  if (direct.receipt) {
    found.receipts.push(direct.receipt);
    step("udp", "ok", T.udp_ok);
    Object.assign(found, await measurePings(direct));
    found.down_kbps = await measureDown(direct);
    found.up_kbps = await measureUp(direct);
  } else step("udp", "failed", direct.error?.message ?? T.udp_failed);
  direct.pc.close();
  found.turn = "none";
  if (turn.length) {
    const relay = await tryPath(turn, "relay");
    found.turn = turnOutcome(true, relay.types);
    if (relay.receipt) {
      found.receipts.push(relay.receipt);
      if (found.rtt_ms == null) Object.assign(found, await measurePings(relay));
    }
    relay.pc.close();
  }
  return found;
}

function keepLastFrame(video) {
  if (!video.videoWidth) return;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  video.poster = canvas.toDataURL("image/jpeg", 0.8);
}

function show(saved, report) {
  const result = $("#check-result");
  result.hidden = false;
  if (saved.error) {
    result.className = "notice bad";
    result.textContent = `${T.not_saved} ${saved.error.message}`;
    return;
  }
  state.result = saved;
  const statuses = stepStatuses(saved);
  step("mic", statuses.mic, T["mic_" + saved.mic]);
  step("camera", statuses.camera, T["camera_" + saved.camera]);
  const stunNote = saved.stun === "none" ? "" : " " + T["stun_" + saved.stun];
  step("udp", statuses.udp, T["udp_" + saved.udp] + stunNote);
  step("relay", statuses.relay, T["relay_" + saved.relay]);
  step("network", statuses.network, measuredText(report, config.language, T) ?? T.unmeasured);
  result.className = "notice " + { ok: "ok", warn: "warn", failed: "bad" }[saved.verdict];
  const reasons = saved.reasons.map((r) => {
    const item = document.createElement("li");
    item.textContent = T["reason_" + r];
    return item;
  });
  const list = document.createElement("ul");
  list.append(...reasons);
  const saidSaved = document.createElement("p");
  saidSaved.textContent = T.saved;
  result.replaceChildren(T["verdict_" + saved.verdict], reasons.length ? list : "", saidSaved);
}

$("#check-start").addEventListener("click", () => {
  if (!state.running) run();
});
