// The live classroom page: device check, then the room (Socket.IO + one peer connection).
import { io } from "socket.io-client";
import { Media, openDevices, levelMeter } from "./media.js";
import { Outbox } from "./outbox.js";

const config = JSON.parse(document.getElementById("live-config").textContent);
const T = config.strings;
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c != null));
  return node;
};

const RETRY_CODES = new Set(["unavailable", "rate_limited", "internal"]);
const state = {
  socket: null, media: null, local: new MediaStream(), room: null, me: null,
  people: new Map(), hands: [], slots: {}, screen: null, lastSeq: 0, plan: null,
  mic: true, cam: true, sharing: null, devices: { audioId: "", videoId: "" }, ended: false,
};
window.kelasLive = state; // for tests and debugging in the console

// -- device check -----------------------------------------------------------------------

let stopMeter = () => {};
async function preview() {
  stopMeter();
  state.local.getTracks().forEach((t) => t.stop());
  const { stream, error } = await openDevices({ ...state.devices, mic: state.mic, cam: state.cam, plan: config.plan });
  state.local = stream;
  // An empty stream in a <video> would hold the page's load event forever.
  $("#preview").srcObject = stream.getTracks().length ? stream : null;
  const message = error ? T["device_" + error] : "";
  $("#device-error").textContent = message;
  $("#device-error").hidden = !message;
  if (error === "camera_denied" || error === "no_camera" || !stream.getVideoTracks().length) state.cam = false;
  if (!stream.getAudioTracks().length) state.mic = false;
  $("#check-cam").checked = state.cam;
  $("#check-mic").checked = state.mic;
  stopMeter = levelMeter(stream, (v) => { $("#meter").value = v; });
  await listDevices();
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, select] of [["audioinput", $("#mic-select")], ["videoinput", $("#cam-select")]]) {
    select.replaceChildren(...devices.filter((d) => d.kind === kind)
      .map((d, i) => el("option", { value: d.deviceId }, d.label || `${kind} ${i + 1}`)));
  }
}

function wireDeviceCheck() {
  $("#check-cam").addEventListener("change", (e) => { state.cam = e.target.checked; preview(); });
  $("#check-mic").addEventListener("change", (e) => { state.mic = e.target.checked; preview(); });
  $("#cam-select").addEventListener("change", (e) => { state.devices.videoId = e.target.value; preview(); });
  $("#mic-select").addEventListener("change", (e) => { state.devices.audioId = e.target.value; preview(); });
  $("#join").addEventListener("click", () => { state.joinedAt = performance.now(); stopMeter(); enter(); });
}

// -- the room ------------------------------------------------------------------------------

function enter() {
  $("#check").hidden = true;
  $("#room").hidden = false;
  const socket = io("/class", { auth: { lesson_id: config.lesson_id }, transports: ["websocket"] });
  state.socket = socket;
  socket.on("connect", onConnected);
  socket.on("connect_error", (err) => {
    // A refusal comes as data {code, message}; a network error has no data.
    const code = err.data?.code;
    banner(code ? err.data.message : T.reconnecting, true);
    if (!code) return; // the network: socket.io-client keeps reconnecting by itself
    if (RETRY_CODES.has(code)) {
      // Busy or briefly unreachable: try again after the time the server asked for.
      const wait = Math.max(1000, (err.data.retry_after ?? 2) * 1000);
      setTimeout(() => { if (!socket.connected && !state.ended) socket.connect(); }, wait);
    } else {
      state.ended = true; // not booked, removed, ended, locked: reconnecting cannot help
      socket.io.opts.reconnection = false;
      closeMedia();
    }
  });
  socket.on("disconnect", (reason) => {
    if (state.ended) return;
    banner(reason === "io server disconnect" ? T.disconnected : T.reconnecting, true);
    closeMedia();
  });
  socket.on("participant:joined", (p) => { state.people.set(p.user_id, p); render(); });
  socket.on("participant:updated", (p) => { state.people.set(p.user_id, p); if (p.user_id === config.user_id) state.me = p; render(); });
  socket.on("participant:left", ({ user_id }) => { state.people.delete(user_id); render(); });
  socket.on("participant:speaking", ({ user_id, speaking }) => {
    const p = state.people.get(user_id); if (p) { p.speaking = speaking; renderPeople(); markSpeaking(); }
  });
  socket.on("hands", ({ hands }) => { state.hands = hands; renderPeople(); });
  socket.on("room:updated", ({ spotlight, locked }) => { Object.assign(state.room, { spotlight, locked }); render(); });
  socket.on("room:ended", () => { state.ended = true; banner(T.ended, true); closeMedia(); socket.disconnect(); });
  socket.on("chat:message", addChat);
  socket.on("media:slots", ({ slots, screen }) => { state.slots = slots; state.screen = screen; renderTiles(); });
  socket.on("media:plan", (plan) => { state.plan = plan; applyPlan(); });
  // The server gave up on this peer connection (ICE or DTLS failed): say so, start a new one.
  socket.on("media:failed", ({ message }) => { banner(message, true); restartMedia(); });
  socket.on("you:muted", () => { setMic(false, false); banner(T.you_muted); });
  socket.on("you:may_unmute", () => banner(T.you_may_unmute));
  socket.on("you:unmute_requested", () => {
    if (confirm(T.unmute_request)) socket.emit("unmute:accept", null, (ack) => { if (ack.ok) setMic(true, false); });
  });
  socket.on("you:camera_off", () => { setCam(false, false); banner(T.you_camera_off); });
  socket.on("you:may_use_camera", () => banner(T.you_may_use_camera));
  socket.on("you:removed", () => { state.ended = true; banner(T.removed, true); closeMedia(); });
  state.outbox = new Outbox((payload) => call("chat:send", payload, { quiet: true }), {
    onChange: renderOutbox,
    onRefused: (item, error) => banner(error?.message || T.no_answer, true),
  });
  wireControls();
}

// Every event is sent with an ack, and every ack is checked: an error is shown (unless the
// caller handles it quietly) and returned as {error: {code, message}}.
function call(name, data, { quiet = false } = {}) {
  return new Promise((resolve) => {
    if (!state.socket?.connected) { resolve({ error: { code: "no_answer", message: T.no_answer } }); return; }
    state.socket.timeout(10000).emit(name, data ?? null, (err, ack) => {
      // Cut off by a dropped connection: the banner already says it is reconnecting.
      if (err) { if (!quiet && state.socket.connected) banner(T.no_answer, true); resolve({ error: { code: "no_answer", message: T.no_answer } }); return; }
      if (ack?.error && !quiet) banner(ack.error.message, true);
      resolve(ack || {});
    });
  });
}

async function onConnected() {
  banner("");
  state.outbox?.flush(); // what was typed while the connection or the database was away
  const hello = await call("hello", { after: state.lastSeq });
  if (hello.error) return;
  state.room = hello.room;
  state.me = hello.me;
  state.plan = hello.media.plan;
  state.people = new Map(hello.room.participants.map((p) => [p.user_id, p]));
  state.hands = hello.room.hands;
  hello.chat.forEach(addChat);
  render();
  await startMedia(hello.media);
}

async function startMedia({ ice_servers, slots }) {
  // Every (re)connection gets a new peer connection: aiortc has no ICE restart.
  closeMedia();
  const observer = config.role === "observer";
  const media = new Media({
    iceServers: ice_servers, slots,
    onCandidate: (c) => state.socket.emit("media:candidate", c),
    onState: (s) => { if (s === "failed" && state.media === media) restartMedia(); },
  });
  state.media = media;
  if (!observer) {
    await media.send("audio", state.local.getAudioTracks()[0]);
    await media.send("video", state.local.getVideoTracks()[0]);
  }
  const answer = await call("media:offer", await media.offer());
  if (answer.error || state.media !== media) return;
  await media.answer(answer.sdp);
  state.mic = state.mic && !state.me.mic_blocked && !observer;
  state.cam = state.cam && !state.me.cam_blocked && !observer;
  syncLocalTracks();
  if (!observer) await call("media:state", { mic: state.mic, cam: state.cam, screen: !!state.sharing });
  applyPlan();
  renderTiles();
}

async function restartMedia() {
  const hello = await call("hello", { after: state.lastSeq });
  if (!hello.error) { hello.chat.forEach(addChat); await startMedia(hello.media); }
}

function closeMedia() {
  if (state.media) { state.media.close(); state.media = null; }
}

function applyPlan() {
  if (!state.media || !state.plan) return;
  state.media.applyPlan("video", state.plan.camera, state.local.getVideoTracks()[0]);
  if (state.sharing) state.media.applyPlan("screen", state.plan.screen, state.sharing);
}

function syncLocalTracks() {
  state.local.getAudioTracks().forEach((t) => { t.enabled = state.mic; });
  state.local.getVideoTracks().forEach((t) => { t.enabled = state.cam; });
}

async function setMic(on, tell = true) {
  if (on && !state.local.getAudioTracks().length) return banner(T.device_no_devices, true);
  if (tell) {
    const ack = await call("media:state", { mic: on, cam: state.cam, screen: !!state.sharing });
    if (ack.error) return;
  }
  state.mic = on; syncLocalTracks(); renderControls();
}

async function setCam(on, tell = true) {
  if (on && !state.local.getVideoTracks().length) return banner(T.device_no_camera, true);
  if (tell) {
    const ack = await call("media:state", { mic: state.mic, cam: on, screen: !!state.sharing });
    if (ack.error) return;
  }
  state.cam = on; syncLocalTracks(); renderControls(); renderTiles();
}

async function toggleScreen() {
  if (state.sharing) {
    state.sharing.stop(); state.sharing = null;
    await state.media?.send("screen", null);
  } else {
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
      state.sharing = stream.getVideoTracks()[0];
      state.sharing.onended = () => { if (state.sharing) toggleScreen(); };
      await state.media?.send("screen", state.sharing);
    } catch { return; }
  }
  await call("media:state", { mic: state.mic, cam: state.cam, screen: !!state.sharing });
  applyPlan(); renderControls();
}

// -- rendering -----------------------------------------------------------------------------

function banner(text, alert = false) {
  const node = $("#banner");
  node.textContent = text || "";
  node.hidden = !text;
  node.className = "notice " + (alert ? "warn" : "ok");
}

function render() { renderControls(); renderPeople(); renderTiles(); }

function isTutor() { return config.role === "tutor"; }

function renderControls() {
  const bar = $("#controls");
  const observer = config.role === "observer";
  const buttons = [];
  if (!observer) {
    buttons.push(el("button", { type: "button", "aria-pressed": String(state.mic), onclick: () => setMic(!state.mic) }, state.mic ? T.mute_me : T.unmute_me));
    buttons.push(el("button", { type: "button", "aria-pressed": String(state.cam), onclick: () => setCam(!state.cam) }, state.cam ? T.camera_off_me : T.camera_on_me));
  }
  if (isTutor()) {
    buttons.push(el("button", { type: "button", class: "secondary", onclick: toggleScreen }, state.sharing ? T.stop_sharing : T.share_screen));
    buttons.push(el("button", { type: "button", class: "secondary", onclick: () => call("control:mute_all") }, T.mute_all));
    buttons.push(el("button", { type: "button", class: "secondary", onclick: () => call("control:lock", { locked: !state.room?.locked }) }, state.room?.locked ? T.unlock : T.lock));
    buttons.push(el("button", { type: "button", class: "danger", onclick: () => confirm(T.end_confirm) && call("control:end") }, T.end));
  }
  if (config.role === "student") {
    const raised = state.hands.includes(config.user_id);
    buttons.push(el("button", { type: "button", class: "secondary", onclick: () => call(raised ? "hand:lower" : "hand:raise", raised ? {} : null) }, raised ? T.lower_hand : T.raise_hand));
  }
  buttons.push(el("a", { class: "button secondary", href: `/classes/${config.lesson_id}` }, T.leave));
  bar.replaceChildren(...buttons);
  $("#locked").hidden = !state.room?.locked;
}

function personControls(p) {
  if (!isTutor() || p.role !== "student") return null;
  const b = (label, name, data) => el("button", { type: "button", class: "link", onclick: () => call(name, data) }, label);
  const id = { user_id: p.user_id };
  return el("div", { class: "row" },
    p.mic_blocked ? b(T.allow_unmute, "control:allow_unmute", id) : b(T.mute, "control:mute", id),
    p.mic ? null : b(T.ask_unmute, "control:request_unmute", id),
    p.cam_blocked ? b(T.allow_camera, "control:allow_camera", id) : b(T.camera_off, "control:camera_off", id),
    state.room?.spotlight === p.user_id ? b(T.unspotlight, "control:spotlight", { user_id: null }) : b(T.spotlight, "control:spotlight", id),
    state.hands.includes(p.user_id) ? b(T.lower_hand, "hand:lower", id) : null,
    el("button", { type: "button", class: "link", onclick: () => confirm(T.remove_confirm) && call("control:remove", id) }, T.remove));
}

function renderPeople() {
  const order = [...state.people.values()].sort((a, b) => (a.role === "tutor" ? -1 : b.role === "tutor" ? 1 : a.name.localeCompare(b.name)));
  $("#people").replaceChildren(...order.map((p) => {
    const hand = state.hands.indexOf(p.user_id);
    return el("li", { class: p.speaking ? "speaking" : "", "data-user": p.user_id },
      el("strong", {}, p.name), " ",
      el("span", { class: "badge" }, T["role_" + p.role]), " ",
      p.role === "observer" ? null : el("span", { class: "muted" }, `${p.mic ? T.mic_on : T.mic_off} · ${p.cam ? T.cam_on : T.cam_off}`),
      hand >= 0 ? el("span", { class: "badge warn" }, `✋ ${hand + 1}`) : null,
      personControls(p));
  }));
  renderControls();
}

const tiles = new Map(); // user id -> figure: kept across renders so video never restarts

function tile(userId, track, name, large) {
  let figure = tiles.get(userId);
  if (!figure) {
    const video = el("video", { autoplay: true, playsinline: true, muted: true, "data-user": userId });
    figure = el("figure", { class: "tile", "data-user": userId }, video, el("figcaption"));
    tiles.set(userId, figure);
  }
  const video = figure.querySelector("video");
  if (track && video.srcObject?.getVideoTracks()[0] !== track) {
    video.srcObject = new MediaStream([track]);
    if (userId !== "me" && video.requestVideoFrameCallback) {
      // How long from "Join now" to the first remote picture (reported by the e2e test).
      video.requestVideoFrameCallback(() => { state.firstFrameMs ??= Math.round(performance.now() - state.joinedAt); });
    }
  }
  const person = state.people.get(userId);
  figure.className = `tile ${large ? "large" : ""} ${person?.speaking ? "speaking" : ""}`;
  figure.querySelector("figcaption").textContent = name + (person && !person.mic ? ` · ${T.mic_off}` : "");
  return figure;
}

function renderTiles() {
  if (!state.media) return;
  const stage = $("#stage");
  const featured = state.room?.spotlight || [...state.people.values()].find((p) => p.role === "tutor")?.user_id;
  const tiles_ = [];
  for (const [index, userId] of Object.entries(state.slots)) {
    const person = state.people.get(userId);
    if (!person) continue;
    tiles_.push([userId, tile(userId, state.media.videoTrack(Number(index)), person.name, userId === featured)]);
  }
  if (config.role !== "observer") {
    const mine = tile("me", state.local.getVideoTracks()[0], T.you, config.user_id === featured);
    mine.classList.add("mine");
    mine.querySelector("figcaption").textContent = T.you;
    tiles_.push([config.user_id, mine]);
  }
  tiles_.sort((a, b) => (a[0] === featured ? -1 : b[0] === featured ? 1 : 0));
  stage.replaceChildren(...tiles_.map(([, node]) => node));
  const sound = $("#sound");
  for (const [index, userId] of Object.entries(state.slots)) {
    let audio = sound.querySelector(`audio[data-slot="${index}"]`);
    if (!audio) { audio = el("audio", { autoplay: true, "data-slot": index }); sound.append(audio); }
    audio.dataset.user = userId;
    const track = state.media.audioTrack(Number(index));
    if (audio.srcObject?.getAudioTracks()[0] !== track) audio.srcObject = new MediaStream([track]);
  }
  const screen = $("#screen");
  screen.hidden = !state.screen || state.screen === config.user_id;
  if (!screen.hidden) screen.srcObject = new MediaStream([state.media.screenTrack()]);
}

function markSpeaking() {
  for (const node of document.querySelectorAll("#stage .tile[data-user]")) {
    node.classList.toggle("speaking", !!state.people.get(Number(node.dataset.user))?.speaking);
  }
}

function renderOutbox(items) {
  const box = $("#chat-outbox");
  box.replaceChildren(...items.map((item) => el("li", { class: "muted", "data-key": item.key }, `${item.text} · ${T.sending}`)));
  box.hidden = !items.length;
}

function addChat(m) {
  const log = $("#chat-log");
  if (log.querySelector(`li[data-seq="${m.seq}"]`)) return; // already shown: no duplicates after a reconnect
  state.lastSeq = Math.max(state.lastSeq, m.seq);
  const time = new Date(m.at).toLocaleTimeString(config.language, { hour: "2-digit", minute: "2-digit", timeZone: config.timezone });
  const line = el("li", { "data-seq": m.seq }, el("strong", {}, m.name), ` ${time}: `, m.text);
  // After a reconnect, a live message (the outbox's, sent at once) can come before the
  // hello answer with the ones missed meanwhile: each goes in its place, none is dropped.
  log.insertBefore(line, [...log.children].find((li) => Number(li.dataset.seq) > m.seq) ?? null);
  line.scrollIntoView({ block: "end" });
}

function wireControls() {
  $("#chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("#chat-text");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    state.outbox.add(text); // kept until the server has stored it
  });
}

wireDeviceCheck();
preview();
