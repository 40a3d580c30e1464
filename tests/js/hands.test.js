import { test } from "node:test";
import assert from "node:assert/strict";
import { handLabel, ordinal } from "../../web/static/live/hands.js";

const EN = {
  hand_raised: "Hand raised · {place}",
  ordinal_one: "{n}st",
  ordinal_two: "{n}nd",
  ordinal_few: "{n}rd",
  ordinal_other: "{n}th",
};
const ID = {
  ...EN,
  hand_raised: "Tangan terangkat · {place}",
  ordinal_one: "ke-{n}",
  ordinal_two: "ke-{n}",
  ordinal_few: "ke-{n}",
  ordinal_other: "ke-{n}",
};

test("English ordinals", () => {
  const got = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23].map((n) => ordinal(n, "en", EN));
  assert.deepEqual(got, ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd"]);
});

test("Indonesian ordinals", () => {
  assert.equal(ordinal(2, "id", ID), "ke-2");
});

test("the hand label counts from the first in the queue", () => {
  assert.equal(handLabel(0, "en", EN), "Hand raised · 1st");
  assert.equal(handLabel(1, "en", EN), "Hand raised · 2nd");
  assert.equal(handLabel(1, "id", ID), "Tangan terangkat · ke-2");
});
