// The stage: everyone's video as tiles, laid out for the person looking (layout.js), the
// shared screen, and the sound of each slot. Tiles are kept across renders so that no video
// restarts when people come, go or change places. A video the server does not send this
// person now (their downlink budget or their choice of audio only, media:slots `paused`)
// shows its last picture, dimmed, with the person's name and "Video paused": never a frozen
// or black tile that looks broken.
import { $, el, handBadge } from "./dom.js";
import { galleryGrid, stageLayout } from "./layout.js";
import { micOffIcon, signalIcon } from "./icons.js";
import { BARS, qualityText } from "./quality.js";

const tiles = new Map(); // user id -> figure: kept across renders so video never restarts
const screenVideo = $("#screen");

function tile(userId, track, state) {
  let figure = tiles.get(userId);
  if (!figure) {
    const video = el("video", { autoplay: true, playsinline: true, muted: true, "data-user": userId });
    const note = el("p", { class: "paused-note", hidden: true });
    figure = el("figure", { class: "tile", "data-user": userId }, video, note, el("figcaption"));
    tiles.set(userId, figure);
  }
  const video = figure.querySelector("video");
  if (track && video.srcObject?.getVideoTracks()[0] !== track) {
    video.srcObject = new MediaStream([track]);
    if (userId !== "me" && video.requestVideoFrameCallback) {
      // How long from "Join now" to the first remote picture (reported by the e2e test).
      video.requestVideoFrameCallback(() => {
        state.firstFrameMs ??= Math.round(performance.now() - state.joinedAt);
      });
    }
  }
  return figure;
}

function caption(figure, person, name, state, config) {
  const T = config.strings;
  const parts = [el("span", { class: "name" }, name)];
  if (person && person.role !== "observer" && !person.mic)
    parts.push(
      el(
        "span",
        { class: "mic-off", title: T.mic_off },
        micOffIcon(),
        el("span", { class: "skip" }, T.mic_off),
      ),
    );
  const hand = person && handBadge(state.hands, person.user_id, config.language, T);
  if (hand) parts.push(hand);
  // The tutor (and an observing coordinator) sees how each person's connection is doing.
  const quality = config.role !== "student" && qualityText(person?.quality, config.language, T);
  if (quality)
    parts.push(
      el(
        "span",
        { class: `quality quality-${person.quality.grade}`, title: quality },
        signalIcon(BARS[person.quality.grade]),
        el("span", { class: "vh" }, quality),
      ),
    );
  figure.querySelector("figcaption").replaceChildren(...parts);
}

/** Show `state`'s people on the stage, for the person `config` describes. */
export function renderTiles(state, config) {
  const T = config.strings;
  if (!state.media) return;
  const observer = config.role === "observer";
  const figures = new Map(); // user id -> figure
  for (const [index, userId] of Object.entries(state.slots)) {
    const person = state.people.get(userId);
    if (!person) continue;
    const figure = tile(userId, state.media.videoTrack(Number(index)), state);
    caption(figure, person, person.name, state, config);
    const parts = [figure, figure.querySelector("video"), figure.querySelector(".paused-note")];
    showPaused(...parts, state.paused.has(userId), person.cam, T.video_paused);
    figures.set(userId, figure);
  }
  if (!observer) {
    const mine = tile("me", state.local.getVideoTracks()[0], state);
    mine.classList.add("mine");
    caption(mine, state.people.get(config.user_id) ?? state.me, T.you, state, config);
    figures.set(config.user_id, mine);
  }
  const shown = [...figures.keys()].map((id) => ({
    user_id: id,
    role: id === config.user_id ? config.role : state.people.get(id)?.role,
  }));
  const screenOn = !!state.screen && state.screen !== config.user_id;
  const layout = stageLayout({
    role: config.role,
    me: config.user_id,
    shown,
    spotlight: state.room?.spotlight ?? null,
    screen: screenOn,
  });
  for (const [id, figure] of figures) {
    const person = state.people.get(id);
    figure.classList.toggle("large", layout.main.includes(id));
    figure.classList.toggle("speaking", !!person?.speaking);
    figure.classList.toggle("spotlit", state.room?.spotlight === id);
  }
  const stage = $("#stage");
  stage.dataset.layout = layout.mode;
  const screen = screenVideo; // out of the page while nobody shares
  screen.hidden = !screenOn;
  showPaused(screen, screen, $("#screen-note"), state.screenPaused, screenOn, T.screen_paused);
  if (screenOn && screen.srcObject?.getVideoTracks()[0] !== state.media.screenTrack())
    screen.srcObject = new MediaStream([state.media.screenTrack()]);
  const main = stage.querySelector(".stage-main");
  const strip = stage.querySelector(".stage-strip");
  const wantMain = screenOn ? [screen] : layout.main.map((id) => figures.get(id));
  const wantStrip = layout.strip.map((id) => figures.get(id));
  // Only move what moved: a <video> taken out of the page and put back may stutter.
  if (!sameChildren(main, wantMain)) main.replaceChildren(...wantMain);
  if (!sameChildren(strip, wantStrip)) strip.replaceChildren(...wantStrip);
  fitGallery();
  const sound = $("#sound");
  for (const [index, userId] of Object.entries(state.slots)) {
    let audio = sound.querySelector(`audio[data-slot="${index}"]`);
    if (!audio) {
      audio = el("audio", { autoplay: true, "data-slot": index });
      sound.append(audio);
    }
    audio.dataset.user = userId;
    const track = state.media.audioTrack(Number(index));
    if (audio.srcObject?.getAudioTracks()[0] !== track) audio.srcObject = new MediaStream([track]);
  }
}

/**
 * Dim a tile (or the shared screen: `box`) and say "Video paused" in its `note` while the
 * server does not send its `video`; `on`: the camera (or the sharing) is on at all. A video
 * sent again says so until its first new picture: the server resumes it at a keyframe, which
 * may take a moment to come, and meanwhile the last picture, undimmed, would look frozen.
 */
function showPaused(box, video, note, paused, on, text) {
  const resumed = !paused && on && box.classList.contains("paused");
  if (resumed && video.requestVideoFrameCallback) {
    box.resuming = true;
    if (!box.awaitingFrame) {
      box.awaitingFrame = true;
      video.requestVideoFrameCallback(() => {
        box.awaitingFrame = false;
        if (!box.resuming) return;
        box.resuming = false;
        setPaused(box, note, false, text);
      });
    }
  } else if (paused || !on) {
    box.resuming = false;
  }
  setPaused(box, note, on && (paused || box.resuming), text);
}

function setPaused(box, note, paused, text) {
  box.classList.toggle("paused", paused);
  note.textContent = text;
  note.hidden = !paused;
}

function sameChildren(parent, nodes) {
  return parent.children.length === nodes.length && nodes.every((node, i) => parent.children[i] === node);
}

/** The large tiles' grid, from their number and the space they have (layout.js). */
export function fitGallery() {
  const main = $("#stage .stage-main");
  const style = getComputedStyle(main);
  const width = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const height = main.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  const grid = galleryGrid(main.children.length, { width, height, gap: parseFloat(style.columnGap) || 0 });
  main.style.setProperty("--columns", grid.columns);
  main.style.setProperty("--rows", grid.rows);
  main.style.setProperty("--tile-width", `${grid.tileWidth}px`);
  main.style.setProperty("--tile-height", `${grid.tileHeight}px`);
}

/** Outline the tiles of the people speaking now. */
export function markSpeaking(state, config) {
  for (const node of document.querySelectorAll("#stage .tile[data-user]")) {
    const id = node.dataset.user === "me" ? config.user_id : Number(node.dataset.user);
    node.classList.toggle("speaking", !!state.people.get(id)?.speaking);
  }
}
