// The page's side of ICE (docs/protocol.md, "ICE"): what to do with each media ack, and how to
// try again after a media connection failed. Pure, so that node --test checks every decision.

/** Whether the server gave TURN servers: without them, a relay-only try cannot work. */
export function hasTurn(iceServers) {
  return (iceServers || []).some((server) =>
    [].concat(server.urls || []).some((url) => /^turns?:/.test(url)),
  );
}

/** The offer's ICE username fragment (a=ice-ufrag), which names the offer a candidate is of. */
export function localUfrag(sdp) {
  const match = /^a=ice-ufrag:(\S+)\r?$/m.exec(sdp || "");
  return match ? match[1] : null;
}

/**
 * The candidate to send for an `icecandidate` event: what the browser gives, or, when the
 * event brings null (gathering is over), the end of candidates for this offer. The server's
 * ICE agent needs that end to ever tell that no path works.
 */
export function candidateToSend(candidate, localSdp) {
  if (candidate) return candidate.toJSON();
  const ufrag = localUfrag(localSdp);
  return ufrag ? { candidate: "", usernameFragment: ufrag } : { candidate: "" };
}

/** Errors that pass by themselves: try again after the time the server asked for. */
const PASSING = new Set(["rate_limited", "unavailable", "no_answer", "internal"]);
const waitMs = (error) => Math.max(500, (error.retry_after ?? 1) * 1000);

/**
 * After a `media:candidate` ack: "done", "retry" after `waitMs` (a passing error, twice at
 * most), or "drop" (refused: the page logs it; ICE may still find a path with the others).
 */
export function afterCandidateAck(ack, tries) {
  if (!ack?.error) return { action: "done" };
  if (PASSING.has(ack.error.code) && tries < 3) return { action: "retry", waitMs: waitMs(ack.error) };
  return { action: "drop" };
}

/**
 * After a `media:offer` ack: "answer" (it has the server's SDP), "retry" after `waitMs` (a
 * passing error: a new offer then), or "stop" (refused: the banner shows the server's reason).
 */
export function afterOfferAck(ack) {
  if (ack?.sdp && !ack.error) return { action: "answer" };
  if (ack?.error && PASSING.has(ack.error.code)) return { action: "retry", waitMs: waitMs(ack.error) };
  return { action: "stop" };
}

/**
 * The media connections of one visit to the room. The first uses every path. After a failure,
 * with TURN servers given, the next try switches between every path and relay only
 * (iceTransportPolicy "relay"): a network that blocks UDP often lets TURN over TCP or TLS
 * through, and a relay that failed may be the thing that is down. A policy that worked is kept
 * for the next connection (a reconnect). `failed` says which message the person sees. A server
 * that requires the relay (hello's `ice_transport_policy` "relay") gets it on every try.
 */
export class MediaTries {
  constructor() {
    this.policy = "all";
    this.failures = 0;
  }

  /** The iceTransportPolicy of the next peer connection; `required` is the server's. */
  next(iceServers, required = "all") {
    if (!hasTurn(iceServers)) return "all";
    return required === "relay" ? "relay" : this.policy;
  }

  /** A peer connection failed ("ice" or "dtls"); returns the key of the message to show. */
  failed(reason, iceServers, required = "all") {
    this.failures += 1;
    const switched = reason !== "dtls" && hasTurn(iceServers) && required !== "relay";
    if (switched) this.policy = this.policy === "all" ? "relay" : "all";
    if (reason === "dtls") return "media_failed_secure";
    if (this.failures >= 2) return "media_failed_again";
    return switched ? "media_failed_other_way" : "media_failed_retry";
  }

  connected() {
    this.failures = 0;
  }
}
