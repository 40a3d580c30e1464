// What the page does after the server refused its connection (docs/protocol.md, Connecting).

/** Refusals that may pass by themselves: the server is busy or briefly cannot reach a store. */
export const RETRY_CODES = new Set(["unavailable", "rate_limited", "internal"]);

/**
 * The decision for a `connect_error`'s data: "network" (no refusal: socket.io-client keeps
 * reconnecting by itself), "retry" after `waitMs` (the time the server asked for, at least a
 * second), with the `home` process to ask the proxy for when the server named one, or "stop"
 * (not booked, removed, ended, locked: reconnecting cannot help).
 */
export function afterRefusal(data) {
  const code = data?.code;
  if (!code) return { action: "network" };
  if (RETRY_CODES.has(code)) {
    const next = { action: "retry", waitMs: Math.max(1000, (data.retry_after ?? 2) * 1000) };
    return data.home ? { ...next, home: data.home } : next;
  }
  return { action: "stop" };
}
