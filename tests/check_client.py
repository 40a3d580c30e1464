"""The network part of the setup check, run by a real aiortc peer as the /check page runs it
in a browser (web/static/check/check.js): ICE servers from the API, an offer of two data
channels, the server's receipt, pings, a paced download and an upload."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCIceServer, RTCIceTransportPolicy
from aiortc.rtcdatachannel import RTCDataChannel

from tests.conftest import Visitor

TIMEOUT = 10.0


class Inbox:
    """A data channel's messages, awaited one by one."""

    def __init__(self, channel: RTCDataChannel) -> None:
        self.texts: asyncio.Queue[str] = asyncio.Queue()
        self.bytes = 0
        self.first: float | None = None
        self.last: float | None = None
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        channel.on("open", self.opened.set)
        channel.on("close", self.closed.set)
        channel.on("message", self._message)

    def _message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            now = time.monotonic()
            self.bytes += len(message)
            self.first = self.first if self.first is not None else now
            self.last = now
        else:
            self.texts.put_nowait(message)

    async def text(self) -> str:
        return await asyncio.wait_for(self.texts.get(), TIMEOUT)

    async def json(self) -> dict[str, Any]:
        return dict(json.loads(await self.text()))


@dataclass
class Path:
    """One peer connection of the check, once the server answered it."""

    pc: RTCPeerConnection
    ping: RTCDataChannel
    bulk: RTCDataChannel
    pings: Inbox
    bulks: Inbox
    answer: dict[str, Any]
    receipt: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        await self.pc.close()


async def ice_servers(visitor: Visitor) -> list[dict[str, Any]]:
    status, body = await visitor.api("POST", "/api/v1/check/ice-servers")
    assert status == 200, body
    return list(body["ice_servers"])


async def offer(visitor: Visitor, servers: list[dict[str, Any]], relay: bool = False) -> Path:
    """Offer two data channels, as the page does (with ``relay``: TURN only), and wait for
    the server's receipt on ``bulk``."""
    policy = RTCIceTransportPolicy.RELAY if relay else RTCIceTransportPolicy.ALL
    pc = RTCPeerConnection(
        RTCConfiguration(
            iceServers=[RTCIceServer(**server) for server in servers], iceTransportPolicy=policy
        )
    )
    ping = pc.createDataChannel("ping", ordered=False, maxRetransmits=0)
    bulk = pc.createDataChannel("bulk")
    pings, bulks = Inbox(ping), Inbox(bulk)
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers before it returns
    status, answer = await visitor.api(
        "POST", "/api/v1/check/offer", {"type": "offer", "sdp": pc.localDescription.sdp}
    )
    path = Path(pc, ping, bulk, pings, bulks, answer)
    if status != 200:
        await pc.close()
        raise AssertionError((status, answer))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    await asyncio.wait_for(asyncio.gather(pings.opened.wait(), bulks.opened.wait()), TIMEOUT)
    path.receipt = await bulks.json()
    return path


async def measure(path: Path, pings: int = 10) -> dict[str, Any]:
    """Round trip and loss from pings, then a paced download and an upload: the numbers the
    page sends with its result."""
    rtts = []
    for n in range(pings):
        sent = time.monotonic()
        path.ping.send(json.dumps({"n": n}))
        echoed = json.loads(await path.pings.text())
        assert echoed == {"n": n}
        rtts.append((time.monotonic() - sent) * 1000)
    path.bulk.send(json.dumps({"down": 500}))
    down = await path.bulks.json()
    assert down["down_bytes"] == path.bulks.bytes > 0
    span = (path.bulks.last or 0.0) - (path.bulks.first or 0.0)
    for _ in range(50):
        path.bulk.send(bytes(1000))
    path.bulk.send(json.dumps({"up": True}))
    up = await path.bulks.json()
    assert up["up_bytes"] == 50_000
    return {
        "rtt_ms": round(statistics.median(rtts)),
        "loss": 0.0,
        "down_kbps": round(down["down_bytes"] * 8 / max(span * 1000, 1)),
        "up_kbps": round(up["up_bytes"] * 8 / max(up["up_ms"], 1)),
    }
