"""Live-class test helpers: real Socket.IO clients and real aiortc peers ("bots")."""

from __future__ import annotations

import asyncio
import math
import os
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import av
import socketio
from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceServer, RTCIceTransportPolicy
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from classroom.models import Role, User
from tests.conftest import School, Visitor
from tests.helpers import new_class

TIMEOUT = 10.0


class Events:
    """Every event a client receives, awaitable by name."""

    def __init__(self) -> None:
        self.seen: dict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Condition()

    async def add(self, name: str, data: Any) -> None:
        async with self._changed:
            self.seen[name].append(data)
            self._changed.notify_all()

    async def wait(self, name: str, match: Callable[[Any], bool] = lambda _: True) -> Any:
        async def found() -> Any:
            async with self._changed:
                while True:
                    for item in self.seen[name]:
                        if match(item):
                            return item
                    await self._changed.wait()

        return await asyncio.wait_for(found(), TIMEOUT)


@dataclass
class Member:
    """One person in a live class: a Socket.IO client, and optionally a media bot."""

    user: User
    visitor: Visitor
    client: socketio.AsyncClient
    events: Events
    bot: Bot | None = None

    async def call(self, name: str, data: Any = None) -> Any:
        return await self.client.call(name, data, namespace="/class", timeout=TIMEOUT)

    async def close(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        await self.client.disconnect()


async def connect(
    school: School,
    user: User,
    visitor: Visitor,
    lesson_id: int,
    events: Events | None = None,
    client: socketio.AsyncClient | None = None,
    url: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[socketio.AsyncClient, Events]:
    events = events or Events()
    client = client or socketio.AsyncClient(reconnection=False)

    @client.on("*", namespace="/class")  # type: ignore[misc]
    async def any_event(name: str, data: Any = None) -> None:
        await events.add(name, data)

    @client.on("connect_error", namespace="/class")  # type: ignore[misc]
    async def refused(data: Any = None) -> None:
        await events.add("connect_error", data)

    cookies = visitor.client.session.cookie_jar.filter_cookies(visitor.client.make_url("/"))
    url = url or str(school.server.make_url("/"))
    await client.connect(
        url,
        headers={"Cookie": f"kelas_session={cookies['kelas_session'].value}", **(headers or {})},
        auth={"lesson_id": lesson_id},
        namespaces=["/class"],
        transports=["websocket"],
        wait_timeout=5,
    )
    return client, events


async def join(school: School, user: User, visitor: Visitor, lesson_id: int) -> Member:
    client, events = await connect(school, user, visitor, lesson_id)
    return Member(user, visitor, client, events)


async def close_refused(client: socketio.AsyncClient) -> None:
    """A refused client keeps its HTTP session open; close it."""
    http = client.eio.http
    if http is not None and not http.closed:
        await http.close()


async def refusal(
    school: School, user: User, visitor: Visitor, lesson_id: Any, url: str | None = None
) -> dict[str, Any]:
    """The data with which the server (or the one at ``url``) refuses this connection:
    ``{code, message}``, as a browser's ``err.data`` receives it (and its message as
    ``err.message``)."""
    events = Events()
    client = socketio.AsyncClient(reconnection=False)
    try:
        client, events = await connect(school, user, visitor, lesson_id, events, client, url)
    except socketio.exceptions.ConnectionError:
        await close_refused(client)
        error = await events.wait("connect_error")
        data: dict[str, Any] = error["data"]
        assert set(data) >= {"code", "message"} and data["message"] == error["message"], error
        return data
    await client.disconnect()
    raise AssertionError("the connection was accepted")


async def refused(school: School, user: User, visitor: Visitor, lesson_id: Any) -> str:
    """The message with which the server refuses this connection."""
    return str((await refusal(school, user, visitor, lesson_id))["message"])


@dataclass
class LiveClass:
    lesson: dict[str, Any]
    coordinator: Visitor
    tutor: tuple[User, Visitor]
    students: list[tuple[User, Visitor]]


async def live_class(
    school: School, students: int = 2, capacity: int = 4, starts_in_hours: float = 0.05
) -> LiveClass:
    """A class starting in three minutes with a tutor and booked students."""
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor = await school.join(Role.TUTOR, "Tutor")
    lesson = (
        await new_class(coordinator, hours=starts_in_hours, capacity=capacity, tutor_id=tutor[0].id)
    )["lessons"][0]
    booked = []
    for n in range(students):
        user, visitor = await school.join(Role.STUDENT, f"Student {n + 1}")
        status, body = await visitor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
        assert status == 201, body
        booked.append((user, visitor))
    return LiveClass(lesson, coordinator, tutor, booked)


async def slot_of(member: Member, publisher: int) -> int:
    """The slot in which ``member`` receives ``publisher``, from the server's media:slots."""
    layout = await member.events.wait("media:slots", lambda s: publisher in s["slots"].values())
    return int(next(i for i, p in layout["slots"].items() if p == publisher))


# -- media bots ------------------------------------------------------------------------


@dataclass
class Bot:
    """An aiortc peer laid out like the browser page: publishes microphone and camera and
    counts, per receiving slot, the RTP packets that arrive (nothing is decoded). As a
    browser does, it sends receiver reports on what it receives (aiortc's own statistics,
    fed here since its receive path, which would decode, is skipped)."""

    pc: RTCPeerConnection
    slots: int
    received: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    keyframes: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def close(self) -> None:
        await self.pc.close()

    async def until(self, check: Callable[[], bool]) -> None:
        async def loop() -> None:
            async with self._changed:
                await self._changed.wait_for(check)

        await asyncio.wait_for(loop(), TIMEOUT)

    def counter(
        self, kind: str, index: int, receiver: RTCRtpReceiver
    ) -> Callable[[RtpPacket, int], Awaitable[None]]:
        from signaling.media.forwarding import vp8_keyframe_start

        streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        clock_rate = 48000 if kind == "audio" else 90000

        async def count(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
            if packet.ssrc not in streams:
                streams[packet.ssrc] = StreamStatistics(clock_rate)
            streams[packet.ssrc].add(packet)  # what its receiver reports are made of
            self.received[(kind, index)] += 1
            if kind == "video" and vp8_keyframe_start(packet.payload):
                self.keyframes[index] += 1
            async with self._changed:
                self._changed.notify_all()

        return count


class Noise(VideoStreamTrack):
    """A camera whose picture keeps changing: a quarter of it is new noise in every frame,
    which VP8 encodes at about 1 Mbit/s, the tutor's plan (VideoStreamTrack's still green
    frames come to some 40 kbit/s, whatever the plan)."""

    kind = "video"
    WIDTH, HEIGHT = 320, 240

    def __init__(self) -> None:
        super().__init__()
        width, height = self.WIDTH, self.HEIGHT
        self._grey = bytes([128]) * (width * height // 4)
        self._pictures = []
        for _ in range(8):
            luma = bytearray(self._grey * 4)
            for row in range(height // 2):
                luma[row * width : row * width + width // 2] = os.urandom(width // 2)
            self._pictures.append(bytes(luma))
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.WIDTH, self.HEIGHT, "yuv420p")
        luma, blue, red = frame.planes
        luma.update(self._pictures[self._count % 8])
        blue.update(self._grey)
        red.update(self._grey)
        self._count += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


class Voice(AudioStreamTrack):
    """A microphone that speaks at known times: a 400 Hz tone (about -13 dBov, loud in the
    RFC 6464 level that aiortc computes for each 20 ms frame) during each (start, end) of
    ``speech``, seconds from ``go`` (``publish`` calls it once the server forwards the
    microphone), and silence (-127 dBov) otherwise."""

    RATE, SAMPLES = 8000, 160  # AudioStreamTrack's frames: 20 ms at 8 kHz

    def __init__(self, speech: Sequence[tuple[float, float]]) -> None:
        super().__init__()
        self.speech = tuple(speech)
        tone = (int(8000 * math.sin(2 * math.pi * 400 * n / self.RATE)) for n in range(160))
        self._tone = b"".join(sample.to_bytes(2, "little", signed=True) for sample in tone)
        self._going = False
        self._origin: int | None = None  # the frame at which ``go`` took effect

    def go(self) -> None:
        self._going = True

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        if self._going and self._origin is None:
            self._origin = frame.pts
        if self._origin is None:
            return frame
        at = (frame.pts - self._origin) / self.RATE
        if any(start <= at < end for start, end in self.speech):
            frame.planes[0].update(self._tone)
        return frame


def _prefer(transceiver: Any, mime: str) -> None:
    codecs = RTCRtpReceiver.getCapabilities(transceiver.kind).codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() == mime])


def trickled(sdp: str) -> tuple[str, list[dict[str, Any]]]:
    """An offer as a browser sends it before gathering: without its candidates, which follow
    as ``media:candidate`` payloads (as RTCIceCandidate.toJSON() gives them), the last one
    empty: the end of candidates."""
    lines = sdp.split("\r\n")
    ufrag = next(line.split(":", 1)[1] for line in lines if line.startswith("a=ice-ufrag:"))
    candidates = list(dict.fromkeys(line[2:] for line in lines if line.startswith("a=candidate:")))
    kept = [line for line in lines if not line.startswith(("a=candidate:", "a=end-of-candidates"))]
    init = {"sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": ufrag}
    return "\r\n".join(kept), [{"candidate": c, **init} for c in [*candidates, ""]]


async def publish(
    member: Member,
    *,
    mic: bool = True,
    cam: bool = True,
    screen: bool = False,
    relay: bool = False,
    trickle: bool = False,
    noise: bool = False,
    speech: Sequence[tuple[float, float]] | None = None,
    offer: Callable[[str], str] | None = None,
) -> Bot:
    """Connect a bot's media the way the browser does (docs/protocol.md, "Media"). With
    ``relay``, it uses the ICE servers of its ``hello`` and only their relays, as the page does
    on its second try (iceTransportPolicy "relay"). With ``trickle``, its candidates follow
    the offer at once, as a browser's do, while the server is still answering it. With
    ``noise``, its camera sends as much as the server lets it (``Noise``). With ``speech``,
    its microphone speaks at those times (``Voice``). ``offer`` changes the offer's text
    before it is sent (what aiortc cannot offer by itself: RED, say)."""
    hello = await member.call("hello", {"after": 0})
    slots = hello["media"]["slots"]
    servers = [RTCIceServer(**server) for server in hello["media"]["ice_servers"]]
    pc = RTCPeerConnection(
        RTCConfiguration(
            iceServers=servers if relay else [],
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
            iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay else RTCIceTransportPolicy.ALL,
        )
    )
    bot = Bot(pc, slots)
    voice = Voice(speech) if speech is not None else None
    up = [
        pc.addTransceiver((voice or AudioStreamTrack()) if mic else "audio", direction="sendonly"),
        pc.addTransceiver(
            (Noise() if noise else VideoStreamTrack()) if cam else "video", direction="sendonly"
        ),
        pc.addTransceiver(VideoStreamTrack() if screen else "video", direction="sendonly"),
    ]
    down = [pc.addTransceiver("audio", direction="recvonly") for _ in range(slots)]
    down += [pc.addTransceiver("video", direction="recvonly") for _ in range(slots + 1)]
    for transceiver in up + down:
        _prefer(transceiver, "audio/opus" if transceiver.kind == "audio" else "video/vp8")
    await pc.setLocalDescription(await pc.createOffer())
    sdp, candidates = trickled(pc.localDescription.sdp)
    if not trickle:
        sdp, candidates = pc.localDescription.sdp, []
    if offer is not None:
        sdp = offer(sdp)
    answer, *acks = await asyncio.gather(
        member.call("media:offer", {"type": "offer", "sdp": sdp}),
        *(member.call("media:candidate", candidate) for candidate in candidates),
    )
    assert "sdp" in answer, answer
    assert all(ack.get("ok") for ack in acks), acks
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    for index, transceiver in enumerate(down):
        kind = "audio" if index < slots else "video"
        position = index if index < slots else index - slots
        receiver = transceiver.receiver
        receiver._handle_rtp_packet = bot.counter(kind, position, receiver)  # type: ignore[method-assign]
    ack = await member.call("media:state", {"mic": mic, "cam": cam, "screen": screen})
    assert ack.get("ok"), ack
    if voice is not None:
        voice.go()  # the server forwards the microphone now: its speech counts
    member.bot = bot
    return bot


def lose(bot: Bot, lost: Callable[[int, int], bool]) -> None:
    """Lose on the wire each RTP packet to ``bot`` for which ``lost(ssrc, seq)`` says so:
    dropped before SRTP, as a network would (the header is readable; the rest is not)."""
    from aiortc.rtp import is_rtcp

    ice = bot.pc.getTransceivers()[0].receiver.transport.transport  # one, bundled
    wire = ice._recv

    async def lossy_wire() -> bytes:
        while True:
            data: bytes = await wire()
            if len(data) > 12 and 127 < data[0] < 192 and not is_rtcp(data):
                ssrc, seq = int.from_bytes(data[8:12], "big"), int.from_bytes(data[2:4], "big")
                if lost(ssrc, seq):
                    continue
            return data

    ice._recv = lossy_wire


async def tutor_to_student(school: School) -> tuple[Member, Member, Bot, int]:
    """A class with one student: the tutor publishing, the student publishing and receiving
    them; the student's slot of the tutor (whose first keyframe may not have come yet)."""
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    await publish(tutor)
    student = await join(school, *setup.students[0], lesson_id)
    bot = await publish(student)
    return tutor, student, bot, await slot_of(student, tutor.user.id)
