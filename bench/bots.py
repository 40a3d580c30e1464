"""The benchmark's participants: aiortc peers that neither encode nor decode.

A publisher sends a prepared recording as encoded packets (bench/packet_replay.py, or aiortc's
``MediaPlayer(path, decode=False)``): aiortc's sender only re-packetises them. Every packet it
hands to its DTLS transport is logged (:class:`packet_log.SentLog`). A subscriber replaces
each receiver's ``_handle_rtp_packet`` with a counter, as tests/live.py does, so nothing is
jitter-buffered or decoded.

:class:`ClassBot` joins a Kelas class exactly like tests/live.py ``publish()`` (and the
browser page): log in over HTTP, Socket.IO to /class, ``hello``, one offer with the slot
layout, ``media:offer``, ``media:state``. :class:`DirectPair` is the baseline path: the
same publisher straight to one subscriber, no server. :class:`RelayBot` talks to the
MediaRelay baseline server (bench/relay_server.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import aiohttp
import socketio
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaPlayer, MediaRelay
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci
from encoded_media import EncodedStream
from packet_log import Reception, SentLog, Window
from packet_replay import PacketReplay, Recording

from signaling.media.guard import Gate, Tally, protect
from signaling.media.inbound import takes_rtcp, takes_rtp

TIMEOUT = 15.0
NAMESPACE = "/class"
Handler = Callable[[RtpPacket, int], Coroutine[Any, Any, None]]
FEEDBACK: dict[tuple[str, int | None], str] = {
    ("PSFB", 1): "PLI",
    ("PSFB", 4): "FIR",
    ("PSFB", 15): "REMB",
    ("RTPFB", 1): "NACK",
}


class Silence(MediaStreamTrack):
    """A negotiated sender with nothing to send. aiortc's sender polls every 20 ms while it
    has no track; this one sleeps on a future instead, so idle bots cost nothing."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        await self._never


class Camera:
    """One publisher's prerecorded microphone and camera, as encoded packets, for
    ``copies`` peer connections (a MediaRelay hands the same packets to each). Played from
    ``recording`` in memory, or else by aiortc's MediaPlayer from the file."""

    def __init__(
        self, stream: EncodedStream, recording: Recording | None = None, copies: int = 1
    ) -> None:
        self.stream = stream
        self.player: PacketReplay | MediaPlayer = (
            PacketReplay(recording)
            if recording is not None
            else MediaPlayer(str(stream.path), decode=False)
        )
        self._relay = MediaRelay() if copies > 1 else None

    def tracks(self) -> tuple[MediaStreamTrack, MediaStreamTrack]:
        audio, video = self.player.audio, self.player.video
        assert audio is not None and video is not None, "the stream needs audio and video"
        if self._relay is None:
            return audio, video
        return self._relay.subscribe(audio), self._relay.subscribe(video)

    def request_keyframe(self) -> None:
        """A PLI or FIR reached the publisher: MediaPlayer cannot answer it, a replay can."""
        if isinstance(self.player, PacketReplay):
            self.player.video.request_keyframe()

    def stop(self) -> None:
        for track in (self.player.audio, self.player.video):
            if track is not None:
                track.stop()


def new_pc(reception: Reception | None = None) -> RTCPeerConnection:
    """A peer connection on loopback; notes in ``reception`` when it is connected."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    if reception is not None:

        @pc.on("connectionstatechange")
        def changed() -> None:
            if pc.connectionState == "connected" and reception.connected_at is None:
                reception.connected_at = time.perf_counter()

    return pc


def prefer(transceiver: RTCRtpTransceiver) -> None:
    """One codec per kind (Opus, VP8), as the SFU requires of everyone."""
    mime = "audio/opus" if transceiver.kind == "audio" else "video/vp8"
    capabilities = RTCRtpReceiver.getCapabilities(transceiver.kind)
    codecs = capabilities.codecs if capabilities else []
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() == mime])


def log_sends(pc: RTCPeerConnection, log: SentLog, camera: Camera) -> None:
    """Log every RTP packet ``pc`` sends, before SRTP: the send time of each payload; count
    the RTCP feedback it gets, and pass keyframe requests on to the camera."""
    senders = [t.sender for t in pc.getTransceivers() if t.sender.track is not None]
    for sender in senders:
        kind = sender.track.kind if sender.track else ""
        (log.video_ssrcs if kind == "video" else log.audio_ssrcs).add(sender._ssrc)
        sender._handle_rtcp_packet = feedback(sender._handle_rtcp_packet, log, camera)  # type: ignore[method-assign]
    transports = {id(s.transport): s.transport for s in senders}
    for transport in transports.values():
        original = transport._send_rtp

        async def send(data: bytes, original: Any = original) -> None:
            log.on_send(data, time.perf_counter())
            await original(data)

        transport._send_rtp = send  # type: ignore[method-assign]


def feedback(original: Callable[[Any], Awaitable[None]], log: SentLog, camera: Camera) -> Any:
    """Count the RTCP a publisher gets (receiver reports, NACK, PLI, REMB...) and answer
    keyframe requests, as a browser's encoder would."""

    async def handle(packet: Any) -> None:
        name = type(packet).__name__.removeprefix("Rtcp").removesuffix("Packet").upper()
        name = FEEDBACK.get((name, getattr(packet, "fmt", None)), name)
        log.rtcp[name] += 1
        if name in ("PLI", "FIR"):
            camera.request_keyframe()
        await original(packet)

    return handle


def count_wire(pc: RTCPeerConnection, reception: Reception) -> None:
    """Count every datagram that reaches ``pc`` (its one, bundled, transport) in the window:
    what the subscriber's link carries, headers and RTCP included."""
    ice = pc.getTransceivers()[0].receiver.transport.transport
    receive = ice._recv

    async def counted() -> bytes:
        data: bytes = await receive()
        reception.all_bytes += len(data)
        if reception.window.counting:
            reception.wire_bytes += len(data)
        return data

    ice._recv = counted


def count_datagrams(pc: RTCPeerConnection, reception: Reception) -> None:
    """``count_wire`` for a peer whose media takes the lane (``ClassBot(lane=True)``): counted
    at its sockets, since the lane's datagrams never reach the ICE transport's queue. Call
    once it has gathered."""
    ice = pc.getTransceivers()[0].receiver.transport.transport
    for protocol in ice._connection._protocols:

        def counted(data: bytes, addr: Any, protocol: Any = protocol) -> None:
            reception.all_bytes += len(data)
            if reception.window.counting:
                reception.wire_bytes += len(data)
            type(protocol).datagram_received(protocol, data, addr)

        protocol.datagram_received = counted


def take_counted(receiver: RTCRtpReceiver, count: Handler, lane: bool) -> None:
    """``receiver``'s RTP goes to ``count`` (a ``counter``), by the lane or by aiortc's path."""
    if lane:
        takes_rtp(receiver, count.now)  # type: ignore[attr-defined]
    else:
        receiver._handle_rtp_packet = count  # type: ignore[method-assign,assignment]


def counter(
    reception: Reception,
    video: bool,
    publisher: Callable[[], int | None],
    logs: dict[int, SentLog],
    ssrcs: set[int] | None = None,
) -> Handler:
    """Replaces a receiver's ``_handle_rtp_packet``: count and match, never decode; note
    each SSRC in ``ssrcs``."""

    async def count(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        counted(packet)

    def counted(packet: RtpPacket) -> None:
        if ssrcs is not None:
            ssrcs.add(packet.ssrc)
        who = publisher()
        log = logs.get(who) if who is not None else None
        reception.on_packet(
            time.perf_counter(), who or 0, log, video, packet.payload, bool(packet.marker)
        )

    count.now = counted  # type: ignore[attr-defined]  # the same, for the lane (takes_rtp)
    return count


class ClassBot:
    """One person in a live Kelas class: a Socket.IO client and one peer connection."""

    def __init__(
        self, user_id: int, cookie: str, base_url: str, window: Window, lane: bool = False
    ) -> None:
        """``lane``: take media where it arrives, as the Kelas server does (its ICE gate and
        lane, signaling/media/inbound.py: unprotected and its header read in C, no queue,
        no task), instead of through aiortc's four hops. The packets counted are the same;
        a bot costs some half as much, so more classes fit beside the server."""
        self.lane = lane
        self.user_id = user_id
        self.cookie = cookie
        self.base_url = base_url
        self.reception = Reception(window)
        self.sent = SentLog()
        self.layout: dict[int, int] = {}  # slot index -> publisher shown there
        self.paused: set[int] = set()  # publishers whose video the server does not send us
        self.slots_seen = asyncio.Event()
        self._remb: asyncio.Task[None] | None = None
        self.client = socketio.AsyncClient(reconnection=False)
        self.pc: RTCPeerConnection | None = None
        self.camera: Camera | None = None
        self.video_receivers: list[RTCRtpReceiver] = []
        self.video_ssrcs: set[int] = set()  # of the slots that received video
        self.client.on("media:slots", self._on_slots, namespace=NAMESPACE)

    async def _on_slots(self, data: dict[str, Any]) -> None:
        self.layout = {int(index): int(who) for index, who in data.get("slots", {}).items()}
        self.paused = set(data.get("paused", []))
        self.slots_seen.set()

    def shown(self) -> set[int]:
        """The publishers whose video the server says it sends us now."""
        return set(self.layout.values()) - self.paused

    def shown_in(self, slot: int) -> int | None:
        """The publisher the server says it forwards into ``slot`` (from media:slots)."""
        return self.layout.get(slot)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.client.call(event, data, namespace=NAMESPACE, timeout=TIMEOUT)

    async def join(self, lesson_id: int) -> None:
        await self.client.connect(
            self.base_url,
            headers={"Cookie": f"kelas_session={self.cookie}"},
            auth={"lesson_id": lesson_id},
            namespaces=[NAMESPACE],
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )

    async def publish(
        self, camera: Camera | None, logs: dict[int, SentLog], quiet: bool = False
    ) -> None:
        """Negotiate like the browser page: microphone, camera, screen up; the slots down.
        ``quiet``: the microphone is on but sends nothing, as Opus DTX does for someone
        silent (a browser sends one packet in 400 ms)."""
        hello = await self.call("hello", {"after": 0})
        if "error" in hello:
            raise RuntimeError(f"hello refused: {hello}")
        slots = int(hello["media"]["slots"])
        pc = self.pc = new_pc(self.reception)
        self.camera = camera
        audio, video = camera.tracks() if camera else (Silence("audio"), Silence("video"))
        if quiet:
            audio = Silence("audio")
        up = [
            pc.addTransceiver(audio, direction="sendonly"),
            pc.addTransceiver(video, direction="sendonly"),
            pc.addTransceiver(Silence("video"), direction="sendonly"),
        ]
        down = [pc.addTransceiver("audio", direction="recvonly") for _ in range(slots)]
        down += [pc.addTransceiver("video", direction="recvonly") for _ in range(slots + 1)]
        for transceiver in up + down:
            prefer(transceiver)
        if self.lane:  # before it gathers (guard.protect); max-bundle: one transport
            protect({t.receiver.transport for t in up}, Gate(f"bot {self.user_id}", Tally()))
        await pc.setLocalDescription(await pc.createOffer())
        if self.lane:
            count_datagrams(pc, self.reception)
        self.reception.joined_at = time.perf_counter()
        answer = await self.call("media:offer", {"type": "offer", "sdp": pc.localDescription.sdp})
        if "sdp" not in answer:
            raise RuntimeError(f"offer refused: {answer}")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        if camera is not None:
            logs[self.user_id] = self.sent
            log_sends(pc, self.sent, camera)
        if self.lane:  # the lane hands RTCP only to whom takes it: each sender, as before
            loop = asyncio.get_running_loop()
            for transceiver in up:
                stock = transceiver.sender._handle_rtcp_packet
                takes_rtcp(transceiver.sender, lambda p, stock=stock: loop.create_task(stock(p)))
        else:
            count_wire(pc, self.reception)
        self.video_receivers = [t.receiver for t in down[slots : 2 * slots]]
        for index, transceiver in enumerate(down[: 2 * slots]):
            video_slot = index >= slots
            slot = index - slots if video_slot else index
            count = counter(
                self.reception,
                video_slot,
                partial(self.shown_in, slot),
                logs,
                self.video_ssrcs if video_slot else None,
            )
            take_counted(transceiver.receiver, count, self.lane)
        on = camera is not None
        ack = await self.call("media:state", {"mic": on, "cam": on, "screen": False})
        if not ack.get("ok"):
            raise RuntimeError(f"media:state refused: {ack}")

    def estimate(self, link: int) -> None:
        """From now on, send the server a REMB about every second as Chromium's receive side
        would behind a link of ``link`` bits/s (measured, signaling/media/downlink.py): it
        starts at 75 kbit/s and grows by 8 % a second up to what arrives + 5 %; when more
        arrives than the link carries, it falls to 85 % of the link (or holds, if below)."""
        self._remb = asyncio.get_running_loop().create_task(self._send_remb(link))

    async def _send_remb(self, link: int) -> None:
        remb, counted, at = 75_000.0, self.reception.all_bytes, time.perf_counter()
        while True:
            await asyncio.sleep(1.0)
            now = time.perf_counter()
            getting = 8 * (self.reception.all_bytes - counted) / (now - at)
            counted, at = self.reception.all_bytes, now
            if getting > link:
                remb = min(remb, 0.85 * link)
            else:
                remb = min(remb * 1.08, max(remb, 1.05 * getting))
            if self.video_ssrcs:
                receiver = self.video_receivers[0]
                rtcp_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
                fci = pack_remb_fci(int(remb), sorted(self.video_ssrcs))
                packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=fci)
                await receiver._send_rtcp(packet)

    async def close(self) -> None:
        if self._remb is not None:
            self._remb.cancel()
        if self.camera is not None:
            self.camera.stop()
        if self.pc is not None:
            await asyncio.wait_for(self.pc.close(), TIMEOUT)
        await asyncio.wait_for(self.client.disconnect(), TIMEOUT)


class DirectPair:
    """The baseline path: a publisher's second copy of its media straight to one subscriber
    in this process, no server between them. Same bots, same moment, same load."""

    def __init__(self, publisher_id: int, window: Window) -> None:
        self.publisher_id = publisher_id
        self.sender, self.receiver = new_pc(), new_pc()
        self.sent = SentLog()
        self.reception = Reception(window)

    async def connect(self, camera: Camera) -> None:
        for track in camera.tracks():
            prefer(self.sender.addTransceiver(track, direction="sendonly"))
        await self.sender.setLocalDescription(await self.sender.createOffer())
        await self.receiver.setRemoteDescription(self.sender.localDescription)
        for transceiver in self.receiver.getTransceivers():
            transceiver.direction = "recvonly"
        await self.receiver.setLocalDescription(await self.receiver.createAnswer())
        await self.sender.setRemoteDescription(self.receiver.localDescription)
        log_sends(self.sender, self.sent, camera)
        logs = {self.publisher_id: self.sent}
        for transceiver in self.receiver.getTransceivers():
            transceiver.receiver._handle_rtp_packet = counter(  # type: ignore[method-assign,assignment]
                self.reception, transceiver.kind == "video", lambda: self.publisher_id, logs
            )

    async def close(self) -> None:
        for pc in (self.sender, self.receiver):
            await asyncio.wait_for(pc.close(), TIMEOUT)


class RelayBot:
    """A peer of the MediaRelay baseline server: the publisher, or a subscriber."""

    PUBLISHER = 0  # the publisher's id in the logs

    def __init__(self, base_url: str, window: Window) -> None:
        self.base_url = base_url
        self.sent = SentLog()
        self.reception = Reception(window)
        self.pc = new_pc(self.reception)
        self.camera: Camera | None = None

    async def _signal(self, path: str) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"type": "offer", "sdp": self.pc.localDescription.sdp}
        self.reception.joined_at = time.perf_counter()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(TIMEOUT)) as http:
            async with http.post(self.base_url + path, json=offer) as response:
                response.raise_for_status()
                answer = await response.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(**answer))

    async def publish(self, camera: Camera) -> None:
        self.camera = camera
        for track in camera.tracks():
            prefer(self.pc.addTransceiver(track, direction="sendonly"))
        await self._signal("/publish")
        log_sends(self.pc, self.sent, camera)

    async def subscribe(self) -> None:
        """Re-encoded media cannot be matched by payload: only counted (no log given)."""
        for kind in ("audio", "video"):
            prefer(self.pc.addTransceiver(kind, direction="recvonly"))
        await self._signal("/subscribe")
        for transceiver in self.pc.getTransceivers():
            transceiver.receiver._handle_rtp_packet = counter(  # type: ignore[method-assign,assignment]
                self.reception, transceiver.kind == "video", lambda: self.PUBLISHER, {}
            )

    async def close(self) -> None:
        if self.camera is not None:
            self.camera.stop()
        await asyncio.wait_for(self.pc.close(), TIMEOUT)
