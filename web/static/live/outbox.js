// Chat messages typed but not yet stored by the server. Each gets a key when typed; it is
// sent, in order, until the server has it: after an "unavailable" answer (the database is
// down), a rate limit, no answer, or a reconnect. The server stores a key once, so sending
// again never duplicates a message, and nothing a person typed is lost.

const RETRY = new Set(["unavailable", "rate_limited", "no_answer", "internal"]);

export function newKey() {
  return (
    globalThis.crypto?.randomUUID?.() ??
    `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`
  );
}

export class Outbox {
  // send(payload) resolves to the server's ack ({ok, seq} or {error: {code, message, retry_after}}).
  constructor(send, { onChange = () => {}, onRefused = () => {}, retryMs = 3000, timers = globalThis } = {}) {
    this.send = send;
    this.onChange = onChange;
    this.onRefused = onRefused;
    this.retryMs = retryMs;
    this.timers = timers;
    this.items = [];
    this.busy = false;
    this.timer = null;
  }

  add(text, key = newKey()) {
    const item = { key, text };
    this.items.push(item);
    this.onChange(this.items);
    this.flush();
    return item;
  }

  // Send what waits, oldest first; stop at the first message the server cannot take yet.
  async flush() {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.items.length) {
        const item = this.items[0];
        const ack = await this.send({ text: item.text, key: item.key });
        if (ack?.ok) {
          this.items.shift();
          this.onChange(this.items, item, ack.seq);
          continue;
        }
        const code = ack?.error?.code ?? "no_answer";
        if (RETRY.has(code)) {
          this.later(Math.max(this.retryMs, (ack?.error?.retry_after ?? 0) * 1000));
          return;
        }
        this.items.shift(); // refused for good (too long, not allowed): say so, keep the rest
        this.onRefused(item, ack.error);
        this.onChange(this.items);
      }
    } finally {
      this.busy = false;
    }
  }

  later(ms) {
    if (this.timer) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, ms);
  }
}
