import { test } from "node:test";
import assert from "node:assert/strict";
import { Notes, opensNoteBox, notePayload } from "../../web/static/live/notes.js";

test("a note arriving twice (its event and its ack) is listed once, newest first", () => {
  const notes = new Notes();
  notes.reset([{ id: 1, text: "a" }]);
  notes.put({ id: 2, text: "b" });
  notes.put({ id: 2, text: "b" });
  notes.put({ id: 1, text: "a, edited" });
  assert.deepEqual(
    notes.list().map((n) => [n.id, n.text]),
    [
      [2, "b"],
      [1, "a, edited"],
    ],
  );
  notes.drop(2);
  notes.drop(99);
  assert.deepEqual(
    notes.list().map((n) => n.id),
    [1],
  );
});

const key = (k, extra = {}) => ({ key: k, target: { tagName: "BODY" }, ...extra });

test("n opens the note box, but not while typing or with a modifier", () => {
  assert.equal(opensNoteBox(key("n")), true);
  assert.equal(opensNoteBox(key("N")), true);
  assert.equal(opensNoteBox(key("m")), false);
  assert.equal(opensNoteBox(key("n", { ctrlKey: true })), false);
  assert.equal(opensNoteBox(key("n", { metaKey: true })), false);
  assert.equal(opensNoteBox(key("n", { repeat: true })), false);
  for (const tagName of ["INPUT", "TEXTAREA", "SELECT"]) {
    assert.equal(opensNoteBox(key("n", { target: { tagName } })), false);
  }
  assert.equal(opensNoteBox(key("n", { target: { tagName: "DIV", isContentEditable: true } })), false);
});

test("a correction needs both what was said and the better way; others only their words", () => {
  const base = { kind: "correction", forWhom: "7", text: " I go to home ", better: " I go home " };
  assert.deepEqual(notePayload(base), {
    kind: "correction",
    text: "I go to home",
    better: "I go home",
    student_id: 7,
  });
  assert.equal(notePayload({ ...base, better: "  " }), null);
  assert.equal(notePayload({ ...base, text: "" }), null);
  assert.deepEqual(notePayload({ kind: "word", forWhom: "", text: "cake", better: "ignored" }), {
    kind: "word",
    text: "cake",
    student_id: null,
  });
});
