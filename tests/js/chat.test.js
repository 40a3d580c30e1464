import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatOrder } from "../../web/static/live/chat.js";

/** Feed seqs to a ChatOrder the way the page does and return what the log shows. */
function show(seqs) {
  const order = new ChatOrder();
  const log = [];
  for (const seq of seqs) {
    const before = order.place(seq);
    if (before === undefined) continue;
    log.splice(before === null ? log.length : log.indexOf(before), 0, seq);
  }
  return { log, last: order.last };
}

test("messages in order are shown in order", () => {
  assert.deepEqual(show([1, 2, 3]), { log: [1, 2, 3], last: 3 });
});

test("a repeated message is shown once", () => {
  assert.deepEqual(show([1, 2, 2, 1, 3, 3]).log, [1, 2, 3]);
});

test("a live message that arrives before the ones missed while away goes after them", () => {
  // Shown 1-2, then away; 5 (the outbox's, sent at once) arrives before hello's 3, 4, 5.
  assert.deepEqual(show([1, 2, 5, 3, 4, 5]), { log: [1, 2, 3, 4, 5], last: 5 });
});

test("missed messages are placed between those already shown", () => {
  assert.deepEqual(show([4, 1, 6, 2, 5, 3]).log, [1, 2, 3, 4, 5, 6]);
});

test("an empty chat asks from zero", () => {
  assert.equal(new ChatOrder().last, 0);
});

test("place reports where each message goes", () => {
  const order = new ChatOrder();
  assert.equal(order.place(3), null);
  assert.equal(order.place(1), 3);
  assert.equal(order.place(2), 3);
  assert.equal(order.place(2), undefined);
  assert.equal(order.place(4), null);
});
