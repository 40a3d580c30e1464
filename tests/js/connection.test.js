import { test } from "node:test";
import assert from "node:assert/strict";
import { MIN_PACKETS, browserView, gradeOf, ownQuality, worse } from "../../web/static/live/connection.js";

// What Chromium's getStats() gives, trimmed to the fields the module reads.
function report({ rtt = 0.042, audio = [0, 0], video = [0, 0], jitter = 0.004, selected = true } = {}) {
  return new Map(
    [
      { id: "T01", type: "transport", selectedCandidatePairId: selected ? "CP1" : undefined },
      { id: "CP1", type: "candidate-pair", nominated: true, state: "succeeded", currentRoundTripTime: rtt },
      { id: "CP2", type: "candidate-pair", nominated: false, state: "failed", currentRoundTripTime: 9 },
      {
        id: "IA",
        type: "inbound-rtp",
        kind: "audio",
        packetsLost: audio[0],
        packetsReceived: audio[1],
        jitter,
      },
      { id: "IV", type: "inbound-rtp", kind: "video", packetsLost: video[0], packetsReceived: video[1] },
      { id: "OA", type: "outbound-rtp", kind: "audio", packetsSent: 999 },
    ].map((s) => [s.id, s]),
  );
}

test("grades follow the server's bounds, and jitter's", () => {
  assert.equal(gradeOf({ rtt_ms: 40, loss: 0, jitter_ms: 5 }), "good");
  assert.equal(gradeOf({ rtt_ms: 320, loss: 0 }), "fair");
  assert.equal(gradeOf({ rtt_ms: 40, loss: 0.05 }), "fair");
  assert.equal(gradeOf({ rtt_ms: 40, loss: 0, jitter_ms: 60 }), "fair");
  assert.equal(gradeOf({ rtt_ms: 601, loss: 0 }), "poor");
  assert.equal(gradeOf({ loss: 0.09 }), "poor");
  assert.equal(gradeOf({ jitter_ms: 150 }), "poor");
  assert.equal(gradeOf({ rtt_ms: null, loss: null, jitter_ms: null }), null); // nothing measured
  assert.equal(gradeOf({ rtt_ms: 40 }), "good"); // what is measured grades
});

test("the worse of two grades; a missing one does not count", () => {
  assert.equal(worse("good", "poor"), "poor");
  assert.equal(worse("fair", "good"), "fair");
  assert.equal(worse(null, "fair"), "fair");
  assert.equal(worse("good", null), "good");
  assert.equal(worse(null, null), null);
});

test("the browser's view: the selected pair's round trip, loss from the counters' growth", () => {
  const first = browserView(report({ audio: [0, 400], video: [0, 600] }));
  assert.equal(first.rtt_ms, 42);
  assert.equal(first.loss, 0);
  assert.equal(first.jitter_ms, 4);
  // 2 s later: 30 more lost, 270 more received: 10 % of this window, not of all time.
  const second = browserView(report({ audio: [10, 500], video: [20, 770] }), first);
  assert.equal(second.loss, 0.1);
  assert.equal(gradeOf(second), "poor");
  // No transport stats (Firefox): the nominated, succeeded pair.
  assert.equal(browserView(report({ selected: false, rtt: 0.31 })).rtt_ms, 310);
});

test("too few packets in a window leave loss unmeasured; counters never count backwards", () => {
  const before = browserView(report({ audio: [5, 100] }));
  const few = browserView(report({ audio: [6, 100 + MIN_PACKETS - 2] }), before);
  assert.equal(few.loss, null);
  // packetsLost can fall (a late packet counted as lost, then received): no negative loss.
  const back = browserView(report({ audio: [0, 300] }), before);
  assert.equal(back.loss, 0);
  const none = browserView(new Map());
  assert.deepEqual([none.rtt_ms, none.loss, none.jitter_ms], [null, null, null]);
});

test("the own indicator shows the worse of the server's grade and the browser's", () => {
  const server = { grade: "good", rtt_ms: 45, loss: 0 };
  const lossy = { rtt_ms: 40, loss: 0.1, jitter_ms: 5 };
  assert.deepEqual(ownQuality(server, lossy), { grade: "poor", rtt_ms: 45, loss: 0.1, jitter_ms: 5 });
  const calm = { rtt_ms: 30, loss: 0, jitter_ms: 3 };
  assert.equal(ownQuality({ grade: "fair", rtt_ms: 350, loss: 0.01 }, calm).grade, "fair");
  assert.deepEqual(ownQuality(null, calm), { grade: "good", rtt_ms: 30, loss: 0, jitter_ms: 3 });
  assert.deepEqual(ownQuality(server, null), { grade: "good", rtt_ms: 45, loss: 0, jitter_ms: null });
  assert.equal(ownQuality(null, { rtt_ms: null, loss: null, jitter_ms: null }), null);
  assert.equal(ownQuality(null, null), null);
});
