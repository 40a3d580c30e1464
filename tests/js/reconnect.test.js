import { test } from "node:test";
import assert from "node:assert/strict";
import { afterRefusal } from "../../web/static/live/reconnect.js";

test("a network error leaves reconnecting to socket.io-client", () => {
  assert.deepEqual(afterRefusal(undefined), { action: "network" });
  assert.deepEqual(afterRefusal({}), { action: "network" });
});

for (const code of ["unavailable", "rate_limited", "internal"]) {
  test(`${code} is tried again after the time the server asked for`, () => {
    assert.deepEqual(afterRefusal({ code, message: "busy", retry_after: 5 }), {
      action: "retry",
      waitMs: 5000,
    });
  });
}

test("a retry waits two seconds when the server names no time, and never less than one", () => {
  assert.deepEqual(afterRefusal({ code: "unavailable" }), { action: "retry", waitMs: 2000 });
  assert.deepEqual(afterRefusal({ code: "rate_limited", retry_after: 0.1 }), {
    action: "retry",
    waitMs: 1000,
  });
});

test("a class hosted by another process is tried again there", () => {
  assert.deepEqual(afterRefusal({ code: "unavailable", retry_after: 1, home: "web2" }), {
    action: "retry",
    waitMs: 1000,
    home: "web2",
  });
});

for (const code of ["forbidden", "not_found", "too_late", "not_authenticated", "removed", "something_new"]) {
  test(`${code} stops: reconnecting cannot help`, () => {
    assert.deepEqual(afterRefusal({ code, message: "no" }), { action: "stop" });
  });
}
