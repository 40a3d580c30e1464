// The coordinator's live view: pure helpers (tested with node --test), no DOM.

/** `template` with each `{name}` replaced by `params[name]`. */
export function fill(template, params = {}) {
  return template.replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
}

/** Whole minutes from `fromMs` to `toMs`, never negative. */
export function minutesBetween(fromMs, toMs) {
  return Math.max(0, Math.floor((toMs - fromMs) / 60000));
}

/** "12 min" since a class started, by the server's clock (`nowMs`). */
export function elapsed(startsAt, nowMs, strings) {
  return fill(strings.elapsed, { n: minutesBetween(Date.parse(startsAt), nowMs) });
}

/** How far along a class is: "12 min in" once started, "starts in 3 min" before (a room
 * opens a few minutes early). */
export function progress(startsAt, nowMs, strings) {
  return Date.parse(startsAt) > nowMs
    ? startsIn(startsAt, nowMs, strings)
    : elapsed(startsAt, nowMs, strings);
}

/** "in 12 min" until a class starts. */
export function startsIn(startsAt, nowMs, strings) {
  return fill(strings.starts_in, { n: minutesBetween(nowMs, Date.parse(startsAt)) });
}

/** The difference between the server's clock and this browser's, from a snapshot. */
export function clockOffset(serverNow, localMs) {
  return Date.parse(serverNow) - localMs;
}

/** "14:05" in the viewer's time zone and language. */
export function clock(iso, language, timeZone) {
  return new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit", timeZone }).format(
    new Date(iso),
  );
}

/** How many of `people` are online, as "2/3". */
export function onlineCount(people) {
  return `${people.filter((p) => p.online).length}/${people.length}`;
}

/** Minutes from `now` until the end of its day (local to the browser), at least 1. */
export function minutesToEndOfDay(now) {
  const end = new Date(now);
  end.setHours(23, 59, 0, 0);
  return Math.max(1, minutesBetween(now.getTime(), end.getTime()));
}

/** What an alert says: who is missing from which class. `at` formats a time. */
export function alertText(alert, strings, at) {
  const params = { tutor: alert.tutor, topic: alert.topic, time: at(alert.starts_at) };
  if (alert.kind === "dropped") return fill(strings.alert_dropped, params);
  return fill(alert.tutor ? strings.alert_late : strings.alert_late_nobody, params);
}

/** Why a substitute ranks where they do, best reasons first, as short phrases. */
export function substituteReasons(candidate, strings, at) {
  const reasons = [];
  if (candidate.online) reasons.push(strings.substitute_online);
  if (candidate.substitute_until)
    reasons.push(fill(strings.substitute_until, { time: at(candidate.substitute_until) }));
  if (candidate.qualified) reasons.push(strings.taught_level);
  if (candidate.available) reasons.push(strings.within_availability);
  reasons.push(fill(strings.load, { n: candidate.load }));
  return reasons;
}

/** Alert ids in `now` that were not in `before` (both lists of alerts). */
export function newAlerts(before, now) {
  const seen = new Set((before || []).map((a) => a.alert_id));
  return now.filter((a) => !seen.has(a.alert_id)).map((a) => a.alert_id);
}

/** Someone whose setup is not shown to work, in a few words: "Bayu: failed", "Citra: 40
 * days ago", "Dewi: not checked" (`nowMs`: the server's clock). */
export function unreadyText(person, nowMs, strings) {
  const params = { name: person.name };
  if (person.standing === "stale")
    params.n = Math.floor(Math.max(0, nowMs - Date.parse(person.checked_at)) / 86400000);
  return fill(strings["unready_" + person.standing], params);
}
