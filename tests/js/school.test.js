import { test } from "node:test";
import assert from "node:assert/strict";
import {
  clockOffset,
  elapsed,
  fill,
  minutesBetween,
  minutesToEndOfDay,
  onlineCount,
  progress,
  startsIn,
} from "../../web/static/school/view.js";

const S = { elapsed: "{n} min in", starts_in: "starts in {n} min" };
const START = "2026-11-30T07:00:00Z";

test("fill replaces known names and leaves the others", () => {
  assert.equal(fill("{a} and {b}", { a: 1 }), "1 and {b}");
});

test("elapsed and starting times are whole minutes by the server's clock", () => {
  assert.equal(elapsed(START, Date.parse("2026-11-30T07:12:59Z"), S), "12 min in");
  assert.equal(startsIn(START, Date.parse("2026-11-30T06:30:00Z"), S), "starts in 30 min");
  assert.equal(elapsed(START, Date.parse("2026-11-30T06:59:00Z"), S), "0 min in");
  assert.equal(minutesBetween(10, 5), 0);
});

test("the clock offset makes a browser's time the server's", () => {
  const local = Date.parse("2026-11-30T07:00:00Z");
  assert.equal(clockOffset("2026-11-30T07:00:05Z", local), 5000);
});

test("online counts", () => {
  assert.equal(onlineCount([{ online: true }, { online: false }, { online: true }]), "2/3");
  assert.equal(onlineCount([]), "0/0");
});

test("the end of the day is at least a minute away", () => {
  assert.equal(minutesToEndOfDay(new Date(2026, 10, 30, 23, 0)), 59);
  assert.equal(minutesToEndOfDay(new Date(2026, 10, 30, 23, 59, 30)), 1);
});

test("a class whose room opened early says when it starts", () => {
  assert.equal(progress(START, Date.parse("2026-11-30T06:57:00Z"), S), "starts in 3 min");
  assert.equal(progress(START, Date.parse("2026-11-30T07:05:00Z"), S), "5 min in");
});

test("who needs a setup check, in a few words", async () => {
  const { unreadyText } = await import("../../web/static/school/view.js");
  const T = {
    unready_failed: "{name}: failed",
    unready_stale: "{name}: {n} days ago",
    unready_never: "{name}: not checked",
  };
  const now = Date.parse("2026-11-30T07:00:00Z");
  assert.equal(unreadyText({ name: "Bayu", standing: "failed", checked_at: START }, now, T), "Bayu: failed");
  const old = { name: "Citra", standing: "stale", checked_at: "2026-10-20T08:00:00Z" };
  assert.equal(unreadyText(old, now, T), "Citra: 40 days ago");
  assert.equal(
    unreadyText({ name: "Dewi", standing: "never", checked_at: null }, now, T),
    "Dewi: not checked",
  );
});
