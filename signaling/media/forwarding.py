"""Packet forwarding: each published stream (a Source) copies its RTP packets into the
subscribers' slots, rewriting only SSRC, sequence number, timestamp and payload type.

Nothing is decoded, depacketised or re-encoded. Each packet is serialised once per
subscriber as a 12-byte header plus the untouched payload and protected once by that
subscriber's SRTP context. Loss is repaired end to end: the browser NACKs a slot, the slot
answers from its own history, and gaps that came from upstream are NACKed to the publisher.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
)

from signaling.media.hooks import set_sender_report
from signaling.media.quality import Block

log = logging.getLogger(__name__)
Kind = Literal["audio", "video", "screen"]
HISTORY = 512  # packets kept per slot for retransmission (~1.5 s of video at 1 Mbit/s)
KEYFRAME_RETRY_S = 0.5  # re-request a keyframe this often while any subscriber waits
KEYFRAME_FLOOR_S = 0.1  # a new reason to ask (a join, a PLI) may ask again this soon
REMB_EVERY_S = 1.0
HEADER = struct.Struct("!BBHII")
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


def ntp_now() -> int:
    now = time.time() + NTP_EPOCH
    return (int(now) << 32) | int((now % 1) * (1 << 32))


@dataclass
class Renumbering:
    """A slot's own sequence numbers and timestamps, continuous across the sources it shows.

    The browser sees one stream per slot: when the slot switches to another publisher (or the
    same publisher restarts), numbering continues from where it was, one packet on, and the
    timestamp moves on by the wall-clock time that passed, so the jitter buffer neither waits
    for missing packets nor plays the new picture late. Both wrap (2^16 and 2^32); a
    retransmitted or reordered packet maps to the number it had and does not move "next".
    """

    clock_rate: int
    seq_offset: int = 0
    ts_offset: int = 0
    next_seq: int = 0
    last_ts: int = 0
    last_at: float | None = None
    fresh: bool = True

    def switch(self) -> None:
        self.fresh = True

    def map(self, seq: int, ts: int, now: float) -> tuple[int, int]:
        if self.fresh:
            gap = int((now - self.last_at) * self.clock_rate) if self.last_at is not None else 0
            self.seq_offset = (self.next_seq - seq) & 0xFFFF
            self.ts_offset = (self.last_ts + max(gap, 1) - ts) & 0xFFFFFFFF
            self.fresh = False
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
    source: Source | None = None
    waiting_keyframe: bool = False
    numbering: Renumbering = field(init=False)
    _connected: bool = False
    _history: list[tuple[int, bytes] | None] = field(default_factory=lambda: [None] * HISTORY)
    packets: int = 0
    octets: int = 0

    def __post_init__(self) -> None:
        self.numbering = Renumbering(self.clock_rate)

    def attach(self, source: Source | None) -> None:
        """Show ``source`` in this slot from its next keyframe on (audio at once)."""
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
            if self.waiting_keyframe:
                source.want_keyframe(force=True)

    async def forward(self, packet: RtpPacket, keyframe: bool) -> None:
        if self.waiting_keyframe:
            if self.sender.transport.state != "connected":
                return  # a keyframe sent before DTLS is up would be lost: wait for the next
            if not self._connected and self.source is not None:
                self._connected = True  # ask now: the one asked for at attach went nowhere
                self.source.want_keyframe(force=True)
            if not keyframe:
                return
            self.waiting_keyframe = False
        seq, ts = self.numbering.map(packet.sequence_number, packet.timestamp, time.monotonic())
        data = HEADER.pack(0x80, (packet.marker << 7) | self.payload_type, seq, ts, self.ssrc)
        data += packet.payload
        self._history[seq % HISTORY] = (seq, data)
        self.packets += 1
        self.octets += len(packet.payload)
        await self._send(data)
        if packet.marker or self.kind == "audio":
            set_sender_report(self.sender, ntp_now(), ts, self.packets, self.octets)

    async def retransmit(self, lost: list[int]) -> None:
        log.debug("%s: %d packets asked again", self.label, len(lost))
        for seq in lost:
            kept = self._history[seq % HISTORY]
            if kept is not None and kept[0] == seq:
                await self._send(kept[1])

    async def _send(self, data: bytes) -> None:
        try:
            await self.sender.transport._send_rtp(data)
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
    on_level: Callable[[int, int], None] | None = None
    max_bitrate: int = 0  # the server's plan for this stream, sent upstream as REMB
    forwarding: bool = False
    slots: set[Slot] = field(default_factory=set)
    ssrc: int | None = None
    packets_in: int = 0
    _nacks: NackGenerator = field(default_factory=NackGenerator)
    _last_pli: float = 0.0
    _last_remb: float = 0.0
    _keyframe_due: bool = False

    def want_keyframe(self, force: bool = False) -> None:
        self._keyframe_due = self._keyframe_due or force

    async def on_rtp(self, packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        """Replaces aiortc's receiver handler: forward instead of jitter-buffering and decoding."""
        self.ssrc = packet.ssrc
        self.packets_in += 1
        if self.kind != "audio" and self._nacks.add(packet):
            await self.request_retransmit(packet.ssrc, sorted(self._nacks.missing))
        if self.kind == "audio" and self.on_level and packet.extensions.audio_level is not None:
            self.on_level(self.publisher_id, packet.extensions.audio_level[1])
        elif self.send_remb and self.max_bitrate:
            now = time.monotonic()
            if now - self._last_remb >= REMB_EVERY_S:
                self._last_remb = now
                await self.send_remb(packet.ssrc, self.max_bitrate)
        if not self.forwarding or not self.slots:
            return
        keyframe = self.kind != "audio" and vp8_keyframe_start(packet.payload)
        if self.kind != "audio":
            await self._keyframe_requests(keyframe)
        for slot in list(self.slots):
            await slot.forward(packet, keyframe)

    async def _keyframe_requests(self, keyframe: bool) -> None:
        """Ask the publisher for a keyframe while any subscriber waits for one: at once for a
        new request, then every KEYFRAME_RETRY_S, never more often."""
        if keyframe:
            self._keyframe_due = False
            return
        now = time.monotonic()
        since = now - self._last_pli
        due = self._keyframe_due and since >= KEYFRAME_FLOOR_S
        waiting = any(slot.waiting_keyframe for slot in self.slots) and since >= KEYFRAME_RETRY_S
        if (due or waiting) and self.ssrc is not None:
            self._last_pli = now
            self._keyframe_due = False
            await self.request_keyframe(self.ssrc)


def slot_rtcp_handler(
    slot: Slot, original: Callable[[Any], Awaitable[None]], heard: Callable[[Block], None]
) -> Callable[[Any], Awaitable[None]]:
    """Replaces aiortc's sender RTCP handler: NACKs are answered from the slot's history and
    keyframe requests go to the slot's current publisher; the subscriber's report blocks
    about this slot (in an RR, or in the SR of a browser that also sends) are ``heard`` for
    the quality estimate, and keep their usual path too."""

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            await slot.retransmit(packet.lost)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_FIR, RTCP_PSFB_PLI):
            if slot.source is not None:
                slot.source.want_keyframe(force=True)
        else:
            if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
                for r in packet.reports:
                    if r.ssrc == slot.ssrc:
                        heard(Block(r.ssrc, r.fraction_lost, r.highest_sequence, r.lsr, r.dlsr))
            await original(packet)

    return handle


def slot_report_sender(
    slot: Slot,
    original: Callable[[list[Any]], Awaitable[None]],
    sent: Callable[[int, int], None],
) -> Callable[[list[Any]], Awaitable[None]]:
    """Replaces aiortc's sender RTCP output: a slot that never forwarded anything has nothing
    to report, and the reports of dozens of idle slots per person cost real CPU. Each SR
    that leaves is ``sent(ssrc, ntp)``: the round trip is measured from it."""

    async def send(packets: list[Any]) -> None:
        if slot.packets:
            for packet in packets:
                if isinstance(packet, RtcpSrPacket):
                    sent(packet.ssrc, packet.sender_info.ntp_timestamp)
            await original(packets)

    return send
