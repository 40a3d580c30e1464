import { test } from "node:test";
import assert from "node:assert/strict";
import { BARS, qualityNumbers, qualityText } from "../../web/static/live/quality.js";

const S = {
  quality: "Connection {grade}: {numbers}",
  quality_good: "good",
  quality_fair: "fair",
  quality_poor: "poor",
  quality_numbers: "{rtt} round trip, {loss} lost",
  quality_loss: "{loss} lost",
};

test("a measured connection in words, numbers in the page's language", () => {
  const fair = { grade: "fair", rtt_ms: 1320, loss: 0.025 };
  assert.equal(qualityText(fair, "en", S), "Connection fair: 1,320 ms round trip, 2.5% lost");
  assert.equal(qualityNumbers(fair, "en"), "1,320 ms · 2.5%");
  assert.equal(qualityNumbers(fair, "id"), "1.320 md · 2,5%");
});

test("no round trip yet: the loss alone; nothing measured: no text", () => {
  const early = { grade: "good", rtt_ms: null, loss: 0 };
  assert.equal(qualityText(early, "en", S), "Connection good: 0% lost");
  assert.equal(qualityNumbers(early, "en"), "0%");
  assert.equal(qualityText(null, "en", S), null);
});

test("each grade has its own number of bars", () => {
  assert.deepEqual([BARS.good, BARS.fair, BARS.poor], [3, 2, 1]);
});
