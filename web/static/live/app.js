// The live classroom page: device check, then the room (Socket.IO + one peer connection).
import { io } from "socket.io-client";
import { Media, openDevices, levelMeter } from "./media.js";
import { Outbox } from "./outbox.js";
import { ChatOrder } from "./chat.js";
import { afterRefusal } from "./reconnect.js";
import { MediaTries, afterCandidateAck, afterOfferAck } from "./ice.js";
import { $, el, button, handBadge as badge } from "./dom.js";
import { fitGallery, markSpeaking as markTiles, renderTiles as showTiles } from "./stage.js";
import { deviceChoices } from "./devices.js";
import { handIcon, micOffIcon, signalIcon } from "./icons.js";
import { tutorNotice } from "./tutor.js";
import { browserView, ownQuality } from "./connection.js";
import { SHOW_MS, UnstableNotices } from "./unstable.js";
import { BARS, qualityText } from "./quality.js";
import { AudioOnlyOffer } from "./audio_only.js";
import { Notes, noteItem, notePayload, opensNoteBox } from "./notes.js";
import { SpeakingView, isShortcut } from "./speaking.js";

const handBadge = (userId) => badge(state.hands, userId, config.language, T);
const renderTiles = () => showTiles(state, config);
const markSpeaking = () => markTiles(state, config);

const config = JSON.parse(document.getElementById("live-config").textContent);
const T = config.strings;
const state = {
  socket: null,
  media: null,
  local: new MediaStream(),
  room: null,
  me: null,
  people: new Map(),
  hands: [],
  slots: {},
  screen: null,
  paused: new Set(), // people whose video the server does not send me now (media:slots)
  screenPaused: false,
  audioOnly: false, // my choice: receive no video (media:receive)
  offer: new AudioOnlyOffer(), // offered by itself when my connection stays poor
  offering: false,
  chat: new ChatOrder(),
  notes: new Notes(), // the tutor's notes this person may read (notes.js)
  plan: null,
  mic: true,
  cam: true,
  sharing: null,
  devices: { audioId: "", videoId: "" },
  ended: false,
  tries: new MediaTries(), // every path first; relay only after a failure (ice.js)
  icePolicy: "all", // the server's (hello): "relay" keeps every try on TURN
  mediaNotice: null, // the banner's text about a failed media connection, while it shows
  candidates: { accepted: 0, refused: 0 }, // trickled ICE candidates, by their acks
  view: null, // this browser's own getStats() view of its connection (connection.js)
  own: null, // the person's own connection: the worse of the server's grade and the view
  notices: new UnstableNotices(), // "… connection is unstable", rate-limited (unstable.js)
};
window.kelasLive = state; // for tests and debugging in the console
// The speaking view (the tutor; a student their own share, if the school allows it).
const speaking = config.speaking
  ? new SpeakingView({
      call,
      strings: T,
      language: config.language,
      panel: $("#speaking-panel"),
      toggle: () => $("#speaking-toggle"),
      prompt: $("#speaking-prompt"),
    })
  : null;

// -- device check -----------------------------------------------------------------------

let stopMeter = () => {};
async function preview() {
  stopMeter();
  state.local.getTracks().forEach((t) => t.stop());
  const { stream, error } = await openDevices({
    ...state.devices,
    mic: state.mic,
    cam: state.cam,
    plan: config.plan,
  });
  state.local = stream;
  // An empty stream in a <video> would hold the page's load event forever.
  $("#preview").srcObject = stream.getTracks().length ? stream : null;
  const message = error ? T["device_" + error] : "";
  $("#device-error").textContent = message;
  $("#device-error").hidden = !message;
  if (error === "camera_denied" || error === "no_camera" || !stream.getVideoTracks().length)
    state.cam = false;
  if (!stream.getAudioTracks().length) state.mic = false;
  $("#check-cam").checked = state.cam;
  $("#check-mic").checked = state.mic;
  stopMeter = levelMeter(stream, (v) => {
    $("#meter").value = v;
  });
  await listDevices();
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const inUse = {
    audioinput: state.devices.audioId || state.local.getAudioTracks()[0]?.getSettings().deviceId,
    videoinput: state.devices.videoId || state.local.getVideoTracks()[0]?.getSettings().deviceId,
  };
  for (const [kind, select] of [
    ["audioinput", $("#mic-select")],
    ["videoinput", $("#cam-select")],
  ]) {
    const choices = deviceChoices(devices, kind, T);
    select.replaceChildren(...choices.map((c) => el("option", { value: c.value }, c.label)));
    if (choices.some((c) => c.value === inUse[kind])) select.value = inUse[kind];
  }
}

function wireDeviceCheck() {
  $("#check-cam").addEventListener("change", (e) => {
    state.cam = e.target.checked;
    preview();
  });
  $("#check-mic").addEventListener("change", (e) => {
    state.mic = e.target.checked;
    preview();
  });
  $("#cam-select").addEventListener("change", (e) => {
    state.devices.videoId = e.target.value;
    preview();
  });
  $("#mic-select").addEventListener("change", (e) => {
    state.devices.audioId = e.target.value;
    preview();
  });
  $("#join").addEventListener("click", () => {
    state.joinedAt = performance.now();
    stopMeter();
    enter();
  });
}

// -- the room ------------------------------------------------------------------------------

function enter() {
  $("#check").hidden = true;
  $("#room").hidden = false;
  // The query names the class for the proxy, which routes all its sockets to one process.
  const socket = io("/class", {
    query: { lesson: config.lesson_id },
    auth: { lesson_id: config.lesson_id },
    transports: ["websocket"],
  });
  state.socket = socket;
  socket.on("connect", onConnected);
  socket.on("connect_error", (err) => {
    // A refusal comes as data {code, message}; a network error has no data.
    const next = afterRefusal(err.data);
    banner(next.action === "network" ? T.reconnecting : err.data.message, true);
    if (next.action === "network") return; // socket.io-client keeps reconnecting by itself
    if (next.action === "retry") {
      // Another process hosts the class: the proxy routes the next try there if it is alive
      // (docs/deployment.md). Busy or briefly unreachable: try again after the time asked for.
      if (next.home) socket.io.opts.query.home = next.home;
      setTimeout(() => {
        if (!socket.connected && !state.ended) socket.connect();
      }, next.waitMs);
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
  socket.on("participant:joined", (p) => {
    state.people.set(p.user_id, p);
    render();
  });
  socket.on("participant:updated", (p) => {
    state.people.set(p.user_id, p);
    if (p.user_id === config.user_id) state.me = p;
    render();
  });
  socket.on("participant:left", ({ user_id }) => {
    state.people.delete(user_id);
    state.notices.forget(user_id);
    render();
  });
  socket.on("participant:speaking", ({ user_id, speaking }) => {
    const p = state.people.get(user_id);
    if (p) {
      p.speaking = speaking;
      renderPeople();
      markSpeaking();
    }
  });
  socket.on("participant:quality", ({ user_id, grade, rtt_ms, loss }) => {
    const p = state.people.get(user_id);
    if (p) {
      p.quality = { grade, rtt_ms, loss };
      renderTiles();
      if (user_id === config.user_id) ownConnection();
      // The tutor hears when a student's connection turns poor: the problem is on their side.
      else if (isTutor() && p.role === "student" && state.notices.theirs(user_id, grade, Date.now()))
        netNotice(T.unstable_theirs.replace("{name}", p.name));
    }
    if (user_id === config.user_id) {
      const wait = state.offer.graded(grade, performance.now());
      if (wait !== null) setTimeout(offerAudioOnly, wait + 50);
    }
  });
  socket.on("hands", ({ hands }) => {
    state.hands = hands;
    renderPeople();
    renderTiles();
  });
  socket.on("room:updated", ({ spotlight, locked, tutor }) => {
    if (!state.room) return; // before the hello ack, which brings the room whole
    Object.assign(state.room, { spotlight, locked, tutor });
    render();
  });
  // A coordinator gave the class to another tutor: name them until the class is over.
  socket.on("room:tutor", ({ name }) => {
    if (!state.room) return;
    state.room.tutor = { ...state.room.tutor, name };
    state.tutorChanged = true;
    renderTutor();
  });
  socket.on("room:ended", () => {
    state.ended = true;
    renderTutor();
    banner(T.ended, true);
    closeMedia();
    socket.disconnect();
  });
  socket.on("chat:message", addChat);
  socket.on("note:added", putNote);
  socket.on("note:edited", putNote);
  socket.on("note:deleted", ({ id }) => {
    state.notes.drop(id);
    renderNotes();
  });
  socket.on("speaking:prompt", (prompt) => speaking?.show(prompt));
  socket.on("media:slots", ({ slots, screen, paused, screen_paused }) => {
    state.slots = slots;
    state.screen = screen;
    state.paused = new Set(paused);
    state.screenPaused = screen_paused;
    renderTiles();
  });
  socket.on("media:plan", (plan) => {
    state.plan = plan;
    applyPlan();
  });
  // The server gave up on this peer connection (ICE or DTLS failed): say so, try another way.
  socket.on("media:failed", ({ reason }) => {
    if (state.media) mediaFailed(state.media, reason);
  });
  socket.on("you:muted", () => {
    setMic(false, false);
    banner(T.you_muted);
  });
  socket.on("you:may_unmute", () => banner(T.you_may_unmute));
  socket.on("you:unmute_requested", () => {
    if (confirm(T.unmute_request))
      socket.emit("unmute:accept", null, (ack) => {
        if (ack.ok) setMic(true, false);
      });
  });
  socket.on("you:camera_off", () => {
    setCam(false, false);
    banner(T.you_camera_off);
  });
  socket.on("you:may_use_camera", () => banner(T.you_may_use_camera));
  socket.on("you:removed", () => {
    state.ended = true;
    banner(T.removed, true);
    closeMedia();
  });
  state.outbox = new Outbox((payload) => call("chat:send", payload, { quiet: true }), {
    onChange: renderOutbox,
    onRefused: (item, error) => banner(error?.message || T.no_answer, true),
  });
  wireControls();
  setInterval(readStats, STATS_EVERY_MS);
}

// -- the person's own connection: the server's grade and this browser's view, the worse shown

const STATS_EVERY_MS = 2000;

async function readStats() {
  const media = state.media;
  if (!media || media.pc.connectionState !== "connected") return;
  let report;
  try {
    report = await media.pc.getStats();
  } catch {
    return; // closed meanwhile: the next peer connection is read next time
  }
  if (state.media !== media) return;
  // A new peer connection's counters start again: its first reading has no window.
  const previous = state.view?.media === media ? state.view : null;
  state.view = { ...browserView(report, previous), media };
  ownConnection();
}

function ownConnection() {
  state.own = ownQuality(state.people.get(config.user_id)?.quality, state.view);
  renderControls();
  if (state.notices.mine(state.own?.grade ?? null, Date.now())) netNotice(T.unstable_mine);
}

let noticeTimer = null;
function netNotice(text) {
  const node = $("#net-notice");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    node.hidden = true;
  }, SHOW_MS);
}

function ownIndicator() {
  const text = qualityText(state.own, config.language, T);
  if (!text) return null;
  return el(
    "span",
    { class: `quality own quality-${state.own.grade}`, id: "my-quality", title: text },
    signalIcon(BARS[state.own.grade]),
    el("span", { class: "vh" }, text),
  );
}

// Every event is sent with an ack, and every ack is checked: an error is shown (unless the
// caller handles it quietly) and returned as {error: {code, message}}.
function call(name, data, { quiet = false } = {}) {
  return new Promise((resolve) => {
    if (!state.socket?.connected) {
      resolve({ error: { code: "no_answer", message: T.no_answer } });
      return;
    }
    state.socket.timeout(10000).emit(name, data ?? null, (err, ack) => {
      // Cut off by a dropped connection: the banner already says it is reconnecting.
      if (err) {
        if (!quiet && state.socket.connected) banner(T.no_answer, true);
        resolve({ error: { code: "no_answer", message: T.no_answer } });
        return;
      }
      if (ack?.error && !quiet) banner(ack.error.message, true);
      resolve(ack || {});
    });
  });
}

async function onConnected() {
  banner("");
  state.outbox?.flush(); // what was typed while the connection or the database was away
  const hello = await call("hello", { after: state.chat.last });
  if (hello.error) return;
  state.room = hello.room;
  state.me = hello.me;
  state.plan = hello.media.plan;
  state.people = new Map(hello.room.participants.map((p) => [p.user_id, p]));
  state.hands = hello.room.hands;
  hello.chat.forEach(addChat);
  state.notes.reset(hello.notes); // what was noted while this page was away, too
  render();
  await startMedia(hello.media);
}

async function startMedia({ ice_servers, ice_transport_policy, slots }) {
  // Every (re)connection gets a new peer connection: aiortc has no ICE restart.
  closeMedia();
  const observer = config.role === "observer";
  const media = new Media({
    iceServers: ice_servers,
    iceTransportPolicy: state.tries.next(ice_servers, ice_transport_policy),
    slots,
    onCandidate: (candidate) => sendCandidate(media, candidate),
    onState: (s) => {
      if (s === "failed") mediaFailed(media, "ice");
      else if (s === "connected" && state.media === media) mediaConnected();
    },
  });
  state.media = media;
  state.icePolicy = ice_transport_policy;
  if (!observer) {
    await media.send("audio", state.local.getAudioTracks()[0]);
    await media.send("video", state.local.getVideoTracks()[0]);
  }
  const answer = await call("media:offer", await media.offer(), { quiet: true });
  if (state.media !== media) return;
  const next = afterOfferAck(answer);
  if (next.action !== "answer") {
    console.warn("media:offer", answer.error);
    banner(answer.error?.message || T.no_answer, true);
    if (next.action === "retry")
      setTimeout(() => {
        if (state.media === media) restartMedia();
      }, next.waitMs);
    return;
  }
  await media.answer(answer.sdp);
  state.mic = state.mic && !state.me.mic_blocked && !observer;
  state.cam = state.cam && !state.me.cam_blocked && !observer;
  syncLocalTracks();
  if (!observer) await call("media:state", { mic: state.mic, cam: state.cam, screen: !!state.sharing });
  // The choice holds for a connection: a new one starts with video.
  if (state.audioOnly) await call("media:receive", { video: false });
  applyPlan();
  renderTiles();
}

async function setAudioOnly(on) {
  const ack = await call("media:receive", { video: !on });
  if (ack.error) return;
  state.audioOnly = on;
  state.offer.answered(performance.now());
  state.offering = false;
  renderOffer();
  renderControls();
}

function offerAudioOnly() {
  if (state.offering || !state.offer.due(performance.now(), state.audioOnly)) return;
  state.offering = true;
  renderOffer();
}

function renderOffer() {
  const node = $("#offer");
  node.hidden = !state.offering;
  if (!state.offering) return node.replaceChildren();
  const no = () => {
    state.offer.answered(performance.now());
    state.offering = false;
    renderOffer();
  };
  node.replaceChildren(
    el("span", {}, T.offer_audio_only),
    button(T.audio_only, () => setAudioOnly(true), { id: "offer-audio-only" }),
    button(T.keep_video, no, { class: "secondary" }),
  );
}

async function sendCandidate(media, candidate) {
  // Checked like every ack: a busy server is asked again, a refusal is logged (ICE may still
  // find a path with the other candidates).
  for (let tries = 1; state.media === media; tries++) {
    const ack = await call("media:candidate", candidate, { quiet: true });
    const next = afterCandidateAck(ack, tries);
    if (next.action === "done") return state.candidates.accepted++;
    if (next.action === "drop") {
      state.candidates.refused++;
      return console.warn("media:candidate refused", ack.error, candidate);
    }
    await new Promise((resolve) => setTimeout(resolve, next.waitMs));
  }
}

function mediaFailed(media, reason) {
  // Told by the browser and by the server alike: act once per peer connection.
  if (media.failed || state.media !== media) return;
  media.failed = true;
  state.mediaNotice = T[state.tries.failed(reason, media.iceServers, state.icePolicy)];
  banner(state.mediaNotice, true);
  restartMedia();
}

function mediaConnected() {
  state.tries.connected();
  if (state.mediaNotice && $("#banner").textContent === state.mediaNotice) banner("");
  state.mediaNotice = null;
}

async function restartMedia() {
  const hello = await call("hello", { after: state.chat.last });
  if (!hello.error) {
    hello.chat.forEach(addChat);
    await startMedia(hello.media);
  }
}

function closeMedia() {
  if (state.media) {
    state.media.close();
    state.media = null;
  }
}

function applyPlan() {
  if (!state.media || !state.plan) return;
  state.media.applyPlan("video", state.plan.camera, state.local.getVideoTracks()[0]);
  if (state.sharing) state.media.applyPlan("screen", state.plan.screen, state.sharing);
}

function syncLocalTracks() {
  state.local.getAudioTracks().forEach((t) => {
    t.enabled = state.mic;
  });
  state.local.getVideoTracks().forEach((t) => {
    t.enabled = state.cam;
  });
}

async function setMic(on, tell = true) {
  if (on && !state.local.getAudioTracks().length) return banner(T.device_no_devices, true);
  if (tell) {
    const ack = await call("media:state", { mic: on, cam: state.cam, screen: !!state.sharing });
    if (ack.error) return;
  }
  state.mic = on;
  syncLocalTracks();
  renderControls();
}

async function setCam(on, tell = true) {
  if (on && !state.local.getVideoTracks().length) return banner(T.device_no_camera, true);
  if (tell) {
    const ack = await call("media:state", { mic: state.mic, cam: on, screen: !!state.sharing });
    if (ack.error) return;
  }
  state.cam = on;
  syncLocalTracks();
  renderControls();
  renderTiles();
}

async function toggleScreen() {
  if (state.sharing) {
    state.sharing.stop();
    state.sharing = null;
    await state.media?.send("screen", null);
  } else {
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
      state.sharing = stream.getVideoTracks()[0];
      state.sharing.onended = () => {
        if (state.sharing) toggleScreen();
      };
      await state.media?.send("screen", state.sharing);
    } catch {
      return;
    }
  }
  await call("media:state", { mic: state.mic, cam: state.cam, screen: !!state.sharing });
  applyPlan();
  renderControls();
}

// -- rendering -----------------------------------------------------------------------------

function banner(text, alert = false) {
  const node = $("#banner");
  node.textContent = text || "";
  node.hidden = !text;
  node.className = "notice " + (alert ? "warn" : "ok");
}

function renderTutor() {
  const text = state.ended ? null : tutorNotice(state.room?.tutor, config.role, T, state.tutorChanged);
  const node = $("#tutor-status");
  node.className = "notice " + (state.room?.tutor?.state === "present" ? "ok" : "warn");
  node.textContent = text || "";
  node.hidden = !text;
}

function render() {
  renderNotes();
  renderTutor();
  renderControls();
  renderPeople();
  renderTiles();
}

function isTutor() {
  return config.role === "tutor";
}

function renderControls() {
  const observer = config.role === "observer";
  const me = state.me ?? {};
  const buttons = [];
  if (!observer) {
    if (me.mic_blocked) {
      // Unmuting would only be refused: say why, and offer what helps (the hand, below).
      buttons.push(el("span", { class: "state", id: "mic-state" }, micOffIcon(), T.muted_by_tutor));
    } else {
      buttons.push(
        button(state.mic ? T.mute_me : T.unmute_me, () => setMic(!state.mic), {
          id: "mic",
        }),
      );
    }
    if (me.cam_blocked) buttons.push(el("span", { class: "state", id: "cam-state" }, T.camera_off_by_tutor));
    else
      buttons.push(
        button(state.cam ? T.camera_off_me : T.camera_on_me, () => setCam(!state.cam), {
          id: "cam",
        }),
      );
  }
  if (config.role === "student") {
    const raised = state.hands.includes(config.user_id);
    if (raised) {
      buttons.push(handBadge(config.user_id));
      buttons.push(button(T.lower_hand, () => call("hand:lower", {}), { class: "secondary", id: "hand" }));
    } else {
      buttons.push(
        button([handIcon(), me.mic_blocked ? T.raise_hand_to_ask : T.raise_hand], () => call("hand:raise"), {
          class: "secondary",
          id: "hand",
        }),
      );
    }
  }
  if (isTutor()) {
    buttons.push(
      button(state.sharing ? T.stop_sharing : T.share_screen, toggleScreen, {
        class: "secondary",
        id: "share-screen",
      }),
    );
    buttons.push(button(T.note, openNoteBox, { class: "secondary", id: "note", "aria-keyshortcuts": "n" }));
    buttons.push(button(T.mute_all, () => call("control:mute_all"), { class: "secondary", id: "mute-all" }));
    buttons.push(
      button(
        state.room?.locked ? T.unlock : T.lock,
        () => call("control:lock", { locked: !state.room?.locked }),
        { class: "secondary", id: "lock-room" },
      ),
    );
    buttons.push(
      button(T.end, () => confirm(T.end_confirm) && call("control:end"), { class: "danger", id: "end" }),
    );
  }
  buttons.push(
    button(state.audioOnly ? T.show_video : T.audio_only, () => setAudioOnly(!state.audioOnly), {
      class: "secondary",
      id: "audio-only",
      "aria-pressed": String(state.audioOnly),
    }),
  );
  if (speaking) {
    buttons.push(
      button(T.speaking, () => speaking.setOpen(!speaking.open), {
        class: "secondary",
        id: "speaking-toggle",
        "aria-controls": "speaking-panel",
        "aria-expanded": String(speaking.open),
        "aria-keyshortcuts": "S",
        title: `${T.speaking} (S)`,
      }),
    );
  }
  buttons.push(
    el("a", { class: "button secondary", href: `/classes/${config.lesson_id}`, id: "leave" }, T.leave),
  );
  const own = ownIndicator();
  if (own) buttons.push(own);
  // Each event can draw the controls anew: the control that had the keyboard's focus keeps it
  // (by its id), or a keyboard user who tabbed to "Mute me" would press Enter on nothing.
  const controls = $("#controls");
  const focused = controls.contains(document.activeElement) ? document.activeElement.id : "";
  controls.replaceChildren(...buttons);
  if (focused) document.getElementById(focused)?.focus();
  $("#locked").hidden = !state.room?.locked;
}

function personControls(p) {
  if (!isTutor() || p.role !== "student") return null;
  // The visible label stays short; its accessible name says whom it acts on ("Mute: Sinta").
  const named = (label) => ({ class: "link", "aria-label": `${label}: ${p.name}` });
  const b = (label, name, data) => button(label, () => call(name, data), named(label));
  const id = { user_id: p.user_id };
  return el(
    "div",
    { class: "row person-controls" },
    p.mic_blocked ? b(T.allow_unmute, "control:allow_unmute", id) : b(T.mute, "control:mute", id),
    p.mic ? null : b(T.ask_unmute, "control:request_unmute", id),
    p.cam_blocked ? b(T.allow_camera, "control:allow_camera", id) : b(T.camera_off, "control:camera_off", id),
    state.room?.spotlight === p.user_id
      ? b(T.unspotlight, "control:spotlight", { user_id: null })
      : b(T.spotlight, "control:spotlight", id),
    state.hands.includes(p.user_id) ? b(T.lower_hand, "hand:lower", id) : null,
    button(T.remove, () => confirm(T.remove_confirm) && call("control:remove", id), named(T.remove)),
  );
}

function renderPeople() {
  const order = [...state.people.values()].sort((a, b) =>
    a.role === "tutor" ? -1 : b.role === "tutor" ? 1 : a.name.localeCompare(b.name),
  );
  $("#people").replaceChildren(
    ...order.map((p) =>
      el(
        "li",
        { class: p.speaking ? "speaking" : "", "data-user": p.user_id },
        el("strong", {}, p.name),
        " ",
        el("span", { class: "badge" }, T["role_" + p.role]),
        " ",
        p.role === "observer"
          ? null
          : el(
              "span",
              { class: "muted" },
              `${p.mic ? T.mic_on : T.mic_off} · ${p.cam ? T.cam_on : T.cam_off}`,
            ),
        " ",
        handBadge(p.user_id),
        personControls(p),
      ),
    ),
  );
  $("#people-count").textContent = String(state.people.size);
  renderControls();
}

function renderOutbox(items) {
  const box = $("#chat-outbox");
  box.replaceChildren(
    ...items.map((item) => el("li", { class: "muted", "data-key": item.key }, `${item.text} · ${T.sending}`)),
  );
  box.hidden = !items.length;
}

function addChat(m) {
  const before = state.chat.place(m.seq); // each message once, in seq order (chat.js)
  if (before === undefined) return;
  const log = $("#chat-log");
  const time = new Date(m.at).toLocaleTimeString(config.language, {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: config.timezone,
  });
  const line = el("li", { "data-seq": m.seq }, el("strong", {}, m.name), ` ${time}: `, m.text);
  log.insertBefore(line, before === null ? null : log.querySelector(`li[data-seq="${before}"]`));
  line.scrollIntoView({ block: "nearest" });
  if (panelsFolded() && $(".live").dataset.panel !== "chat") {
    const unread = $("#chat-unread");
    unread.textContent = String(Number(unread.textContent || 0) + 1);
    unread.hidden = false;
  }
}

// -- the tutor's notes ---------------------------------------------------------------------

function putNote(note) {
  state.notes.put(note);
  renderNotes();
}

function renderNotes() {
  const notes = state.notes.list();
  const names = isTutor() ? new Map([...state.people.values()].map((p) => [p.user_id, p.name])) : null;
  const onDelete = isTutor()
    ? async (note) => {
        const ack = await call("note:delete", { id: note.id });
        if (!ack.error) {
          state.notes.drop(note.id);
          renderNotes();
        }
      }
    : null;
  $("#notes-list").replaceChildren(...notes.map((n) => noteItem(n, { strings: T, names, onDelete })));
  $("#notes-panel").hidden = !notes.length;
}

let beforeNote = null; // what had the focus when the note box opened: it gets it back

function openNoteBox() {
  const box = $("#note-box");
  if (!box || state.ended) return;
  const choice = $("#note-for");
  const chosen = choice.value;
  const students = [...state.people.values()].filter((p) => p.role === "student");
  choice.replaceChildren(
    el("option", { value: "" }, T.note_everyone),
    ...students
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((p) => el("option", { value: p.user_id }, p.name)),
  );
  if ([...choice.options].some((o) => o.value === chosen)) choice.value = chosen;
  if (box.hidden) beforeNote = document.activeElement;
  box.hidden = false;
  noteKind();
  $("#note-text").focus();
}

function closeNoteBox() {
  $("#note-box").hidden = true;
  $("#note-error").hidden = true;
  beforeNote?.focus?.();
  beforeNote = null;
}

function noteKind() {
  const kind = $("#note-kind").value;
  $("#note-better-field").hidden = kind !== "correction";
  $("#note-text-label").textContent = T["note_text_" + kind];
}

async function saveNote(e) {
  e.preventDefault();
  const error = $("#note-error");
  const payload = notePayload({
    kind: $("#note-kind").value,
    forWhom: $("#note-for").value,
    text: $("#note-text").value,
    better: $("#note-better").value,
  });
  if (!payload) {
    error.textContent = T.note_incomplete;
    error.hidden = false;
    return;
  }
  const ack = await call("note:add", payload, { quiet: true });
  if (ack.error) {
    error.textContent = ack.error.message;
    error.hidden = false;
    return;
  }
  putNote(ack.note);
  $("#note-text").value = "";
  $("#note-better").value = "";
  closeNoteBox();
}

function wireNotes() {
  document.addEventListener("keydown", (e) => {
    if (!isTutor() || $("#room").hidden || !opensNoteBox(e)) return;
    e.preventDefault(); // the "n" is not typed into the box it opens
    openNoteBox();
  });
  const box = $("#note-box");
  if (!box) return;
  box.addEventListener("submit", saveNote);
  box.addEventListener("keydown", (e) => {
    if (e.key === "Escape") closeNoteBox();
  });
  $("#note-cancel").addEventListener("click", closeNoteBox);
  $("#note-kind").addEventListener("change", noteKind);
}

// -- panels: side by side with the stage on a wide screen, folded behind buttons on a small one

const wide = window.matchMedia("(min-width: 56rem)");

function panelsFolded() {
  return !wide.matches;
}

function showPanel(name) {
  const live = $(".live");
  live.dataset.panel = live.dataset.panel === name ? "" : name;
  for (const toggle of document.querySelectorAll("[data-toggles]")) {
    toggle.setAttribute("aria-expanded", String(toggle.dataset.toggles === live.dataset.panel));
  }
  if (live.dataset.panel === "chat") {
    $("#chat-unread").textContent = "";
    $("#chat-unread").hidden = true;
  }
  fitGallery();
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
  for (const toggle of document.querySelectorAll("[data-toggles]")) {
    toggle.addEventListener("click", () => showPanel(toggle.dataset.toggles));
  }
  if (speaking) {
    $("#speaking-close").addEventListener("click", () => speaking.setOpen(false));
    document.addEventListener("keydown", (e) => {
      if ($("#room").hidden || !isShortcut(e)) return;
      e.preventDefault();
      speaking.setOpen(!speaking.open);
    });
  }
  new ResizeObserver(fitGallery).observe($("#stage .stage-main"));
  wireNotes();
}

wireDeviceCheck();
preview();
