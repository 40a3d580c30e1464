import { test } from "node:test";
import assert from "node:assert/strict";
import { FAIR_FOR_MS, QUIET_MS, UnstableNotices } from "../../web/static/live/unstable.js";

test("a poor connection is told at once; a fair one only once it lasts", () => {
  const notices = new UnstableNotices();
  assert.equal(notices.mine("good", 0), false);
  assert.equal(notices.mine("fair", 1000), false);
  assert.equal(notices.mine("fair", 1000 + FAIR_FOR_MS - 1), false);
  assert.equal(notices.mine("fair", 1000 + FAIR_FOR_MS), true);
  const other = new UnstableNotices();
  assert.equal(other.mine("poor", 5), true);
});

test("a grade that flaps at a bound is told once a minute at most", () => {
  const notices = new UnstableNotices();
  const told = [];
  for (let t = 0; t < 3 * QUIET_MS; t += 1000) {
    if (notices.mine(t % 2000 ? "poor" : "good", t)) told.push(t);
  }
  assert.deepEqual(told, [1000, 1000 + QUIET_MS, 1000 + 2 * QUIET_MS]);
});

test("a fair spell broken by a good moment starts again", () => {
  const notices = new UnstableNotices();
  notices.mine("fair", 0);
  notices.mine("good", FAIR_FOR_MS - 1);
  assert.equal(notices.mine("fair", FAIR_FOR_MS), false);
  assert.equal(notices.mine("poor", FAIR_FOR_MS + 1), true);
});

test("the tutor hears when a student turns poor, once per student in a while", () => {
  const notices = new UnstableNotices();
  assert.equal(notices.theirs(7, "good", 0), false);
  assert.equal(notices.theirs(7, "poor", 100), true);
  assert.equal(notices.theirs(7, "poor", 2100), false); // still poor: not news
  assert.equal(notices.theirs(8, "poor", 2200), true); // someone else: told
  assert.equal(notices.theirs(7, "fair", 4000), false);
  assert.equal(notices.theirs(7, "poor", 6000), false); // poor again, but just told
  assert.equal(notices.theirs(7, "good", QUIET_MS), false);
  assert.equal(notices.theirs(7, "poor", QUIET_MS + 200), true);
  // Someone who left and comes back poor is told again (after the quiet time).
  notices.forget(8);
  assert.equal(notices.theirs(8, "poor", QUIET_MS + 2300), true);
  // Their own notices and the others' are kept apart.
  assert.equal(notices.mine("poor", QUIET_MS + 2400), true);
});
