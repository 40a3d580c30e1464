"""The benchmark's bots as Janus VideoRoom participants (bench/janus_server.py).

The same aiortc peers as the Kelas bots (bench/bots.py): a publisher sends the same encoded
packets and logs them, answers keyframe requests the same way; a subscriber counts packets
in place of each receiver's RTP handler and never decodes. Only the signalling differs: the
Janus HTTP API, as janus.js speaks it.

- One Janus session per bot, kept alive by a long poll (``GET /janus/<session>``, which also
  carries the plugin's asynchronous answers) and a keepalive every 25 s, as janus.js sends.
- A publisher attaches ``janus.plugin.videoroom`` and sends ``joinandconfigure`` as
  ``ptype: publisher``, its feed id being its bot's id, with aiortc's offer (audio and video,
  Opus and VP8); Janus answers with its SDP.
- A subscriber attaches a second handle and sends ``join`` as ``ptype: subscriber`` with
  the feeds it wants (one peer connection for all of them, Janus's multistream); Janus
  offers, the bot answers with ``start``. Each of Janus's streams names its ``mid`` and
  ``feed_id``, which is how a received packet is traced to its publisher.

Janus sends its SDP with its candidates in it (half-trickle); aiortc gathers before it
offers or answers, so neither side trickles.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription
from bots import (
    TIMEOUT,
    Camera,
    count_datagrams,
    count_wire,
    counter,
    log_sends,
    new_pc,
    prefer,
    take_counted,
)
from packet_log import Reception, SentLog, Window

from signaling.media.guard import Gate, Tally, protect

PLUGIN = "janus.plugin.videoroom"
KEEPALIVE_S = 25.0
POLL_EVENTS = 10


class JanusError(RuntimeError):
    """Janus refused a request (its ``error`` or the plugin's ``error``)."""


class JanusSession:
    """One Janus session over the HTTP API: requests, and the events of its long poll."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        self.session_url = ""
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._up: dict[int, asyncio.Event] = {}  # handle id: its PeerConnection is up
        self._tasks: list[asyncio.Task[None]] = []

    async def post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": body.get("transaction") or secrets.token_hex(8)}
        async with self.http.post(url, json=body, timeout=aiohttp.ClientTimeout(TIMEOUT)) as r:
            r.raise_for_status()
            answer: dict[str, Any] = await r.json(content_type=None)
        if answer.get("janus") == "error":
            raise JanusError(f"{body.get('janus')}: {answer.get('error')}")
        return answer

    async def open(self) -> None:
        created = await self.post(self.base_url, {"janus": "create"})
        self.session_url = f"{self.base_url}/{created['data']['id']}"
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._poll()), loop.create_task(self._keepalive())]

    async def attach(self) -> str:
        """A new handle on the VideoRoom plugin; its URL."""
        attached = await self.post(self.session_url, {"janus": "attach", "plugin": PLUGIN})
        self._up[attached["data"]["id"]] = asyncio.Event()
        return f"{self.session_url}/{attached['data']['id']}"

    async def webrtc_up(self, handle: str) -> None:
        """Until Janus says the handle's PeerConnection is up (ICE and DTLS done): a
        publisher's feed cannot be subscribed to before."""
        await asyncio.wait_for(self._up[int(handle.rsplit("/", 1)[1])].wait(), TIMEOUT)

    async def request(self, handle: str, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (``create``, ``list``...): the plugin's answer."""
        answer = await self.post(handle, {"janus": "message", "body": body})
        data: dict[str, Any] = answer["plugindata"]["data"]
        if "error" in data:
            raise JanusError(f"{body.get('request')}: {data['error']}")
        return data

    async def message(
        self, handle: str, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """An asynchronous plugin request: Janus acks it, and its answer (the plugin's data
        and, maybe, an SDP) comes as an event on the long poll with the same transaction."""
        transaction = secrets.token_hex(8)
        waiting = self._waiting[transaction] = asyncio.get_running_loop().create_future()
        message: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        try:
            await self.post(handle, message)
            event = await asyncio.wait_for(waiting, TIMEOUT)
        finally:
            self._waiting.pop(transaction, None)
        data: dict[str, Any] = event["plugindata"]["data"]
        if "error" in data:
            raise JanusError(f"{body.get('request')}: {data['error']}")
        return data, event.get("jsep")

    async def _poll(self) -> None:
        url = f"{self.session_url}?maxev={POLL_EVENTS}"
        while True:
            async with self.http.get(url, timeout=aiohttp.ClientTimeout(90)) as r:
                r.raise_for_status()
                events = await r.json(content_type=None)
            for event in events if isinstance(events, list) else [events]:
                if event.get("janus") == "webrtcup" and event.get("sender") in self._up:
                    self._up[event["sender"]].set()
                waiting = self._waiting.get(event.get("transaction", ""))
                if waiting is not None and event.get("janus") == "event" and not waiting.done():
                    waiting.set_result(event)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            await self.post(self.session_url, {"janus": "keepalive"})

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            if self.session_url:
                await self.post(self.session_url, {"janus": "destroy"})
        finally:
            await self.http.close()


async def create_room(base_url: str, room: int, publishers: int) -> None:
    """A VideoRoom for one run: VP8 and Opus only, no bitrate cap (Janus would send REMBs
    the bots ignore anyway) and no periodic keyframe requests (``fir_freq: 0``): Janus asks
    a publisher for a keyframe when someone subscribes, as Kelas does."""
    admin = JanusSession(base_url)
    await admin.open()
    try:
        handle = await admin.attach()
        await admin.request(
            handle,
            {
                "request": "create",
                "room": room,
                "publishers": publishers,
                "bitrate": 0,
                "fir_freq": 0,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "notify_joining": False,
            },
        )
    finally:
        await admin.close()


class JanusBot:
    """One participant: a Janus session, a publisher peer connection (if it publishes) and
    a subscriber peer connection (if it subscribes)."""

    def __init__(self, user_id: int, base_url: str, window: Window, lane: bool = False) -> None:
        """``lane``: its subscriber receives as bots.ClassBot's does with ``lane``."""
        self.lane = lane
        self.user_id = user_id
        self.session = JanusSession(base_url)
        self.reception = Reception(window)
        self.sent = SentLog()
        self.camera: Camera | None = None
        self.publisher_pc: RTCPeerConnection | None = None
        self.subscriber_pc: RTCPeerConnection | None = None
        self.feeds: dict[str, int] = {}  # mid of each received stream -> its publisher

    async def publish(self, room: int, camera: Camera, logs: dict[int, SentLog]) -> None:
        """Join ``room`` as a publisher whose feed id is this bot's id."""
        if not self.session.session_url:
            await self.session.open()
        handle = await self.session.attach()
        pc = self.publisher_pc = new_pc()
        self.camera = camera
        for track in camera.tracks():
            prefer(pc.addTransceiver(track, direction="sendonly"))
        await pc.setLocalDescription(await pc.createOffer())
        body = {"request": "joinandconfigure", "room": room, "ptype": "publisher",
                "id": self.user_id, "display": f"bot {self.user_id}", "audio": True,
                "video": True}  # fmt: skip
        data, jsep = await self.session.message(handle, body, offer(pc))
        if data.get("videoroom") != "joined" or jsep is None:
            raise JanusError(f"publisher {self.user_id} not joined: {data}")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
        logs[self.user_id] = self.sent
        log_sends(pc, self.sent, camera)
        await self.session.webrtc_up(handle)

    async def subscribe(self, room: int, feeds: list[int], logs: dict[int, SentLog]) -> None:
        """Receive every stream of ``feeds`` on one peer connection, counting its packets."""
        if not self.session.session_url:
            await self.session.open()
        handle = await self.session.attach()
        pc = self.subscriber_pc = new_pc(self.reception)
        body = {"request": "join", "room": room, "ptype": "subscriber",
                "streams": [{"feed": feed} for feed in feeds]}  # fmt: skip
        self.reception.joined_at = time.perf_counter()
        data, jsep = await self.session.message(handle, body)
        if data.get("videoroom") != "attached" or jsep is None:
            raise JanusError(f"subscriber {self.user_id} not attached: {data}")
        self.feeds = {s["mid"]: int(s["feed_id"]) for s in data["streams"] if "feed_id" in s}
        await pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="offer"))
        if self.lane:  # before it gathers; max-bundle: one transport
            transports = {t.receiver.transport for t in pc.getTransceivers()}
            protect(transports, Gate(f"bot {self.user_id}", Tally()))
        await pc.setLocalDescription(await pc.createAnswer())
        if self.lane:
            count_datagrams(pc, self.reception)
        else:
            count_wire(pc, self.reception)
        for transceiver in pc.getTransceivers():  # before media can flow: Janus waits for start
            publisher = self.feeds.get(transceiver.mid or "")
            if publisher is None:
                raise JanusError(f"Janus offered a stream of no feed: {transceiver.mid}")
            count = counter(self.reception, transceiver.kind == "video", fixed(publisher), logs)
            take_counted(transceiver.receiver, count, self.lane)
        data, _ = await self.session.message(handle, {"request": "start"}, answer(pc))
        if data.get("started") != "ok":
            raise JanusError(f"subscriber {self.user_id} not started: {data}")

    async def close(self) -> None:
        if self.camera is not None:
            self.camera.stop()
        for pc in (self.publisher_pc, self.subscriber_pc):
            if pc is not None:
                await asyncio.wait_for(pc.close(), TIMEOUT)
        await self.session.close()


def fixed(publisher: int) -> Callable[[], int]:
    return lambda: publisher


def offer(pc: RTCPeerConnection) -> dict[str, Any]:
    return {"type": "offer", "sdp": pc.localDescription.sdp}


def answer(pc: RTCPeerConnection) -> dict[str, Any]:
    return {"type": "answer", "sdp": pc.localDescription.sdp}
