"""The setup check's peer connections (the /check page): short-lived aiortc peers in the same
process and with the same ICE configuration as a class's, which answer on data channels, so
that the browser measures the path to this very server.

An offer has one section, for data channels. Its candidates say which path it tries: only
relay candidates, through TURN (``relay``); none, directly, over UDP (``direct``: aiortc has
no ICE over TCP); a mix is refused, since which of them worked could not be told. When the
browser opens its ``bulk`` channel, the path worked: the server sends a receipt for it
(signaling/readiness.py). The browser opens two channels:

    ping  unordered, never resent: each text message (up to 64 characters) comes back as it
          is; what does not come back was lost on the way, one way or the other.
    bulk  reliable: first the server's ``{"receipt", "path"}``. ``{"down": ms}`` asks for
          paced binary messages for ``ms`` (up to 3 s) at up to ``RATE_KBPS``, then
          ``{"down_bytes": n}`` (one burst at a time). Binary messages from the browser are counted:
          ``{"up": true}`` answers ``{"up_bytes": n, "up_ms": t}`` (first to last).

Bounded: a probe closes after ``LIFETIME_S`` (or when its connection fails), sends at most
``MAX_BURSTS`` bursts; a person holds at most ``PER_PERSON`` (a new one closes their oldest:
a check that starts again needs no more), and a process at most ``MAX_PROBES`` at once (each
is a few sockets and a DTLS session).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.rtcdatachannel import RTCDataChannel
from aiortc.sdp import SessionDescription

from classroom.errors import N_, InvalidInput, Unavailable
from signaling.media.peer import CONTROL, UNREADABLE, check_transport, configuration, encodable
from signaling.readiness import Path

log = logging.getLogger(__name__)
LIFETIME_S = 30.0  # a check's measurement takes a few seconds
MAX_PROBES = 16
PER_PERSON = 2  # a check's direct and relay paths; a newer one replaces the oldest
RATE_KBPS = 2500  # enough to show that a class fits (signaling/readiness.py DOWN_KBPS)
MAX_BURST_MS = 3000
MAX_BURSTS = 2
CHUNK = 1000  # bytes: one SCTP chunk, no fragmentation
TICK_S = 0.01
HIGH_WATER = 64 * 1024  # bytes queued in SCTP: beyond that the link is full, stop feeding
MIXED = N_("The check's offer must try one path: only relay candidates, or none.")
NO_CANDIDATES = N_("The check's offer has no ICE candidates.")
BUSY = N_("Too many setup checks are running just now. Please try again in a minute.")


def read_offer(sdp: str) -> Path:
    """Check an offer of the setup check and say which path it tries."""
    if CONTROL.search(sdp) or not encodable(sdp):
        raise InvalidInput("The media offer contains characters that are not allowed.")
    try:
        offer = SessionDescription.parse(sdp)
    except Exception:  # aiortc's parser raises whatever the bad line leads to
        raise InvalidInput(UNREADABLE) from None
    if len(offer.media) != 1 or offer.media[0].kind != "application":
        raise InvalidInput("The check's offer must have one section, for data channels.")
    media = offer.media[0]
    check_transport(media)
    kinds = {candidate.type for candidate in media.ice_candidates}
    if not kinds:
        raise InvalidInput(NO_CANDIDATES)
    if kinds == {"relay"}:
        return "relay"
    if "relay" in kinds:
        raise InvalidInput(MIXED)
    return "direct"


@dataclass(eq=False)  # each probe is itself: kept in a set
class Probe:
    user_id: int
    path: Path
    pc: RTCPeerConnection
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    bursts: int = 0
    bursting: bool = False
    up_bytes: int = 0
    up_first: float | None = None
    up_last: float | None = None

    def spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class Probes:
    """Every setup-check peer of this process."""

    def __init__(
        self,
        stun_urls: Sequence[str],
        receipt: Callable[[int, Path], str],
        limit: int = MAX_PROBES,
        lifetime: float = LIFETIME_S,
    ) -> None:
        """``receipt(user_id, path)`` signs what a probe hands out when its path worked."""
        self._stun_urls = tuple(stun_urls)
        self._receipt = receipt
        self._limit = limit
        self._lifetime = lifetime
        self._probes: dict[Probe, None] = {}  # oldest first

    def __len__(self) -> int:
        return len(self._probes)

    async def answer(self, user_id: int, sdp: str) -> tuple[str, Path]:
        """A new probe for this offer: the answer SDP, and the path the offer tries."""
        path = read_offer(sdp)
        mine = [probe for probe in self._probes if probe.user_id == user_id]
        replaced = [old for old in mine[: len(mine) - PER_PERSON + 1] if self._forget(old)]
        if len(self._probes) >= self._limit:
            await asyncio.gather(*(self._shut(old) for old in replaced))
            raise Unavailable(BUSY)
        probe = Probe(user_id, path, RTCPeerConnection(configuration(self._stun_urls)))
        self._probes[probe] = None  # before any await: the limits count it at once
        await asyncio.gather(*(self._shut(old) for old in replaced))
        probe.pc.on("datachannel", lambda channel: self._channel(probe, channel))

        @probe.pc.on("connectionstatechange")
        async def changed() -> None:
            if probe.pc.connectionState == "failed":
                await self._close(probe)

        try:
            await probe.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await probe.pc.setLocalDescription(await probe.pc.createAnswer())
        except Exception as exc:
            log.info("user %s: setup check offer refused by aiortc: %r", user_id, exc)
            await self._close(probe)
            raise InvalidInput(UNREADABLE) from None
        probe.spawn(self._expire(probe))
        return probe.pc.localDescription.sdp, path

    async def close(self) -> None:
        await asyncio.gather(*(self._close(probe) for probe in list(self._probes)))

    async def _expire(self, probe: Probe) -> None:
        await asyncio.sleep(self._lifetime)
        await self._close(probe)

    async def _close(self, probe: Probe) -> None:
        if self._forget(probe):
            await self._shut(probe)

    def _forget(self, probe: Probe) -> bool:
        """Stop counting ``probe`` and its tasks (all but the one running this); False if
        it was already closed."""
        if probe not in self._probes:
            return False
        del self._probes[probe]
        current = asyncio.current_task()
        for task in list(probe.tasks):
            if task is not current:
                task.cancel()
        return True

    async def _shut(self, probe: Probe) -> None:
        try:
            await probe.pc.close()
        except Exception:
            log.debug("closing a setup check of user %s failed", probe.user_id, exc_info=True)

    # -- the data channels -------------------------------------------------------------

    def _channel(self, probe: Probe, channel: RTCDataChannel) -> None:
        if channel.label == "ping":
            channel.on("message", lambda message: _echo(channel, message))
        elif channel.label == "bulk":
            receipt = self._receipt(probe.user_id, probe.path)
            _send(channel, json.dumps({"receipt": receipt, "path": probe.path}))
            channel.on("message", lambda message: self._bulk(probe, channel, message))

    async def _burst(self, probe: Probe, channel: RTCDataChannel, ms: int) -> None:
        probe.bursting = True  # one at a time: two would measure each other
        try:
            await _paced(channel, ms)
        finally:
            probe.bursting = False

    def _bulk(self, probe: Probe, channel: RTCDataChannel, message: str | bytes) -> None:
        if isinstance(message, bytes):
            now = time.monotonic()
            probe.up_bytes += len(message)
            probe.up_first = probe.up_first if probe.up_first is not None else now
            probe.up_last = now
            return
        asked = _request(message)
        if "down" in asked and probe.bursts < MAX_BURSTS and not probe.bursting:
            probe.bursts += 1
            probe.spawn(self._burst(probe, channel, asked["down"]))
        elif asked.get("up") is True:
            span = (probe.up_last or 0.0) - (probe.up_first or 0.0)
            answer = {"up_bytes": probe.up_bytes, "up_ms": round(span * 1000)}
            _send(channel, json.dumps(answer))


def _request(message: str) -> dict[str, Any]:
    """A browser's request on ``bulk``: ``{"down": ms}`` or ``{"up": true}``; anything else
    is ignored (the browser is told nothing, and no probe is left waiting on it)."""
    if len(message) > 100:
        return {}
    try:
        data = json.loads(message)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    down = data.get("down")
    if isinstance(down, int) and not isinstance(down, bool) and 0 < down <= MAX_BURST_MS:
        return {"down": down}
    return {"up": True} if data.get("up") is True else {}


def _echo(channel: RTCDataChannel, message: str | bytes) -> None:
    if isinstance(message, str) and len(message) <= 64:
        _send(channel, message)


def _send(channel: RTCDataChannel, message: str | bytes) -> None:
    with contextlib.suppress(Exception):  # closed meanwhile: the browser has gone
        channel.send(message)


async def _paced(channel: RTCDataChannel, ms: int) -> None:
    """Paced binary for ``ms``: as much as RATE_KBPS allows, never more than SCTP can take
    (a full queue means the link is full: queueing more would only measure the queue)."""
    chunk = bytes(CHUNK)
    loop = asyncio.get_running_loop()
    started, sent = loop.time(), 0
    while (elapsed := loop.time() - started) < ms / 1000:
        if channel.readyState != "open":
            return
        due = elapsed * RATE_KBPS * 1000 / 8
        while sent + CHUNK <= due and channel.bufferedAmount < HIGH_WATER:
            _send(channel, chunk)
            sent += CHUNK
        await asyncio.sleep(TICK_S)  # pacing, not waiting for an event
    _send(channel, json.dumps({"down_bytes": sent}))
