// The chat's order: each message shown once, in the server's seq order (docs/protocol.md).
// After a reconnect, a live message (the outbox's, sent at once) can arrive before the hello
// answer that carries the ones missed meanwhile: each goes in its place, none is dropped.

export class ChatOrder {
  constructor() {
    this.seqs = []; // shown, ascending
  }

  /** The highest seq shown (0 if none): what `hello {after}` asks from. */
  get last() {
    return this.seqs.length ? this.seqs[this.seqs.length - 1] : 0;
  }

  /**
   * Record message `seq`; returns the seq of the shown message it goes before (null: at the
   * end), or undefined if it is already shown.
   */
  place(seq) {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqs[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    if (this.seqs[lo] === seq) return undefined;
    this.seqs.splice(lo, 0, seq);
    return this.seqs[lo + 1] ?? null;
  }
}
