// The speaking view: a compact panel the tutor opens (a button, or the S key) and short
// prompts when a threshold is crossed (docs/protocol.md, "The speaking meter"). Never an
// always-on meter: talk-time feedback works best as prompts. Students see their own share
// only, when the school allows it. The text helpers are pure, tested with node --test.
import { el } from "./dom.js";

/** How often the open panel asks for fresh figures. */
export const REFRESH_MS = 2000;
/** How long a prompt shows. */
export const PROMPT_MS = 10000;

const fill = (template, params) =>
  template.replace(/\{(\w+)\}/g, (all, k) => (k in params ? params[k] : all));

/** "62%" in the reader's language. */
export const percent = (share, language) =>
  new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 0 }).format(share);

/** A time spoken as a clock: "1:05", "12:40". */
export function clock(seconds) {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/** A duration in words for a prompt: "6 min", or "45 s" under a minute. */
export function duration(seconds, strings) {
  if (seconds < 60) return fill(strings.seconds_short, { n: Math.max(1, Math.round(seconds)) });
  return fill(strings.minutes_short, { n: Math.round(seconds / 60) });
}

/** The sentence of a `speaking:prompt`. */
export function promptText(prompt, strings, language) {
  if (prompt.kind === "silent") {
    return fill(strings.speaking_silent, {
      name: prompt.name || "",
      duration: duration(prompt.seconds, strings),
    });
  }
  return fill(strings.speaking_tutor_share, {
    share: percent(prompt.share, language),
    duration: duration(prompt.seconds, strings),
  });
}

/** The lines above the table: the balance of tutor and students, and the tutor's share of
 * the last window (when a whole one has passed). For a student, their own sentence. */
export function summary(figures, strings, language) {
  const lines = [];
  if (figures.tutor_seconds == null) {
    const me = figures.people[0];
    if (me) {
      const sentence = fill(strings.speaking_mine, {
        duration: clock(me.seconds),
        share: percent(me.share, language),
      });
      lines.push(sentence);
    }
    return lines;
  }
  const spoken = figures.tutor_seconds + figures.student_seconds;
  if (!spoken) return [strings.speaking_nobody];
  const tutor = figures.tutor_seconds / spoken;
  lines.push(
    fill(strings.speaking_balance, {
      tutor: percent(tutor, language),
      students: percent(1 - tutor, language),
    }),
  );
  if (figures.tutor_window_share != null) {
    lines.push(
      fill(strings.speaking_window, {
        duration: duration(figures.window_seconds, strings),
        share: percent(figures.tutor_window_share, language),
      }),
    );
  }
  return lines;
}

/** One table row's cells for a person: name, time, turns, share (against the fair share
 * for students), longest silence (students). */
export function cells(person, strings, language) {
  const share =
    person.fair_share == null
      ? percent(person.share, language)
      : fill(strings.speaking_share, {
          share: percent(person.share, language),
          fair: percent(person.fair_share, language),
        });
  return [
    person.name,
    clock(person.seconds),
    String(person.turns),
    share,
    person.role === "tutor" ? "–" : clock(person.longest_silence),
  ];
}

/** The panel and its prompts, wired to the page: `call` sends an event and resolves its ack. */
export class SpeakingView {
  constructor({ call, strings, language, panel, toggle, prompt }) {
    Object.assign(this, { call, strings, language, panel, toggle, prompt });
    this.timer = null;
    this.promptTimer = null;
  }

  get open() {
    return !this.panel.hidden;
  }

  setOpen(open) {
    this.panel.hidden = !open;
    this.toggle()?.setAttribute("aria-expanded", String(open));
    clearInterval(this.timer);
    this.timer = null;
    if (open) {
      this.refresh();
      this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    }
  }

  async refresh() {
    const figures = await this.call("speaking:get", undefined, { quiet: true });
    if (figures.error || !this.open) return;
    this.render(figures);
  }

  render(figures) {
    const T = this.strings;
    const head = el(
      "tr",
      {},
      ...["", T.speaking_time, T.speaking_turns, T.speaking_share_head, T.speaking_silence].map((h) =>
        el("th", { scope: "col" }, h),
      ),
    );
    const rows = figures.people.map((p) =>
      el(
        "tr",
        { "data-user": p.user_id, class: p.here ? null : "away" },
        ...cells(p, T, this.language).map((c, i) => el(i ? "td" : "th", i ? {} : { scope: "row" }, c)),
      ),
    );
    const body = this.panel.querySelector(".speaking-body");
    body.replaceChildren(
      ...summary(figures, T, this.language).map((line) => el("p", {}, line)),
      rows.length ? el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)) : "",
    );
  }

  /** A prompt from the server: a short notice that goes away. */
  show(prompt) {
    this.prompt.textContent = promptText(prompt, this.strings, this.language);
    this.prompt.hidden = false;
    clearTimeout(this.promptTimer);
    this.promptTimer = setTimeout(() => {
      this.prompt.hidden = true;
    }, PROMPT_MS);
  }
}

/** Whether a key press is the panel's shortcut: S, not while typing, with no modifier. */
export function isShortcut(event) {
  const target = event.target;
  const typing = target?.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target?.tagName ?? "");
  return !typing && !event.ctrlKey && !event.metaKey && !event.altKey && event.key?.toLowerCase() === "s";
}
