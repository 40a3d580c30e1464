import { test } from "node:test";
import assert from "node:assert/strict";
import {
  MediaTries,
  afterCandidateAck,
  afterOfferAck,
  candidateToSend,
  hasTurn,
  localUfrag,
} from "../../web/static/live/ice.js";

const STUN = [{ urls: ["stun:turn.example.org:3478"] }];
const TURN = [
  ...STUN,
  {
    urls: ["turn:turn.example.org:3478?transport=tcp", "turns:turn.example.org:443?transport=tcp"],
    username: "1700000600:42",
    credential: "x",
  },
];
const SDP =
  "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:sTjD\r\na=ice-pwd:p\r\n";

test("TURN is there only when a server has a turn: or turns: URL", () => {
  assert.equal(hasTurn(undefined), false);
  assert.equal(hasTurn([]), false);
  assert.equal(hasTurn(STUN), false);
  assert.equal(hasTurn(TURN), true);
  assert.equal(hasTurn([{ urls: "turns:t.example:443" }]), true); // urls may be one string
});

test("a candidate goes as the browser gives it; the event's null becomes the end of candidates", () => {
  const chrome = {
    candidate: "candidate:1 1 udp 1 192.0.2.9 5000 typ host",
    sdpMid: "0",
    sdpMLineIndex: 0,
    usernameFragment: "sTjD",
  };
  assert.deepEqual(candidateToSend({ toJSON: () => chrome }, SDP), chrome);
  assert.deepEqual(candidateToSend(null, SDP), { candidate: "", usernameFragment: "sTjD" });
  assert.deepEqual(candidateToSend(null, undefined), { candidate: "" });
  assert.equal(localUfrag("a=ice-ufrag:abcd\n"), "abcd");
  assert.equal(localUfrag("v=0\r\n"), null);
});

test("a candidate ack: done, asked again while the server is busy, or dropped and logged", () => {
  assert.deepEqual(afterCandidateAck({ ok: true }, 1), { action: "done" });
  assert.deepEqual(afterCandidateAck({ error: { code: "rate_limited", retry_after: 2 } }, 1), {
    action: "retry",
    waitMs: 2000,
  });
  assert.deepEqual(afterCandidateAck({ error: { code: "no_answer" } }, 2), { action: "retry", waitMs: 1000 });
  assert.deepEqual(afterCandidateAck({ error: { code: "rate_limited", retry_after: 0.01 } }, 1), {
    action: "retry",
    waitMs: 500,
  });
  assert.deepEqual(afterCandidateAck({ error: { code: "unavailable" } }, 3), { action: "drop" });
  for (const code of ["invalid_payload", "invalid_input", "forbidden"])
    assert.deepEqual(afterCandidateAck({ error: { code } }, 1), { action: "drop" });
});

test("an offer ack: answered, tried again when the server is busy, else stopped with its reason", () => {
  assert.deepEqual(afterOfferAck({ ok: true, type: "answer", sdp: "v=0", slots: 5 }), { action: "answer" });
  assert.deepEqual(afterOfferAck({ error: { code: "rate_limited", retry_after: 1 } }), {
    action: "retry",
    waitMs: 1000,
  });
  assert.deepEqual(afterOfferAck({ error: { code: "no_answer" } }), { action: "retry", waitMs: 1000 });
  assert.deepEqual(afterOfferAck({ error: { code: "invalid_input", message: "no VP8" } }), {
    action: "stop",
  });
  assert.deepEqual(afterOfferAck(undefined), { action: "stop" });
});

test("with TURN, the try after a failure uses the relay only, and says so", () => {
  const tries = new MediaTries();
  assert.equal(tries.next(TURN), "all");
  assert.equal(tries.failed("ice", TURN), "media_failed_other_way");
  assert.equal(tries.next(TURN), "relay");
  // The relay failed too: back to every path, and the person is told what else to try.
  assert.equal(tries.failed("ice", TURN), "media_failed_again");
  assert.equal(tries.next(TURN), "all");
  assert.equal(tries.failed("ice", TURN), "media_failed_again");
  assert.equal(tries.next(TURN), "relay");
});

test("a relay that worked is kept for the next connection, and a later failure starts over", () => {
  const tries = new MediaTries();
  tries.failed("ice", TURN);
  tries.connected();
  assert.equal(tries.next(TURN), "relay"); // a reconnect goes straight through the relay
  assert.equal(tries.failed("ice", TURN), "media_failed_other_way");
  assert.equal(tries.next(TURN), "all");
});

test("a server that requires the relay gets it on every try", () => {
  const tries = new MediaTries();
  assert.equal(tries.next(TURN, "relay"), "relay");
  assert.equal(tries.failed("ice", TURN, "relay"), "media_failed_retry");
  assert.equal(tries.next(TURN, "relay"), "relay");
  assert.equal(tries.failed("ice", TURN, "relay"), "media_failed_again");
  assert.equal(tries.next(TURN, "relay"), "relay");
  assert.equal(tries.next(STUN, "relay"), "all"); // no TURN given: nothing to relay through
});

test("without TURN every try uses every path", () => {
  const tries = new MediaTries();
  assert.equal(tries.failed("ice", STUN), "media_failed_retry");
  assert.equal(tries.next(STUN), "all");
  assert.equal(tries.failed("ice", []), "media_failed_again");
  assert.equal(tries.next([]), "all");
});

test("a failed secure handshake says so and does not change the path", () => {
  const tries = new MediaTries();
  assert.equal(tries.failed("dtls", TURN), "media_failed_secure");
  assert.equal(tries.next(TURN), "all");
});
