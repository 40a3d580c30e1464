"""Packet forwarding: each published stream (a Source) copies its RTP packets into the
subscribers' slots, rewriting only SSRC, sequence number, timestamp and payload type.

Nothing is decoded, depacketised or re-encoded. Each packet is serialised once per
subscriber as a 12-byte header plus the untouched payload and protected once by that
subscriber's SRTP context. Loss is repaired end to end, within a budget (repair.py): the
browser NACKs a slot, the slot answers from its own history as far as the subscriber's
resend budget allows, gaps that came from upstream are NACKed to the publisher (and again on
a timer), and keyframe requests are merged per publisher. A slot can be paused (the
subscriber's downlink budget, budget.py): it then sends nothing, and starts again from a
keyframe.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSenderInfo,
    RtcpSrPacket,
    RtpPacket,
    unpack_remb_fci,
)

from signaling.media.downlink import Downlink
from signaling.media.pacer import PacedWire, stamped
from signaling.media.quality import Block
from signaling.media.repair import RESEND_AGAIN_S, Gaps, KeyframeRequests
from signaling.media.reports import DOWNSTREAM_FRESH_S, Upstream
from signaling.media.wire import Wire

log = logging.getLogger(__name__)
Kind = Literal["audio", "video", "screen"]
# Packets kept per video slot for retransmission: some 2 s of video at 1 Mbit/s, long past
# any use (a browser's NACKs stop mattering after a few round trips). Audio keeps none:
# aiortc's Opus negotiates no NACK. History was a third of a full class's memory at 512.
HISTORY = 256
REMB_EVERY_S = 1.0
BITRATE_ALPHA = 0.3  # weight of a new sample of a stream's bitrate: keyframes come in bursts
HEADER = struct.Struct("!BBHII")
# The same with one header extension (RFC 8285, one-byte form): abs-send-time, 3 bytes.
HEADER_SENT_AT = struct.Struct("!BBHIIHHI")
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
NTP_EPOCH = 2_208_988_800


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether an RTP VP8 payload (RFC 7741) begins a keyframe."""
    if not payload:
        return False
    first = payload[0]
    start, partition = first & 0x10, first & 0x07
    if not start or partition:
        return False
    offset = 1
    if first & 0x80:  # X: extension byte follows
        if len(payload) < 2:
            return False
        ext = payload[1]
        offset = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= offset:
                return False
            offset += 2 if payload[offset] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            offset += 1
        if ext & 0x30:  # T or K
            offset += 1
    return len(payload) > offset and payload[offset] & 0x01 == 0


def ntp_at(monotonic: float) -> int:
    """The NTP timestamp (RFC 3550: 32.32 fixed-point seconds since 1900) of a
    ``time.monotonic()`` reading."""
    at = time.time() - (time.monotonic() - monotonic) + NTP_EPOCH
    return (int(at) << 32) | int((at % 1) * (1 << 32))


@dataclass
class Renumbering:
    """A slot's own sequence numbers and timestamps, continuous across the sources it shows.

    The browser sees one stream per slot: when the slot switches to another publisher (or the
    same publisher restarts, or the slot starts again from a keyframe after a pause), numbering
    continues from where it was, one packet on, and the timestamp moves on by the wall-clock
    time that passed, so the jitter buffer neither waits for missing packets nor plays the new
    picture late. Both wrap (2^16 and 2^32); a retransmitted or reordered packet maps to the
    number it had and does not move "next". A packet older than the first one after a switch
    maps to nothing (None): its number was given to another packet before the switch.
    """

    clock_rate: int
    seq_offset: int = 0
    ts_offset: int = 0
    next_seq: int = 0
    last_ts: int = 0
    last_at: float | None = None
    fresh: bool = True
    base: int = 0  # the first source sequence number since the switch

    def switch(self) -> None:
        self.fresh = True

    def map(self, seq: int, ts: int, now: float) -> tuple[int, int] | None:
        if self.fresh:
            gap = int((now - self.last_at) * self.clock_rate) if self.last_at is not None else 0
            self.seq_offset = (self.next_seq - seq) & 0xFFFF
            self.ts_offset = (self.last_ts + max(gap, 1) - ts) & 0xFFFFFFFF
            self.base = seq
            self.fresh = False
        elif (seq - self.base) & 0xFFFF >= 0x8000:
            return None
        out_seq = (seq + self.seq_offset) & 0xFFFF
        out_ts = (ts + self.ts_offset) & 0xFFFFFFFF
        if (out_seq - self.next_seq) & 0xFFFF < 0x8000:  # newer than anything sent (RFC 3550)
            self.next_seq, self.last_ts = (out_seq + 1) & 0xFFFF, out_ts
        self.last_at = now
        return out_seq, out_ts


@dataclass(eq=False)
class Slot:
    """One downstream sender of a subscriber: shows one publisher's stream at a time."""

    sender: RTCRtpSender
    kind: Kind
    ssrc: int
    payload_type: int
    clock_rate: int
    label: str = ""  # whose slot this is, for the log: "user 5 in class 3, video slot 2"
    downlink: Downlink = field(default_factory=Downlink)  # the subscriber's, shared by slots
    paced: PacedWire | None = None  # the subscriber's pacer (pacer.py); None: no pacing
    # The abs-send-time extension's id in the subscriber's offer (0: not offered). Without
    # it a browser estimates its link (its REMB) from RTP timestamps, which are capture
    # times: the jitter of the publisher's own uplink would count against the subscriber's
    # link. Stamped when the server sends, it measures the server-to-subscriber path alone.
    send_time_id: int = 0
    source: Source | None = None
    pending: Source | None = None  # another layer of the same camera, from its next keyframe
    waiting_keyframe: bool = False
    paused: bool = False  # by the subscriber's downlink budget (or their audio-only choice)
    numbering: Renumbering = field(init=False)
    wire: Wire = field(init=False)  # the subscriber's way out (its DTLS transport, bundled)
    used: asyncio.Event = field(default_factory=asyncio.Event)  # set at the first packet sent
    _connected: bool = False
    _history: list[tuple[int, bytes] | None] = field(init=False)
    _resent_at: list[float] = field(init=False)
    _restarted: int | None = None  # the first sequence number sent since the last keyframe wait
    packets: int = 0
    octets: int = 0
    loss: int = 0  # the subscriber's latest fraction lost for this slot, in 1/256
    loss_at: float = -math.inf
    # For the slot's sender reports (lip sync, round trip): the RTP timestamp of the last
    # frame forwarded, and when (monotonic); read when a report is built, about once a second.
    sr_rtp: int = 0
    sr_at: float = 0.0

    def __post_init__(self) -> None:
        self.numbering = Renumbering(self.clock_rate)
        self.wire = Wire(self.sender.transport)
        kept = HISTORY if self.kind != "audio" else 0
        self._history, self._resent_at = [None] * kept, [-math.inf] * kept
        self._leave = self._leave_now  # bound once: the pacer is handed it per packet

    def attach(self, source: Source | None) -> None:
        """Show ``source`` in this slot from its next keyframe on (audio at once)."""
        self._cancel_switch()
        if source is self.source:
            return
        if self.source is not None:
            self.source.slots.discard(self)
        self.source = source
        self.numbering.switch()
        log.debug("%s shows %s", self.label, f"user {source.publisher_id}" if source else "nobody")
        if source is not None:
            source.slots.add(self)
            self.waiting_keyframe = self.kind != "audio"
            # Before the subscriber's connection is up, a keyframe would reach nobody: the
            # slot asks once it is up (forward), sooner than others may (repair.py).
            if self.waiting_keyframe and not self.paused and self.wire.connected:
                self._connected = True
                source.want_keyframe()

    def switch_layer(self, source: Source) -> None:
        """Show ``source``, another layer of the camera shown, without a gap: the layer shown
        goes on until the new one's next keyframe (asked for now), which the slot then
        continues with (``take_over``). A slot that shows nothing yet just attaches."""
        if source is self.source:
            self._cancel_switch()
            return
        if source is self.pending:
            return
        if self.source is None or self.waiting_keyframe or self.paused:
            self.attach(source)
            return
        self._cancel_switch()
        self.pending = source
        source.joining.add(self)
        source.want_keyframe()

    def take_over(self, source: Source, packet: RtpPacket, now: float) -> None:
        """``source``'s keyframe came: the slot shows it from this packet on."""
        self._cancel_switch()
        if self.source is not None:
            self.source.slots.discard(self)
        self.source = source
        source.slots.add(self)
        self.numbering.switch()
        log.debug("%s switches layer", self.label)
        self.forward(packet, True, now)

    def _cancel_switch(self) -> None:
        if self.pending is not None:
            self.pending.joining.discard(self)
            self.pending = None

    def pause(self, paused: bool) -> None:
        """Stop sending (the subscriber's budget), or start again from a keyframe."""
        if paused == self.paused:
            return
        self._cancel_switch()
        self.paused = paused
        log.debug("%s %s", self.label, "paused" if paused else "resumed")
        if not paused:
            self.await_keyframe()

    def await_keyframe(self) -> None:
        """Send nothing more until the publisher's next keyframe, and ask for one (merged
        with everyone else's asking, repair.py). Numbering goes on from the last packet sent,
        so the browser sees no gap to NACK."""
        if self.kind == "audio" or self.waiting_keyframe:
            return
        self.waiting_keyframe = True
        self.numbering.switch()
        if self.source is not None and not self.paused:
            self.source.want_keyframe()

    def forward(self, packet: RtpPacket, keyframe: bool, now: float) -> None:
        if self.paused:
            return
        if self.waiting_keyframe:
            if not self.wire.connected:
                return  # a keyframe sent before DTLS is up would be lost: wait for the next
            if not self._connected:
                self._connected = True
                if not keyframe and self.source is not None:
                    self.source.keyframes.joined()  # just came up: ask now (repair.py)
            if not keyframe:
                return
            self.waiting_keyframe = False
            self._restarted = None
        mapped = self.numbering.map(packet.sequence_number, packet.timestamp, now)
        if mapped is None:
            return
        seq, ts = mapped
        if self._restarted is None:
            self._restarted = seq
        second = (packet.marker << 7) | self.payload_type
        if self.send_time_id:
            # 6.18 fixed-point seconds, 24 bits; any clock will do, only differences count.
            sent_at = int(now * 262144) & 0xFFFFFF
            element = (self.send_time_id << 28) | (2 << 24) | sent_at  # id, length - 1, value
            data = HEADER_SENT_AT.pack(0x90, second, seq, ts, self.ssrc, 0xBEDE, 1, element)
        else:
            data = HEADER.pack(0x80, second, seq, ts, self.ssrc)
        data += packet.payload
        if self._history:
            self._history[seq % HISTORY] = (seq, data)
        self.packets += 1
        self.octets += len(packet.payload)
        if self.packets == 1:
            self.used.set()
        self._out(data, now, resend=False)
        if packet.marker or self.kind == "audio":
            self.sr_rtp, self.sr_at = ts, now

    def waits(self) -> bool:
        """Whether a keyframe from its source would show something now: the slot waits
        for one, and is neither paused nor still connecting."""
        return self.waiting_keyframe and not self.paused and self.wire.connected

    def retransmit(self, lost: list[int]) -> None:
        """Resend what the subscriber NACKed, from history, within its resend budget. A
        packet is resent at most once per RESEND_AGAIN_S however often it is asked for, and
        never one from before the keyframe the slot last started again from (the picture no
        longer needs it); when the budget refuses, resends would not catch up: a video slot
        waits for a keyframe."""
        if self.paused or self.waiting_keyframe or self._restarted is None or not self._history:
            return  # what it asks for is older than what it will get next (or audio)
        now = time.monotonic()
        refused = 0
        for seq in lost:
            index = seq % HISTORY
            kept = self._history[index]
            if (
                kept is None
                or kept[0] != seq
                or (seq - self._restarted) & 0xFFFF >= 0x8000
                or now - self._resent_at[index] < RESEND_AGAIN_S
            ):
                continue
            if not self.downlink.may_resend(len(kept[1]), now):
                refused += 1
                continue
            self._resent_at[index] = now
            self._out(kept[1], now, resend=True)
        if refused:
            log.debug("%s: %d of %d resends refused", self.label, refused, len(lost))
            self.await_keyframe()

    def heard_loss(self, fraction_lost: int, now: float) -> None:
        self.loss, self.loss_at = fraction_lost, now

    def _out(self, data: bytes, now: float, resend: bool) -> None:
        if self.paced is None:
            self._send(data)
        else:
            self.paced.send(self._leave, data, now, audio=self.kind == "audio",
                            stamp=self.send_time_id != 0, resend=resend)  # fmt: skip

    def _leave_now(self, data: bytes, stamp: bool) -> None:
        self._send(stamped(data, time.monotonic()) if stamp else data)

    def _send(self, data: bytes) -> None:
        try:
            self.wire.send(data)
        except ConnectionError:
            # Not connected (yet, or any more): start again from a keyframe.
            if not self.waiting_keyframe:
                log.debug("%s: not connected, waiting for a keyframe", self.label)
            self.waiting_keyframe = self.kind != "audio"


@dataclass(eq=False)
class Source:
    """One publisher's stream of one kind, as it arrives at the server."""

    publisher_id: int
    kind: Kind
    request_keyframe: Callable[[int], Awaitable[None]]
    request_retransmit: Callable[[int, list[int]], Awaitable[None]]
    send_remb: Callable[[int, int], Awaitable[None]] | None = None
    on_level: Callable[[int, int, int], None] | None = None  # publisher, -dBov, timestamp
    max_bitrate: int = 0  # the server's plan for this stream, sent upstream as REMB
    # A camera sent as simulcast (simulcast.py): this Source is its full layer, ``low`` its
    # small one (whose REMB this one sends: a browser shares one estimate among its layers).
    low: Source | None = None
    full: Source | None = None  # for a small layer: its camera's full layer
    sending: bool = True  # whether the publisher is asked to send it (a small layer may not)
    forwarding: bool = False
    slots: set[Slot] = field(default_factory=set)
    joining: set[Slot] = field(default_factory=set)  # slots that switch to it (switch_layer)
    ssrc: int | None = None
    packets_in: int = 0
    octets_in: int = 0  # payload bytes received, as a browser's estimate counts them
    bitrate: float = 0.0  # bits/s received, smoothed (measured by the SFU)
    rtt: float | None = None  # the publisher's round trip, seconds, when measured
    keyframes: KeyframeRequests = field(default_factory=KeyframeRequests)
    # What the receiver reports to the publisher (reports.py): aiortc's RR loop reads this
    # very dict (hooks.report_upstream), so it is changed in place, never replaced.
    upstream: dict[int, Upstream] = field(default_factory=dict)
    _gaps: Gaps = field(default_factory=Gaps)
    _last_remb: float = 0.0
    _measured: tuple[int, float] | None = None  # octets_in and when, at the last measure

    def want_keyframe(self) -> None:
        self.keyframes.want()

    def measure(self, now: float) -> None:
        """Update ``bitrate`` from what arrived since the last call (about every 0.4 s)."""
        if self._measured is not None and now > self._measured[1]:
            sample = 8 * (self.octets_in - self._measured[0]) / (now - self._measured[1])
            self.bitrate += BITRATE_ALPHA * (sample - self.bitrate)
        self._measured = (self.octets_in, now)

    def _stream(self, ssrc: int) -> Upstream:
        """A new SSRC (the first, or one that took over): its own report statistics (in
        place of the last one's: the layers of a simulcast camera share the dict)."""
        if self.ssrc is not None:
            self.upstream.pop(self.ssrc, None)
        self._gaps = Gaps()
        stream = self.upstream[ssrc] = Upstream(
            downstream=self._worst_downstream if self.kind == "audio" else lambda: 0
        )
        return stream

    def _worst_downstream(self) -> int:
        now = time.monotonic()
        fresh = (s.loss for s in self.slots if now - s.loss_at <= DOWNSTREAM_FRESH_S)
        return max(fresh, default=0)

    async def on_rtp(self, packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        """Replaces aiortc's receiver handler: forward instead of jitter-buffering and decoding."""
        (self.upstream.get(packet.ssrc) or self._stream(packet.ssrc)).add(packet.sequence_number)
        self.ssrc = packet.ssrc
        self.packets_in += 1
        self.octets_in += len(packet.payload)
        now = time.monotonic()
        if self.kind != "audio":
            self._gaps.received(packet.sequence_number, now)
            lost = self._gaps.due(now, self.rtt)
            if lost:
                await self.request_retransmit(packet.ssrc, lost)
        if self.kind == "audio":
            # Who speaks, from the RFC 6464 level: only a microphone the room forwards (a
            # muted student is heard by nobody, and speaks to nobody).
            level = packet.extensions.audio_level
            if self.forwarding and self.on_level and level is not None:
                self.on_level(self.publisher_id, level[1], packet.timestamp)
        elif self.send_remb and self.max_bitrate:
            if now - self._last_remb >= REMB_EVERY_S:
                self._last_remb = now
                low = self.low
                layers = self.max_bitrate + (low.max_bitrate if low and low.sending else 0)
                await self.send_remb(packet.ssrc, layers)
        if not self.forwarding or not (self.slots or self.joining):
            return
        keyframe = self.kind != "audio" and vp8_keyframe_start(packet.payload)
        if self.kind != "audio":
            await self._keyframe_requests(keyframe)
        for slot in list(self.slots):
            slot.forward(packet, keyframe, now)
        if keyframe and self.joining:
            for slot in list(self.joining):
                slot.take_over(self, packet, now)

    async def _keyframe_requests(self, keyframe: bool) -> None:
        """Ask the publisher for a keyframe when someone wants one or any slot still waits,
        at most once per KeyframeRequests.every_s, sooner for someone who just joined
        (repair.py)."""
        if keyframe:
            self.keyframes.arrived()
            return
        due = self.keyframes.due(
            time.monotonic(),
            lambda: bool(self.joining) or any(slot.waits() for slot in self.slots),
        )
        if due and self.ssrc is not None:
            await self.request_keyframe(self.ssrc)


def slot_rtcp_handler(
    slot: Slot, original: Callable[[Any], Awaitable[None]], heard: Callable[[Block], None]
) -> Callable[[Any], Awaitable[None]]:
    """Replaces aiortc's sender RTCP handler: NACKs are answered from the slot's history and
    keyframe requests go to the slot's current publisher (merged there); a REMB is the
    subscriber's estimate of its link (downlink.py); the subscriber's report blocks about
    this slot (in an RR, or in the SR of a browser that also sends) are ``heard`` for the
    quality estimate, kept as this slot's loss (reports.py), and keep their usual path too."""

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            slot.retransmit(packet.lost)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_FIR, RTCP_PSFB_PLI):
            if slot.source is not None and not slot.paused:
                slot.source.want_keyframe()
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, _ = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            slot.downlink.heard_remb(bitrate, time.monotonic())
        else:
            if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
                for r in packet.reports:
                    if r.ssrc == slot.ssrc:
                        slot.heard_loss(r.fraction_lost, time.monotonic())
                        heard(Block(r.ssrc, r.fraction_lost, r.highest_sequence, r.lsr, r.dlsr))
            await original(packet)

    return handle


def slot_report_sender(
    slot: Slot,
    original: Callable[[list[Any]], Awaitable[None]],
    sent: Callable[[int, int], None],
) -> Callable[[list[Any]], Awaitable[None]]:
    """Replaces aiortc's sender RTCP output: a slot that never forwarded anything has nothing
    to report, and the reports of dozens of idle slots per person cost real CPU. An SR says
    what the slot forwarded (its counts, and its last frame's RTP timestamp with the NTP time
    it left at, for lip sync), filled in here rather than in the sender at every packet.
    Each SR that leaves is ``sent(ssrc, ntp)``: the round trip is measured from it."""

    async def send(packets: list[Any]) -> None:
        if slot.packets:
            for packet in packets:
                if isinstance(packet, RtcpSrPacket):
                    packet.sender_info = RtcpSenderInfo(
                        ntp_timestamp=ntp_at(slot.sr_at),
                        rtp_timestamp=slot.sr_rtp,
                        packet_count=slot.packets & 0xFFFFFFFF,
                        octet_count=slot.octets & 0xFFFFFFFF,
                    )
                    sent(packet.ssrc, packet.sender_info.ntp_timestamp)
            await original(packets)

    return send
