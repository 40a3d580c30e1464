import { test } from "node:test";
import assert from "node:assert/strict";
import { tutorNotice } from "../../web/static/live/tutor.js";

const S = {
  tutor_awaited: "Your tutor, {name}, is on the way.",
  tutor_on_the_way: "Your tutor is on the way.",
  tutor_reconnecting: "Your tutor is reconnecting. Please stay: the class goes on when they are back.",
  tutor_today: "Your tutor today is {name}.",
};

test("students waiting for their tutor are told who is coming", () => {
  assert.equal(
    tutorNotice({ name: "Ayu", state: "awaited" }, "student", S),
    "Your tutor, Ayu, is on the way.",
  );
  assert.equal(tutorNotice({ name: null, state: "awaited" }, "student", S), "Your tutor is on the way.");
  assert.equal(tutorNotice({ name: "Ayu", state: "reconnecting" }, "observer", S), S.tutor_reconnecting);
});

test("a new tutor is named, before and after they arrive", () => {
  assert.equal(
    tutorNotice({ name: "Budi", state: "awaited" }, "student", S, true),
    "Your tutor today is Budi. Your tutor is on the way.",
  );
  assert.equal(
    tutorNotice({ name: "Budi", state: "present" }, "student", S, true),
    "Your tutor today is Budi.",
  );
});

test("nothing to say when the tutor is here, or to the tutor", () => {
  assert.equal(tutorNotice({ name: "Ayu", state: "present" }, "student", S), null);
  assert.equal(tutorNotice({ name: "Ayu", state: "awaited" }, "tutor", S), null);
  assert.equal(tutorNotice(null, "student", S), null);
});
