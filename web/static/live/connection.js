// A person's own connection, seen from both ends: the server's grade (from the RTCP receiver
// reports this browser sends, docs/protocol.md "Connection quality") and this browser's own
// getStats() view (the ICE round trip, the loss and jitter of what it receives). The own
// indicator shows the worse of the two: the server's view is smoothed and comes every couple
// of seconds, the browser's is fresh and also sees jitter, which the server does not grade.
// Pure (no DOM, no RTCPeerConnection), so that node --test checks every rule.

// The server's bounds (signaling/media/quality.py), and for jitter: past 30 ms the jitter
// buffer adds delay, past 100 ms speech breaks up.
export const GOOD = { rtt_ms: 300, loss: 0.02, jitter_ms: 30 };
export const POOR = { rtt_ms: 600, loss: 0.08, jitter_ms: 100 };
// Fewer packets than this in a window say nothing about loss (one lost in ten is not 10 %).
export const MIN_PACKETS = 50;

const ORDER = { good: 0, fair: 1, poor: 2 };

/** The grade of a set of numbers; any of them may be null (unmeasured). */
export function gradeOf({ rtt_ms = null, loss = null, jitter_ms = null }) {
  const measured = [
    ["rtt_ms", rtt_ms],
    ["loss", loss],
    ["jitter_ms", jitter_ms],
  ].filter(([, value]) => value != null);
  if (!measured.length) return null;
  if (measured.some(([key, value]) => value > POOR[key])) return "poor";
  if (measured.every(([key, value]) => value < GOOD[key])) return "good";
  return "fair";
}

/** The worse of two grades; null only when both are. */
export function worse(a, b) {
  if (a == null) return b ?? null;
  if (b == null) return a;
  return ORDER[a] >= ORDER[b] ? a : b;
}

const larger = (a, b) => (a == null ? (b ?? null) : b == null ? a : Math.max(a, b));

/**
 * This browser's view from one getStats() report (any iterable of stats objects, or an
 * RTCStatsReport), against `previous` (what the last call returned, or null): the round trip
 * of the selected candidate pair, the share of packets lost since then across every inbound
 * stream, and the highest audio jitter. Counters are cumulative, so loss is taken from their
 * growth; a window with too few packets leaves loss unmeasured.
 */
export function browserView(report, previous = null) {
  const stats = [...(report.values ? report.values() : report)];
  const byId = new Map(stats.map((s) => [s.id, s]));
  const transport = stats.find((s) => s.type === "transport" && s.selectedCandidatePairId);
  const pair =
    byId.get(transport?.selectedCandidatePairId) ??
    stats.find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded");
  const rtt = pair?.currentRoundTripTime;
  const totals = {};
  let lost = 0;
  let received = 0;
  let jitter = null;
  for (const s of stats) {
    if (s.type !== "inbound-rtp") continue;
    const now = { lost: Math.max(0, s.packetsLost || 0), received: s.packetsReceived || 0 };
    const before = previous?.totals?.[s.id] ?? { lost: 0, received: 0 };
    totals[s.id] = now;
    lost += Math.max(0, now.lost - before.lost);
    received += Math.max(0, now.received - before.received);
    if (s.kind === "audio" && s.jitter != null && now.received > 0) jitter = larger(jitter, s.jitter);
  }
  const enough = lost + received >= MIN_PACKETS;
  return {
    rtt_ms: rtt == null ? null : Math.round(rtt * 1000),
    loss: enough ? round3(lost / (lost + received)) : null,
    jitter_ms: jitter == null ? null : Math.round(jitter * 1000),
    totals,
  };
}

const round3 = (n) => Math.round(n * 1000) / 1000;

/**
 * The person's own connection for their indicator: the worse grade of the server's
 * `quality` ({grade, rtt_ms, loss} or null) and the browser's `view` (browserView, or
 * null), with the worse of each number. Null while neither has measured anything.
 */
export function ownQuality(quality, view) {
  const browserGrade = view ? gradeOf(view) : null;
  const grade = worse(quality?.grade ?? null, browserGrade);
  if (grade == null) return null;
  return {
    grade,
    rtt_ms: larger(quality?.rtt_ms ?? null, view?.rtt_ms ?? null),
    loss: larger(quality?.loss ?? null, view?.loss ?? null) ?? 0,
    jitter_ms: view?.jitter_ms ?? null,
  };
}
