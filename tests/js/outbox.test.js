import { test } from "node:test";
import assert from "node:assert/strict";
import { Outbox } from "../../web/static/live/outbox.js";

/** A server the test answers by hand, and timers the test fires by hand. */
function harness(answers) {
  const sent = [];
  const timers = [];
  const refused = [];
  const changes = [];
  const box = new Outbox(
    async (payload) => {
      sent.push(payload);
      return answers.shift() ?? { ok: true, seq: sent.length };
    },
    {
      onChange: (items) => changes.push(items.map((i) => i.text)),
      onRefused: (item, error) => refused.push([item.text, error.code]),
      retryMs: 3000,
      timers: { setTimeout: (fn, ms) => timers.push({ fn, ms }) },
    },
  );
  return { box, sent, timers, refused, changes };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test("a message the server stores leaves the outbox", async () => {
  const { box, sent, changes } = harness([{ ok: true, seq: 1 }]);
  box.add("hello", "key-00000001");
  await settle();
  assert.deepEqual(sent, [{ text: "hello", key: "key-00000001" }]);
  assert.deepEqual(box.items, []);
  assert.deepEqual(changes.at(-1), []);
});

for (const error of [{ code: "unavailable" }, { code: "rate_limited", retry_after: 7 }, undefined]) {
  const what = error?.code ?? "no answer";
  test(`after ${what} the message is sent again later with the same key`, async () => {
    const { box, sent, timers } = harness([error ? { error } : { error: { code: "no_answer" } }]);
    box.add("hello", "key-00000001");
    await settle();
    assert.equal(box.items.length, 1);
    assert.equal(timers.length, 1);
    assert.equal(timers[0].ms, Math.max(3000, (error?.retry_after ?? 0) * 1000));
    timers[0].fn();
    await settle();
    assert.deepEqual(sent, [
      { text: "hello", key: "key-00000001" },
      { text: "hello", key: "key-00000001" },
    ]);
    assert.deepEqual(box.items, []);
  });
}

test("a message that waits holds back the ones typed after it: order is kept", async () => {
  const { box, sent, timers } = harness([{ error: { code: "unavailable" } }]);
  box.add("first", "key-00000001");
  box.add("second", "key-00000002");
  await settle();
  assert.deepEqual(
    sent.map((p) => p.text),
    ["first"],
  );
  assert.deepEqual(
    box.items.map((i) => i.text),
    ["first", "second"],
  );
  timers[0].fn();
  await settle();
  assert.deepEqual(
    sent.map((p) => p.key),
    ["key-00000001", "key-00000001", "key-00000002"],
  );
  assert.deepEqual(box.items, []);
});

test("a flush on reconnect while a retry is pending sends once, in order", async () => {
  const { box, sent, timers } = harness([{ error: { code: "no_answer" } }]);
  box.add("a", "key-0000000a");
  box.add("b", "key-0000000b");
  await settle();
  await box.flush(); // the socket is back
  assert.deepEqual(
    sent.map((p) => p.text),
    ["a", "a", "b"],
  );
  timers[0].fn(); // the pending retry finds nothing left
  await settle();
  assert.equal(sent.length, 3);
});

test("a permanent refusal drops the message, reports it and sends the rest", async () => {
  const { box, sent, refused } = harness([{ error: { code: "invalid_payload", message: "too long" } }]);
  box.add("x".repeat(3000), "key-00000001");
  box.add("short", "key-00000002");
  await settle();
  assert.deepEqual(refused, [["x".repeat(3000), "invalid_payload"]]);
  assert.deepEqual(
    sent.map((p) => p.key),
    ["key-00000001", "key-00000002"],
  );
  assert.deepEqual(box.items, []);
});

test("each message gets its own key", () => {
  const { box } = harness([{ error: { code: "unavailable" } }]);
  const a = box.add("a");
  const b = box.add("b");
  assert.match(a.key, /^[A-Za-z0-9_-]{8,64}$/);
  assert.notEqual(a.key, b.key);
});
