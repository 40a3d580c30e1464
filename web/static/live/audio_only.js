// Audio only: receiving no video at all (docs/protocol.md, "Downlink budget"). The page
// offers it by itself when the server keeps grading this person's own connection poor
// (participant:quality). Pure, tested with node --test.

/** When to offer audio only. `after`: how long the grade must stay poor (ms); `again`: how
 * long to wait before offering again after the person said no (ms). */
export class AudioOnlyOffer {
  constructor({ after = 15000, again = 5 * 60000 } = {}) {
    this.after = after;
    this.again = again;
    this.poorSince = null;
    this.quietUntil = -Infinity;
  }

  /** A new grade for this person's connection, at `now` (ms). The server repeats a grade only
   * when its numbers move, so a grade holds until the next one. Returns in how many ms to
   * look again with `due`, or null. */
  graded(grade, now) {
    if (grade !== "poor") {
      this.poorSince = null;
      return null;
    }
    this.poorSince ??= now;
    return Math.max(0, this.poorSince + this.after - now);
  }

  /** Whether to offer audio only now (never while it is on already). */
  due(now, audioOnly) {
    return (
      !audioOnly && this.poorSince !== null && now - this.poorSince >= this.after && now >= this.quietUntil
    );
  }

  /** The person answered (either way): not again for a while, nor for this poor spell. */
  answered(now) {
    this.quietUntil = now + this.again;
    this.poorSince = null;
  }
}
