import { test } from "node:test";
import assert from "node:assert/strict";
import { AudioOnlyOffer } from "../../web/static/live/audio_only.js";

test("offered when the connection stays poor for 15 s, not sooner", () => {
  const offer = new AudioOnlyOffer();
  assert.equal(offer.graded("poor", 1000), 15000);
  assert.equal(offer.due(10000, false), false);
  assert.equal(offer.graded("poor", 12000), 4000); // still poor: the spell goes on
  assert.equal(offer.due(16000, false), true);
});

test("a better grade ends the spell; audio only already on: never offered", () => {
  const offer = new AudioOnlyOffer();
  offer.graded("poor", 0);
  assert.equal(offer.graded("fair", 9000), null);
  assert.equal(offer.due(20000, false), false);
  offer.graded("poor", 20000);
  assert.equal(offer.due(40000, true), false);
  assert.equal(offer.due(40000, false), true);
});

test("after an answer, not offered again for five minutes", () => {
  const offer = new AudioOnlyOffer();
  offer.graded("poor", 0);
  offer.answered(15000);
  assert.equal(offer.graded("poor", 16000), 15000);
  assert.equal(offer.due(31000, false), false);
  assert.equal(offer.due(15000 + 5 * 60000, false), true);
});
