// When to say "Your connection is unstable" (to the person concerned) and "Sinta's connection
// is unstable" (to the tutor): a short notice when the problem starts, not a banner that
// stays, and never one that flaps as a grade hovers at a bound. Pure: times are passed in.

/** A fair connection is worth a word only once it has stayed fair (or worse) this long. */
export const FAIR_FOR_MS = 20000;
/** After a notice about someone, nothing more about them for this long. */
export const QUIET_MS = 60000;
/** How long a notice shows. */
export const SHOW_MS = 8000;

export class UnstableNotices {
  constructor({ fairForMs = FAIR_FOR_MS, quietMs = QUIET_MS } = {}) {
    this.fairForMs = fairForMs;
    this.quietMs = quietMs;
    this.badSince = null; // since when the own grade has been fair or poor
    this.shown = new Map(); // "me" or a user id -> when last told
    this.grades = new Map(); // user id -> their last grade
  }

  /** The person's own grade (the worse of both views) at `now`: true when the page should
   * say "Your connection is unstable" now. Poor says so at once; fair after `fairForMs`. */
  mine(grade, now) {
    if (grade !== "fair" && grade !== "poor") {
      this.badSince = null;
      return false;
    }
    this.badSince ??= now;
    const unstable = grade === "poor" || now - this.badSince >= this.fairForMs;
    return unstable && this.#due("me", now);
  }

  /** Someone else's grade, as the server told it: true when it has just turned poor and
   * the tutor has not been told about them in the last `quietMs`. */
  theirs(userId, grade, now) {
    const before = this.grades.get(userId);
    this.grades.set(userId, grade);
    return grade === "poor" && before !== "poor" && this.#due(userId, now);
  }

  /** Someone left: their next grade starts afresh (the quiet time still holds). */
  forget(userId) {
    this.grades.delete(userId);
  }

  #due(key, now) {
    const last = this.shown.get(key);
    if (last != null && now - last < this.quietMs) return false;
    this.shown.set(key, now);
    return true;
  }
}
