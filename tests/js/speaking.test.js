import { test } from "node:test";
import assert from "node:assert/strict";
import { cells, clock, duration, isShortcut, promptText, summary } from "../../web/static/live/speaking.js";

const T = {
  seconds_short: "{n} s",
  minutes_short: "{n} min",
  speaking_silent: "{name} has not spoken for {duration}.",
  speaking_tutor_share: "You have spoken {share} of the last {duration}.",
  speaking_balance: "Tutor {tutor} · students {students}",
  speaking_window: "Tutor, last {duration}: {share}",
  speaking_nobody: "Nobody has spoken yet.",
  speaking_share: "{share} (fair {fair})",
  speaking_mine: "You have spoken {duration}, {share} of the students' time.",
};

test("durations read as a clock in the table and in words in a prompt", () => {
  assert.equal(clock(0), "0:00");
  assert.equal(clock(65.4), "1:05");
  assert.equal(clock(759.6), "12:40");
  assert.equal(duration(0.2, T), "1 s");
  assert.equal(duration(45, T), "45 s");
  assert.equal(duration(360, T), "6 min");
});

test("prompts name the silent student, or the tutor's share of the window", () => {
  const silent = { kind: "silent", user_id: 3, name: "Sinta", seconds: 361, share: null };
  assert.equal(promptText(silent, T, "en"), "Sinta has not spoken for 6 min.");
  const share = { kind: "tutor_share", user_id: null, name: null, seconds: 600, share: 0.7 };
  assert.equal(promptText(share, T, "en"), "You have spoken 70% of the last 10 min.");
});

test("the summary balances tutor and students; a student reads only their own", () => {
  const whole = {
    tutor_seconds: 60,
    student_seconds: 40,
    tutor_window_share: 0.55,
    window_seconds: 600,
    people: [],
  };
  assert.deepEqual(summary(whole, T, "en"), ["Tutor 60% · students 40%", "Tutor, last 10 min: 55%"]);
  assert.deepEqual(summary({ ...whole, tutor_seconds: 0, student_seconds: 0 }, T, "en"), [
    "Nobody has spoken yet.",
  ]);
  const mine = {
    tutor_seconds: null,
    student_seconds: null,
    tutor_window_share: null,
    window_seconds: 600,
    people: [{ seconds: 95, share: 0.25 }],
  };
  assert.deepEqual(summary(mine, T, "en"), ["You have spoken 1:35, 25% of the students' time."]);
});

test("a row shows a student's share against the fair share", () => {
  const student = {
    name: "Sinta",
    role: "student",
    seconds: 30,
    turns: 3,
    share: 0.2,
    fair_share: 1 / 3,
    longest_silence: 400,
  };
  assert.deepEqual(cells(student, T, "en"), ["Sinta", "0:30", "3", "20% (fair 33%)", "6:40"]);
  const tutor = { ...student, name: "Ayu", role: "tutor", share: 0.7, fair_share: null };
  assert.deepEqual(cells(tutor, T, "en"), ["Ayu", "0:30", "3", "70%", "–"]);
});

test("S opens the panel, but not while typing or with a modifier", () => {
  assert.equal(isShortcut({ key: "s", target: { tagName: "BODY" } }), true);
  assert.equal(isShortcut({ key: "S", target: { tagName: "BUTTON" } }), true);
  assert.equal(isShortcut({ key: "s", target: { tagName: "INPUT" } }), false);
  assert.equal(isShortcut({ key: "s", ctrlKey: true, target: { tagName: "BODY" } }), false);
  assert.equal(isShortcut({ key: "a", target: { tagName: "BODY" } }), false);
});
