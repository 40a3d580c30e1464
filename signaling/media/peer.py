"""One participant's peer connection: their published streams up, their slots down.

The browser offers; its m-lines come in a fixed order (docs/protocol.md):
    audio sendonly (microphone), video sendonly (camera), video sendonly (screen),
    N x audio recvonly, N x video recvonly (the slots), video recvonly (the shared screen).
People joining and leaving never renegotiate: the server re-points slots.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceServer
from aiortc.sdp import candidate_from_sdp

from classroom.errors import InvalidInput
from signaling import protocol
from signaling.media.forwarding import (
    Kind,
    Slot,
    Source,
    slot_report_sender,
    slot_rtcp_handler,
)
from signaling.media.hooks import drop_bitrate_estimator

UP_KINDS: tuple[Kind, ...] = ("audio", "video", "screen")
OPUS_FMTP = "minptime=10;useinbandfec=1;usedtx=1"


class IdleTrack(MediaStreamTrack):
    """Keeps a slot's sender negotiated and asleep: packets are sent by the slot itself, so
    recv() never returns and an idle slot costs nothing."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        import asyncio

        self._never: asyncio.Future[None] = asyncio.get_event_loop().create_future()

    async def recv(self) -> None:  # type: ignore[override]
        await self._never


@dataclass
class Peer:
    user_id: int
    pc: RTCPeerConnection
    sources: dict[Kind, Source] = field(default_factory=dict)
    audio_slots: list[Slot] = field(default_factory=list)
    video_slots: list[Slot] = field(default_factory=list)
    screen_slot: Slot | None = None
    assignment: dict[int, int] = field(default_factory=dict)  # slot index -> publisher
    layout: protocol.Layout | None = None  # the layout this subscriber was last told

    async def close(self) -> None:
        for slot in self.all_slots():
            slot.attach(None)
        await self.pc.close()

    def all_slots(self) -> list[Slot]:
        extra = [self.screen_slot] if self.screen_slot else []
        return self.audio_slots + self.video_slots + extra


def configuration(ice_servers: list[dict[str, object]]) -> RTCConfiguration:
    servers = [
        RTCIceServer(
            urls=server["urls"],  # type: ignore[arg-type]
            username=server.get("username"),  # type: ignore[arg-type]
            credential=server.get("credential"),  # type: ignore[arg-type]
        )
        for server in ice_servers
    ]
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def _codec_of(transceiver: RTCRtpTransceiver, expected: str) -> tuple[int, int]:
    codecs = [c for c in transceiver._codecs if c.mimeType.lower() == expected]
    if not codecs:
        raise InvalidInput(
            "Your browser did not offer {codec}, which this classroom needs.", codec=expected
        )
    return int(codecs[0].payloadType or 0), codecs[0].clockRate


def munge_answer(sdp: str) -> str:
    """Ask publishers for Opus in-band FEC and DTX: aiortc's Opus entry carries no fmtp."""
    lines = sdp.split("\r\n")
    pts = {
        m.group(1) for line in lines if (m := re.match(r"a=rtpmap:(\d+) opus/48000", line, re.I))
    }
    out = [line for line in lines if not any(line.startswith(f"a=fmtp:{pt} ") for pt in pts)]
    result: list[str] = []
    for line in out:
        result.append(line)
        match = re.match(r"a=rtpmap:(\d+) opus/48000", line, re.I)
        if match:
            result.append(f"a=fmtp:{match.group(1)} {OPUS_FMTP}")
    return "\r\n".join(result)


async def negotiate(
    peer: Peer,
    offer_sdp: str,
    slots: int,
    make_source: Callable[[Kind], Source],
) -> str:
    """Apply the browser's offer, wire sources and slots, and return the answer SDP."""
    pc = peer.pc
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    except Exception as exc:  # aiortc raises several kinds on bad SDP
        raise InvalidInput("The media offer could not be read: {why}", why=str(exc)[:200]) from None
    transceivers = pc.getTransceivers()
    expected = 3 + 2 * slots + 1
    if len(transceivers) != expected:
        raise InvalidInput("The media offer must have {n} media sections.", n=str(expected))
    kinds = ["audio", "video", "video"] + ["audio"] * slots + ["video"] * (slots + 1)
    if [t.kind for t in transceivers] != kinds:
        raise InvalidInput("The media sections of the offer are not in the expected order.")
    for up_kind, transceiver in zip(UP_KINDS, transceivers[:3], strict=True):
        _codec_of(transceiver, "audio/opus" if up_kind == "audio" else "video/vp8")
        source = make_source(up_kind)
        peer.sources[up_kind] = source
        receiver = transceiver.receiver
        receiver._handle_rtp_packet = source.on_rtp  # type: ignore[method-assign]
    down = transceivers[3:]
    for index, transceiver in enumerate(down):
        kind: Kind = "audio" if index < slots else ("video" if index < 2 * slots else "screen")
        payload_type, clock_rate = _codec_of(
            transceiver, "audio/opus" if kind == "audio" else "video/vp8"
        )
        transceiver.direction = "sendonly"
        sender = transceiver.sender
        sender.replaceTrack(IdleTrack("audio" if kind == "audio" else "video"))
        slot = Slot(sender, kind, sender._ssrc, payload_type, clock_rate)
        sender._send_rtcp = slot_report_sender(slot, sender._send_rtcp)  # type: ignore[method-assign,assignment]
        sender._handle_rtcp_packet = slot_rtcp_handler(slot, sender._handle_rtcp_packet)  # type: ignore[method-assign,assignment]
        if kind == "audio":
            peer.audio_slots.append(slot)
        elif kind == "video":
            peer.video_slots.append(slot)
        else:
            peer.screen_slot = slot
    for transceiver in transceivers:
        drop_bitrate_estimator(transceiver.receiver)
    answer = await pc.createAnswer()
    await pc.setLocalDescription(answer)
    return munge_answer(pc.localDescription.sdp)


def _check_candidate(candidate: RTCIceCandidate) -> None:
    """What aioice would otherwise try to reach: an IP address (or a browser's mDNS name),
    a real port, a known transport. Raises ValueError."""
    if not candidate.ip.endswith(".local"):
        ipaddress.ip_address(candidate.ip)
    if not 0 < candidate.port < 65536 or candidate.component not in (1, 2):
        raise ValueError("port or component out of range")
    if candidate.protocol.lower() not in ("udp", "tcp"):
        raise ValueError("unknown transport")


async def add_candidate(peer: Peer, candidate: str, mid: str | None, index: int | None) -> None:
    if not candidate:
        return  # end of candidates
    try:
        parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
        _check_candidate(parsed)
    except (ValueError, IndexError, AssertionError):  # aiortc asserts on a short line
        raise InvalidInput("That ICE candidate could not be read.") from None
    parsed.sdpMid, parsed.sdpMLineIndex = mid, index
    try:
        await peer.pc.addIceCandidate(parsed)
    except ValueError:  # aiortc: no sdpMid or index, or one that names no media section
        raise InvalidInput("That ICE candidate could not be read.") from None
