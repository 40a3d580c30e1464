// The coordinator's live view (/live): renders each school:state snapshot; no reloads.
import { school } from "./online.js";
import {
  alertText,
  clock,
  clockOffset,
  fill,
  newAlerts,
  onlineCount,
  progress,
  startsIn,
  substituteReasons,
  unreadyText,
} from "./view.js";
import { qualityNumbers, qualityText } from "../live/quality.js";

const config = JSON.parse(document.getElementById("board-config").textContent);
const S = config.strings;
let last = null;
let offset = 0;

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null && v !== false) node.setAttribute(k, v);
  node.append(...children.filter((c) => c != null));
  return node;
};
const badge = (text, kind) => el("span", { class: `badge ${kind}` }, text);
const at = (iso) => clock(iso, config.language, config.timezone);
const online = (person) =>
  person.online
    ? badge(S.online, "ok")
    : badge(person.last_seen ? fill(S.last_seen, { time: at(person.last_seen) }) : S.offline, "warn");

const GRADE_BADGE = { good: "ok", fair: "warn", poor: "bad" };

/** A person's connection in a class room, compact enough for a phone: "good 45 ms · 0%". */
function quality(q) {
  if (!q) return el("span", { class: "muted numbers" }, S.quality_unknown);
  return el(
    "span",
    { title: qualityText(q, config.language, S) },
    badge(S["quality_" + q.grade], GRADE_BADGE[q.grade]),
    " ",
    el("span", { class: "muted numbers" }, qualityNumbers(q, config.language)),
  );
}

function inProgress(c, now) {
  const tutor = c.tutor
    ? el(
        "p",
        {},
        c.tutor.name,
        " ",
        badge(c.tutor_present ? S.tutor_here : S.tutor_missing, c.tutor_present ? "ok" : "bad"),
      )
    : el("p", {}, badge(S.no_tutor, "bad"));
  const people = c.participants.map((p) =>
    el("li", {}, p.name, " ", el("span", { class: "muted" }, S["role_" + p.role]), " ", quality(p.quality)),
  );
  return el(
    "article",
    { class: "card board-class", "data-lesson": c.lesson_id },
    el("h3", {}, c.topic),
    el("p", { class: "muted" }, at(c.starts_at), "–", at(c.ends_at), " · ", progress(c.starts_at, now, S)),
    tutor,
    el("p", {}, fill(S.participants, { n: c.participants.length })),
    people.length ? el("ul", { class: "board-people" }, ...people) : null,
    el("a", { href: `/classes/${c.lesson_id}/live`, class: "button secondary" }, S.observe),
  );
}

// -- alerts: newest first, each with its one-click actions --------------------------------

let fresh = new Set(); // alerts that arrived with the latest snapshot

async function act(button, name, data) {
  const error = document.getElementById("board-error");
  button.disabled = true;
  const ack = await school
    .timeout(10000)
    .emitWithAck(name, data)
    .catch(() => ({ error: { message: S.reconnecting } }));
  error.hidden = !ack.error;
  error.textContent = ack.error ? ack.error.message : "";
  button.disabled = false; // the next snapshot removes the alert for every coordinator
}

function alertCard(a) {
  const substitutes = a.substitutes.map((c) => {
    const give = el("button", { type: "button", "data-tutor": c.user_id }, fill(S.give_to, { name: c.name }));
    give.addEventListener("click", () =>
      act(give, "alert:reassign", { alert_id: a.alert_id, tutor_id: c.user_id }),
    );
    return el("li", {}, give, " ", el("span", { class: "muted" }, substituteReasons(c, S, at).join(" · ")));
  });
  const dismiss = el("button", { type: "button", class: "secondary" }, S.dismiss);
  dismiss.addEventListener("click", () => act(dismiss, "alert:dismiss", { alert_id: a.alert_id }));
  return el(
    "article",
    {
      class: `card board-alert${fresh.has(a.alert_id) ? " fresh" : ""}`,
      "data-alert": a.alert_id,
      "data-lesson": a.lesson_id,
      role: fresh.has(a.alert_id) ? "alert" : null,
    },
    el(
      "p",
      {},
      el("strong", {}, alertText(a, S, at)),
      " ",
      el("span", { class: "muted" }, fill(S.raised_at, { time: at(a.raised_at) })),
    ),
    substitutes.length
      ? el("ul", { class: "board-substitutes" }, ...substitutes)
      : el("p", { class: "muted" }, S.no_substitute),
    el("p", {}, dismiss),
  );
}

function alerts() {
  const list = last.alerts;
  document.getElementById("board-alerts-section").hidden = !list.length;
  document.getElementById("board-alert-count").textContent = list.length ? String(list.length) : "";
  document.title = (list.length ? `(${list.length}) ` : "") + baseTitle;
  return list.map(alertCard);
}

const baseTitle = document.title;

function starting(c, now) {
  return el(
    "article",
    { class: "card board-class", "data-lesson": c.lesson_id },
    el("h3", {}, c.topic),
    el("p", { class: "muted" }, at(c.starts_at), " · ", startsIn(c.starts_at, now, S)),
    c.tutor
      ? el(
          "p",
          {},
          c.tutor.name,
          " ",
          online(c.tutor),
          " ",
          c.tutor_nudged ? badge(S.tutor_nudged, "warn") : null,
        )
      : el("p", {}, badge(S.no_tutor, "bad")),
    el(
      "p",
      {},
      fill(S.students_online, { n: onlineCount(c.students) }),
      " ",
      ...c.students.filter((s) => s.online).map((s) => badge(s.name, "ok")),
    ),
    unready(c, now),
  );
}

// The people whose setup check failed, is old or was never run: worth a word before the start.
function unready(c, now) {
  if (!c.unready.length) return null;
  const kinds = { failed: "bad", stale: "warn", never: "warn" };
  return el(
    "p",
    { class: "board-unready" },
    S.unready,
    " ",
    ...c.unready.flatMap((p) => [badge(unreadyText(p, now, S), kinds[p.standing]), " "]),
  );
}

function tutor(t) {
  const room = last.in_progress.find((c) => c.lesson_id === t.lesson_id);
  const where = room ? el("span", { class: "muted" }, fill(S.in_class, { topic: room.topic })) : null;
  const until = t.substitute_until
    ? badge(fill(S.substitute_until, { time: at(t.substitute_until) }), "ok")
    : null;
  return el("li", {}, t.name, " ", online(t), " ", where, " ", until);
}

function section(id, items, empty) {
  const box = document.getElementById(id);
  box.replaceChildren(...(items.length ? items : [el("p", { class: "muted" }, empty)]));
}

function render() {
  if (!last) return;
  const now = Date.now() + offset;
  document.getElementById("board-alerts").replaceChildren(...alerts());
  section(
    "board-live",
    last.in_progress.map((c) => inProgress(c, now)),
    S.none_live,
  );
  section(
    "board-soon",
    last.starting.map((c) => starting(c, now)),
    S.none_soon,
  );
  section(
    "board-tutors",
    last.tutors.length ? [el("ul", { class: "board-people" }, ...last.tutors.map(tutor))] : [],
    S.none_tutors,
  );
}

function show(state) {
  fresh = new Set(newAlerts(last?.alerts, state.alerts));
  last = state;
  offset = clockOffset(state.now, Date.now());
  render();
}

const status = document.getElementById("board-status");
school.on("school:state", show);
async function refresh() {
  const ack = await school
    .timeout(10000)
    .emitWithAck("school:state")
    .catch(() => null);
  if (ack && ack.state) show(ack.state);
}
school.on("connect", () => {
  status.hidden = true;
  refresh();
});
school.on("disconnect", () => {
  status.textContent = S.reconnecting;
  status.hidden = false;
});
setInterval(render, 30000); // elapsed times move on between snapshots
// Pushes come when people come and go; a process that vanished tells nobody, and its people
// expire from presence within seconds: ask again now and then.
setInterval(() => school.connected && refresh(), 15000);
