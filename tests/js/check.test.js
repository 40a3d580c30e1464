import { test } from "node:test";
import assert from "node:assert/strict";
import {
  candidateTypes,
  devicesOutcome,
  kbps,
  measuredText,
  pingSummary,
  splitServers,
  stepStatuses,
  stunOutcome,
  turnOutcome,
} from "../../web/static/check/measure.js";

const STUN = { urls: ["stun:turn.example.org:3478"] };
const TURN = {
  urls: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443?transport=tcp"],
  username: "1:2",
  credential: "c",
};

test("STUN servers go to the direct path, TURN servers to the relay path", () => {
  assert.deepEqual(splitServers([STUN, TURN]), { stun: [STUN], turn: [TURN] });
  assert.deepEqual(splitServers([]), { stun: [], turn: [] });
  assert.deepEqual(splitServers([{ urls: "stun:a.example:3478" }]).stun.length, 1);
});

test("candidate types from an SDP", () => {
  const sdp = [
    "v=0",
    "a=candidate:1 1 udp 2122260223 10.0.0.2 50000 typ host generation 0",
    "a=candidate:2 1 udp 1686052607 203.0.113.9 50000 typ srflx raddr 10.0.0.2 rport 50000",
    "a=candidate:3 1 udp 41885439 198.51.100.4 61000 typ relay raddr 203.0.113.9 rport 50000",
  ].join("\r\n");
  assert.deepEqual([...candidateTypes(sdp)], ["host", "srflx", "relay"]);
  assert.equal(candidateTypes("v=0\r\n").size, 0);
  assert.equal(candidateTypes(undefined).size, 0);
});

test("STUN: none without servers, ok with srflx or no error, failed when a server errs", () => {
  assert.equal(stunOutcome(false, new Set(["host"]), []), "none");
  assert.equal(stunOutcome(true, new Set(["host", "srflx"]), ["stun:x:3478"]), "ok");
  assert.equal(stunOutcome(true, new Set(["host"]), []), "ok"); // a public address: no srflx
  assert.equal(stunOutcome(true, new Set(["host"]), ["stun:x:3478"]), "failed");
  assert.equal(stunOutcome(true, new Set(["host"]), ["turn:x:3478"]), "ok");
  assert.equal(turnOutcome(false, new Set()), "none");
  assert.equal(turnOutcome(true, new Set(["relay"])), "ok");
  assert.equal(turnOutcome(true, new Set()), "failed");
});

test("devices: what getUserMedia gave and whether any sound was heard", () => {
  assert.deepEqual(devicesOutcome({ audio: true, video: true, error: null, peak: 0.4 }), {
    mic: "ok",
    camera: "ok",
  });
  assert.deepEqual(devicesOutcome({ audio: true, video: false, error: "no_camera", peak: 0 }), {
    mic: "silent",
    camera: "missing",
  });
  assert.deepEqual(devicesOutcome({ audio: true, video: false, error: "camera_denied", peak: 1 }), {
    mic: "ok",
    camera: "denied",
  });
  assert.deepEqual(devicesOutcome({ audio: false, video: false, error: "denied", peak: 0 }), {
    mic: "denied",
    camera: "denied",
  });
  assert.deepEqual(devicesOutcome({ audio: false, video: false, error: "no_devices", peak: 0 }), {
    mic: "missing",
    camera: "missing",
  });
});

test("pings: the median round trip, and the share that never came back", () => {
  assert.deepEqual(pingSummary(4, [40, 10, 30, 20]), { rtt_ms: 25, loss: 0 });
  assert.deepEqual(pingSummary(20, [50, 70, 60]), { rtt_ms: 60, loss: 0.85 });
  assert.deepEqual(pingSummary(5, []), { rtt_ms: null, loss: 1 });
  assert.deepEqual(pingSummary(0, []), { rtt_ms: null, loss: null });
});

test("kbit/s from bytes and milliseconds", () => {
  assert.equal(kbps(625_000, 2000), 2500);
  assert.equal(kbps(0, 2000), null);
  assert.equal(kbps(1000, 0), null);
  assert.equal(kbps(1000, NaN), null);
});

const S = { measured: "Round trip {rtt}, {loss} lost, {down} down, {up} up." };

test("the measurement in words, in the page's language", () => {
  const m = { rtt_ms: 45, loss: 0.05, down_kbps: 2400, up_kbps: 1150 };
  assert.equal(
    measuredText(m, "en", S),
    "Round trip 45 ms, 5% lost, 2.4\u00a0Mbit/s down, 1.2\u00a0Mbit/s up.",
  );
  assert.equal(
    measuredText(m, "id", S),
    "Round trip 45 md, 5% lost, 2,4\u00a0Mbit/s down, 1,2\u00a0Mbit/s up.",
  );
  assert.equal(
    measuredText({ rtt_ms: 45, loss: 0, down_kbps: null, up_kbps: null }, "en", S),
    "Round trip 45 ms, 0% lost, – down, – up.",
  );
  assert.equal(measuredText({ rtt_ms: null, down_kbps: null }, "en", S), null);
});

test("each step's badge from the stored result", () => {
  const base = {
    mic: "ok",
    camera: "ok",
    stun: "ok",
    udp: "ok",
    relay: "ok",
    rtt_ms: 40,
    down_kbps: 2000,
    reasons: [],
  };
  assert.deepEqual(stepStatuses(base), { mic: "ok", camera: "ok", udp: "ok", relay: "ok", network: "ok" });
  assert.deepEqual(
    stepStatuses({
      ...base,
      mic: "silent",
      camera: "missing",
      stun: "failed",
      relay: "none",
      reasons: ["slow"],
    }),
    { mic: "warn", camera: "warn", udp: "warn", relay: "none", network: "warn" },
  );
  assert.deepEqual(
    stepStatuses({ ...base, mic: "denied", udp: "failed", relay: "failed", rtt_ms: null, down_kbps: null }),
    { mic: "failed", camera: "ok", udp: "failed", relay: "failed", network: "failed" },
  );
});
