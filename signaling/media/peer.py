"""One participant's peer connection: their published streams up, their slots down.

The browser offers; its m-lines come in a fixed order (docs/protocol.md):
    audio sendonly (microphone), video sendonly (camera), video sendonly (screen),
    N x audio recvonly, N x video recvonly (the slots), video recvonly (the shared screen).
People joining and leaving never renegotiate: the server re-points slots.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceServer
from aiortc.rtcdtlstransport import X509_DIGEST_ALGORITHMS
from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.rtp import RtpPacket
from aiortc.sdp import MediaDescription, SessionDescription, candidate_from_sdp

from classroom.errors import N_, InvalidInput
from signaling import protocol
from signaling.media import red
from signaling.media.answer import mids, offered_ssrcs, plan, up_offer, with_slots
from signaling.media.budget import Budget
from signaling.media.downlink import Downlink
from signaling.media.forwarding import (
    ABS_SEND_TIME,
    Kind,
    Slot,
    Source,
    Wired,
    send_reports,
    slot_rtcp_handler,
)
from signaling.media.guard import Gate, protect
from signaling.media.hooks import lean_receivers, no_decoder, report_upstream
from signaling.media.inbound import RtcpTaker, takes_rtcp, takes_rtp
from signaling.media.pacer import PacedWire, pace
from signaling.media.quality import Block, Estimate
from signaling.media.simulcast import (
    TAKEOVER_S,
    answer_layers,
    layered,
    offered_rids,
    route_by_mid,
    sections,
)
from signaling.media.trickle import Trickled

log = logging.getLogger(__name__)

UP_KINDS: tuple[Kind, ...] = ("audio", "video", "screen")
UP, DOWN = ("sendonly", "sendrecv"), ("recvonly", "sendrecv")
# RTP payload types that cannot be mistaken for RTCP on a muxed port (RFC 5761 section 4).
PAYLOAD_TYPES = frozenset(range(0, 64)) | frozenset(range(96, 128))
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # SDP is text lines (RFC 8866)
ICE_UFRAG = re.compile(r"[A-Za-z0-9+/]{4,256}")  # ice-char (RFC 8839 section 5.4)
ICE_PWD = re.compile(r"[A-Za-z0-9+/]{22,256}")
FINGERPRINT = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){19,63}")
UNREADABLE = N_("The media offer could not be read.")
BAD_CANDIDATE = N_("That ICE candidate could not be read.")
NO_CODEC = N_("Your browser did not offer {codec}, which this classroom needs.")
OPUS_FMTP = "minptime=10;useinbandfec=1;usedtx=1"
CODECS = {"audio": "audio/opus", "video": "video/vp8"}  # by kind: what each section must use
OPUS_RTPMAP = re.compile(r"a=rtpmap:(\d+) opus/48000", re.I)


# A layout as compared twice a second: slots (index, publisher), screen, paused, screen paused
LayoutKey = tuple[list[tuple[int, int]], int | None, list[int], bool]


@dataclass
class Peer:
    user_id: int
    pc: RTCPeerConnection
    gate: Gate
    sources: dict[Kind, Source] = field(default_factory=dict)
    audio_slots: list[Slot] = field(default_factory=list)
    video_slots: list[Slot] = field(default_factory=list)
    screen_slot: Slot | None = None
    ufrag: str | None = None  # the offer's a=ice-ufrag, named by its trickled candidates
    assignment: dict[int, int] = field(default_factory=dict)  # slot index -> publisher
    layout_key: LayoutKey | None = None  # the layout this subscriber was last told
    screen: int | None = None  # whose screen is shared in the class (maybe their own)
    quality: Estimate = field(default_factory=Estimate)  # from their reports on the slots
    measured: Callable[[protocol.Quality], None] = lambda quality: None
    downlink: Downlink = field(default_factory=Downlink)  # what their link carries
    budget: Budget = field(default_factory=Budget)  # which videos they get (budget.py)
    paced: PacedWire = field(default_factory=PacedWire)  # pacer.py
    redundancy: red.Redundancy = field(default_factory=red.Redundancy)  # voices as RED or not
    _reports: asyncio.TimerHandle | None = None
    _loop: asyncio.AbstractEventLoop | None = None  # (asking for it each second costs a getpid)
    _wired: Wired | None = None

    def sent(self, ssrc: int, ntp: int) -> None:
        self.quality.sent(ssrc, ntp, time.monotonic())

    def report(self) -> None:
        """Send the slots' sender reports (one batch, C's), then again in 0.5 to 1.5 s: RFC
        3550 6.2's randomised interval, about a second as aiortc and libwebrtc send them."""
        loop = self._loop = self._loop or asyncio.get_running_loop()
        self._reports = loop.call_later(0.5 + random.random(), self.report)
        send_reports(self.wired(), cname_of(self.pc).encode()[:255], self.sent)

    def heard(self, block: Block) -> None:
        now = time.monotonic()
        self.quality.report(block, now)
        due = self.quality.due(now)
        if due is not None:
            self.measured(due)

    async def close(self) -> None:
        """Detach the slots and close the connection. Never raises: a failure to close is
        logged (debug), so that what led here stays the error reported."""
        for slot in self.all_slots():
            slot.attach(None)
        self.paced.close()
        if self._reports is not None:
            self._reports.cancel()
            self._reports = None
        try:
            await self.pc.close()
        except Exception:
            log.debug("closing the media of user %s failed", self.user_id, exc_info=True)

    def all_slots(self) -> list[Slot]:
        extra = [self.screen_slot] if self.screen_slot else []
        return self.audio_slots + self.video_slots + extra

    def wired(self) -> Wired:
        """All the slots, as C walks them (made once they are all there: negotiate)."""
        slots = self.all_slots()
        if self._wired is None or len(self._wired.slots) != len(slots):
            self._wired = Wired(slots, len(self.audio_slots))
        return self._wired

    def measure(self, now: float) -> None:
        """Update what their link carries from what the slots sent and what they report;
        their round trip paces the NACKs the server sends for their own streams."""
        slots = self.all_slots()
        if slots:
            slots[0].out.follow()  # one, bundled: by the pair nominated now (wire.py)
        audio, video = self.wired().octets()
        self.downlink.measured(now, audio, video, self.quality.loss)
        downlink = self.downlink
        downlink.planned_bps = sum(
            s.source.bitrate for s in slots if s.source and s.source.forwarding and not s.paused
        )
        self.paced.set_pace(
            pace(downlink.estimate(now), downlink.audio_bps + downlink.video_bps,
                 downlink.planned_bps)
        )  # fmt: skip
        for source in self.sources.values():
            for layer in (source, source.low) if source.low else (source,):
                layer.rtt = self.quality.rtt
                layer.measure(now)
        on = self.redundancy.look([(s.loss, s.loss_at) for s in self.audio_slots], now)
        if on is not None:
            red.switch(self.audio_slots, on)


def cname_of(pc: RTCPeerConnection) -> str:
    """The connection's CNAME (RFC 3550 6.5.1): its answer's a=ssrc lines and the slots'
    sender reports name it."""
    return str(getattr(pc, "_RTCPeerConnection__cname", ""))


def configuration(stun_urls: Sequence[str]) -> RTCConfiguration:
    servers = [RTCIceServer(urls=list(stun_urls))] if stun_urls else []
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def _codec_of(transceiver: RTCRtpTransceiver, expected: str) -> tuple[int, int]:
    codecs = [
        c
        for c in transceiver._codecs
        if c.mimeType.lower() == expected and (c.payloadType or 0) in PAYLOAD_TYPES
    ]
    if not codecs:
        raise InvalidInput(NO_CODEC, codec=expected)
    return int(codecs[0].payloadType or 0), codecs[0].clockRate


def read_offer(sdp: str, slots: int) -> SessionDescription:
    """The browser's offer, parsed and checked against the layout in the module docstring,
    with a clear reason when it does not fit: aiortc accepts some offers it then fails on
    in a background task (no fingerprint, a payload type that does not fit in RTP)."""
    if CONTROL.search(sdp) or not encodable(sdp):
        raise InvalidInput("The media offer contains characters that are not allowed.")
    try:
        offer = SessionDescription.parse(sdp)
    except Exception:  # aiortc's parser raises whatever the bad line leads to
        raise InvalidInput(UNREADABLE) from None
    expected = 3 + 2 * slots + 1
    if len(offer.media) != expected:
        raise InvalidInput("The media offer must have {n} media sections.", n=str(expected))
    layout = [("audio", UP), ("video", UP), ("video", UP)]
    layout += [("audio", DOWN)] * slots + [("video", DOWN)] * (slots + 1)
    if any(
        m.kind != kind or m.direction not in directions
        for m, (kind, directions) in zip(offer.media, layout, strict=True)
    ):
        raise InvalidInput("The media sections of the offer are not in the expected order.")
    for media in offer.media:
        check_transport(media)
        wanted = "audio/opus" if media.kind == "audio" else "video/vp8"
        if not any(
            c.mimeType.lower() == wanted and c.payloadType in PAYLOAD_TYPES
            for c in media.rtp.codecs
        ):
            raise InvalidInput(NO_CODEC, codec=wanted)
    return offer


def check_transport(media: MediaDescription) -> None:
    if media.dtls is None or not any(
        f.algorithm.lower() in X509_DIGEST_ALGORITHMS and FINGERPRINT.fullmatch(f.value)
        for f in media.dtls.fingerprints
    ):
        raise InvalidInput("The media offer has no usable DTLS fingerprint.")
    ice = media.ice
    if (
        ice is None
        or not ICE_UFRAG.fullmatch(ice.usernameFragment or "")
        or not ICE_PWD.fullmatch(ice.password or "")
    ):
        raise InvalidInput("The media offer has no valid ICE username and password.")
    if not all(usable(candidate) for candidate in media.ice_candidates):
        raise InvalidInput(BAD_CANDIDATE)


def usable(candidate: RTCIceCandidate) -> bool:
    """Whether aioice can use ``candidate`` without failing later, in a task of its own (a
    port past 65535 closes the socket it is sent from)."""
    if not (0 < candidate.port < 65536 and 0 <= candidate.priority < 2**32):
        return False
    if candidate.component not in (1, 2) or candidate.protocol.lower() not in ("udp", "tcp"):
        return False
    if candidate.ip.endswith(".local"):  # an mDNS name, resolved by aioice
        return True
    try:
        ipaddress.ip_address(candidate.ip)
    except ValueError:
        return False
    return True


def encodable(sdp: str) -> bool:
    try:
        sdp.encode()
    except UnicodeEncodeError:  # lone surrogates from JSON "\ud800"
        return False
    return True


def one_stream(on_rtp: Callable[[RtpPacket], None], gate: Gate) -> Callable[[RtpPacket], None]:
    """aiortc's router hands a publisher's receiver any SSRC whose payload type only that
    receiver uses. The browser sends one stream per media section; another SSRC would be
    spliced into the subscribers' slots as if it were the same stream (their SRTP replay
    window and jitter buffer would then drop the real one). So the first SSRC is the stream,
    and another takes over only after it has been silent for TAKEOVER_S."""
    current: int | None = None
    last = 0.0

    def handle(packet: RtpPacket) -> None:
        nonlocal current, last
        now = time.monotonic()
        if packet.ssrc != current:
            if current is not None and now - last < TAKEOVER_S:
                gate.drop("was RTP of a second stream in one media section", quiet=True)
                return
            current = packet.ssrc
        last = now
        on_rtp(packet)

    return handle


def munge_answer(sdp: str) -> str:
    """Ask publishers for Opus in-band FEC and DTX: aiortc's Opus entry carries no fmtp.
    (An answer has some 900 lines: each is looked at once, by its first bytes.)"""
    lines = sdp.split("\r\n")
    opus = {
        line: m.group(1)
        for line in lines
        if line.startswith("a=rtpmap:") and (m := OPUS_RTPMAP.match(line))
    }
    stale = tuple(f"a=fmtp:{pt} " for pt in set(opus.values()))
    result: list[str] = []
    for line in lines:
        if stale and line.startswith(stale):
            continue
        result.append(line)
        pt = opus.get(line)
        if pt is not None:
            result.append(f"a=fmtp:{pt} {OPUS_FMTP}")
    return "\r\n".join(result)


async def negotiate(
    peer: Peer,
    offer_sdp: str,
    slots: int,
    make_source: Callable[[Kind], Source],
) -> str:
    """Apply the browser's offer, wire sources and slots, and return the answer SDP.

    Every failure is InvalidInput with a reason the person can be shown; the caller closes
    the half-built peer."""
    pc = peer.pc
    offer = read_offer(offer_sdp, slots)
    offer_mids = mids(offer)
    ice = offer.media[0].ice
    peer.ufrag = ice.usernameFragment if ice else None
    layers = offered_rids(sections(offer_sdp)[1])
    try:
        with lean_receivers():
            await pc.setRemoteDescription(
                RTCSessionDescription(sdp=up_offer(offer_sdp, offer_mids), type="offer")
            )
    except Exception as exc:  # aiortc raises several kinds on SDP it cannot apply
        log.info("user %s: media offer refused by aiortc: %r", peer.user_id, exc)
        raise InvalidInput(UNREADABLE) from None
    transceivers = pc.getTransceivers()
    transports = {t.receiver.transport for t in transceivers}
    if None in transports:  # a section aiortc left without a transport (rejected, unbundled)
        raise InvalidInput(UNREADABLE)
    protect(transports, peer.gate)
    for transceiver in transceivers:
        no_decoder(transceiver.receiver)
    if [t.kind for t in transceivers] != ["audio", "video", "video"]:
        raise InvalidInput("The media sections of the offer are not in the expected order.")
    for up_kind, transceiver in zip(UP_KINDS, transceivers, strict=True):
        _codec_of(transceiver, CODECS["audio" if up_kind == "audio" else "video"])
        source = make_source(up_kind)
        peer.sources[up_kind] = source
        if up_kind == "audio":  # the microphone's RED, when the page asks for it (red.py)
            source.red_payload_type = red.accept(transceiver, offer.media[0], PAYLOAD_TYPES)
        receiver = transceiver.receiver
        handler = one_stream(source.on_rtp, peer.gate)
        if up_kind == "video" and layers:  # the camera as simulcast (simulcast.py)
            low = source.low = make_source(up_kind)
            low.send_remb, low.upstream, low.full = None, source.upstream, source
            handler = layered({layers[0]: source.on_rtp, layers[1]: low.on_rtp}, peer.gate)
            route_by_mid(receiver.transport, transceiver.mid or "")
        takes_rtp(receiver, handler)
        report_upstream(receiver, source.upstream)
    try:
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:
        log.info("user %s: no answer to the media offer: %r", peer.user_id, exc)
        raise InvalidInput("The media offer could not be answered.") from None
    # The slots: Kelas's own, each with its section of the answer (answer.py).
    taken = offered_ssrcs(offer_sdp) | {t.sender._ssrc for t in transceivers}
    taken |= {t.receiver._RTCRtpReceiver__rtcp_ssrc for t in transceivers}  # type: ignore[attr-defined]
    downs = plan(offer, offer_mids, CODECS, PAYLOAD_TYPES, taken)
    transport = transceivers[0].receiver.transport
    stamped = {e.uri for e in transceivers[1]._headerExtensions}  # what aiortc takes for video
    for index, down in enumerate(downs):
        kind: Kind = "audio" if index < slots else ("video" if index < 2 * slots else "screen")
        number = index % slots if kind != "screen" else 0
        send_time_id = 0
        if kind != "audio" and ABS_SEND_TIME in stamped:
            send_time_id = next((i for i, uri in down.extensions if uri == ABS_SEND_TIME), 0)
        slot = Slot(
            transport, kind, down.ssrc, down.payload_type, down.clock_rate,
            f"{peer.gate.label}, {kind} slot {number}",
            downlink=peer.downlink, paced=peer.paced, send_time_id=send_time_id,
            red_payload_type=down.red_payload_type,
        )  # fmt: skip
        taker = RtcpTaker()
        takes_rtcp(taker, slot_rtcp_handler(slot, peer.heard))
        transport._rtp_router.register_sender(taker, down.ssrc)  # type: ignore[arg-type]
        if kind == "audio":
            peer.audio_slots.append(slot)
        elif kind == "video":
            peer.video_slots.append(slot)
        else:
            peer.screen_slot = slot
    peer.report()  # the first SRs go out once slots have forwarded something
    answer = with_slots(pc.localDescription.sdp, offer_mids, downs, cname_of(pc))
    return answer_layers(munge_answer(answer), 1, layers)


def parse_candidate(text: str) -> RTCIceCandidate | None:
    """A trickled candidate (``candidate:...``), checked as the offer's are; "" is the end of
    candidates (None)."""
    if not text:
        return None
    try:
        parsed = candidate_from_sdp(text.removeprefix("candidate:"))
    except Exception:  # aiortc's parser asserts, indexes and converts without checking
        raise InvalidInput(BAD_CANDIDATE) from None
    if not usable(parsed):
        raise InvalidInput(BAD_CANDIDATE)
    return parsed


async def add_candidate(peer: Peer, trickled: Trickled) -> None:
    """Give a trickled candidate, or the end of candidates, to the peer's ICE transport. The
    end matters: until it, aioice never gives up, so a peer with no path would not fail."""
    candidate = trickled.candidate
    if candidate is not None:
        # The offer is BUNDLEd (max-bundle): every section shares the first section's
        # transport, whichever section the browser names (aiortc would ignore the others).
        candidate = copy.copy(candidate)
        candidate.sdpMid, candidate.sdpMLineIndex = None, 0
    try:
        await peer.pc.addIceCandidate(candidate)
    except Exception as exc:  # an address that is no IP address, a closed connection, ...
        log.info("user %s: ICE candidate refused by aiortc: %r", peer.user_id, exc)
        raise InvalidInput(BAD_CANDIDATE) from None


def watch(peer: Peer, failed: Callable[[str], None]) -> None:
    """When ICE or DTLS fails (no path to the browser, a certificate that does not match its
    fingerprint), close the peer connection, then tell ``failed`` which: "ice" or "dtls"."""
    pc = peer.pc

    @pc.on("connectionstatechange")
    async def changed() -> None:
        if pc.connectionState != "failed":
            return
        reason = "ice" if pc.iceConnectionState == "failed" else "dtls"
        log.info("media of user %s failed (%s)", peer.user_id, reason)
        await peer.close()
        failed(reason)
