"""Packet forwarding: each published stream (a Source) copies its RTP packets into the
subscribers' slots, rewriting only SSRC, sequence number, timestamp and payload type.

Nothing is decoded, depacketised or re-encoded. Each packet is serialised once per
subscriber as a 12-byte header (20 with abs-send-time) plus the untouched payload and
protected once by that subscriber's SRTP context, in C (native/fanout.c), in one call for
all the slots that flow. Loss is repaired end to end, within a budget (repair.py): the
browser NACKs a slot, the slot answers from its source's history (the packet built again
with the slot's numbering) as far as the subscriber's resend budget allows, gaps that came
from upstream are NACKed to the publisher (and again on a timer), and keyframe requests are
merged per publisher. A slot can be paused (the subscriber's downlink budget, budget.py): it
then sends nothing, and starts again from a keyframe.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    unpack_remb_fci,
)

from signaling.media.downlink import Downlink
from signaling.media.native import ffi, lib
from signaling.media.pacer import PacedWire
from signaling.media.quality import Block
from signaling.media.repair import RESEND_AGAIN_S, Gaps, KeyframeRequests
from signaling.media.reports import DOWNSTREAM_FRESH_S, Upstream
from signaling.media.wire import Out

log = logging.getLogger(__name__)
Kind = Literal["audio", "video", "screen"]
# Packets kept per video source for retransmission: the last 256, and none older than
# KL_KEEP_S (1 s; a browser's NACKs stop mattering after a few round trips). Audio keeps none:
# aiortc's Opus negotiates no NACK. Kept once per source, not per slot (native/fanout.c:
# a resend is built again with the slot's numbering): per slot, history was most of a
# full class's memory.
HISTORY = int(lib.KL_KEEP)
KL_WAIT, KL_NOROUTE, KL_MAX = int(lib.KL_WAIT), int(lib.KL_NOROUTE), int(lib.KL_MAX)
_REBUILT = ffi.new("uint8_t[]", KL_MAX)  # a resend built again (kl_rebuild), copied at once
REMB_EVERY_S = 1.0
BITRATE_ALPHA = 0.3  # weight of a new sample of a stream's bitrate: keyframes come in bursts
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


@dataclass(eq=False)
class Slot:
    """One downstream sender of a subscriber: shows one publisher's stream at a time.

    Its numbering, its history, its counts and the sending of each packet are C's
    (``c``, a ``kl_slot`` of native/fanout.c): the slot's own sequence numbers and
    timestamps are continuous across the sources it shows. The browser sees one stream per
    slot: when the slot switches to another publisher (or the same publisher restarts, or
    the slot starts again from a keyframe after a pause), numbering continues from where it
    was, one packet on, and the timestamp moves on by the wall-clock time that passed, so
    the jitter buffer neither waits for missing packets nor plays the new picture late. A
    retransmitted or reordered packet maps to the number it had; one from before the first
    packet after a switch maps to nothing (its number went to another packet).
    """

    transport: RTCDtlsTransport  # the subscriber's, bundled
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
    # Audio: the payload type of RED (RFC 2198) in the subscriber's offer for this slot, 0 if
    # it offered none. While C's copy (c.red_payload_type) says so, a publisher's RED goes to
    # it as it is; else its primary block alone (red.py: while the subscriber's link loses).
    red_payload_type: int = 0
    source: Source | None = None
    pending: Source | None = None  # another layer of the same camera, from its next keyframe
    _waiting: bool = False  # for a keyframe (waiting_keyframe)
    _paused: bool = False  # by the subscriber's downlink budget (or their audio-only choice)
    out: Out = field(init=False)  # the subscriber's way out (their DTLS transport, bundled)
    c: Any = field(init=False)  # the kl_slot
    _connected: bool = False
    # When each history index (seq % HISTORY) was last resent: only those ever resent.
    _resent_at: dict[int, float] = field(default_factory=dict)
    loss: int = 0  # the subscriber's latest fraction lost for this slot, in 1/256
    loss_at: float = -math.inf

    def __post_init__(self) -> None:
        self.out = Out.of(self.transport)
        c = self.c = ffi.gc(lib.kl_slot_new(), lib.kl_slot_free)
        if c == ffi.NULL:  # pragma: no cover
            raise MemoryError
        c.out, c.ssrc, c.payload_type = self.out.c, self.ssrc, self.payload_type
        c.send_time_id, c.clock_rate = self.send_time_id, self.clock_rate
        c.audio = self.kind == "audio"
        if self.paced is not None:
            self.paced.attach(self.out)
            c.bucket = self.paced.pacer.bucket
        self._leave = self._leave_now  # bound once: the pacer is handed it per packet

    @property
    def waiting_keyframe(self) -> bool:
        return self._waiting

    @waiting_keyframe.setter
    def waiting_keyframe(self, waiting: bool) -> None:
        if waiting != self._waiting:
            self._waiting = waiting
            self._regroup()

    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        if paused != self._paused:
            self._paused = paused
            self._regroup()

    @property
    def flowing(self) -> bool:
        """Whether its source's packets go to it in C's loop (Source.on_rtp): neither paused
        nor waiting for a keyframe, which Python looks after."""
        return not self._paused and not self._waiting

    def _regroup(self) -> None:
        if self.source is not None:
            self.source.regroup()

    # What the slot forwarded, for its sender reports and the subscriber's link (C counts).
    @property
    def packets(self) -> int:
        return int(self.c.packets)

    @property
    def octets(self) -> int:
        return int(self.c.octets)

    @property
    def sr_rtp(self) -> int:
        """The RTP timestamp of the last frame forwarded (lip sync, round trip)."""
        return int(self.c.sr_rtp)

    @property
    def sr_at(self) -> float:
        """When it was forwarded (monotonic)."""
        return float(self.c.sr_at)

    def attach(self, source: Source | None) -> None:
        """Show ``source`` in this slot from its next keyframe on (audio at once)."""
        self._cancel_switch()
        if source is self.source:
            return
        if self.source is not None:
            self.source.slots.discard(self)
            self.source.regroup()
        self._show(source)
        log.debug("%s shows %s", self.label, f"user {source.publisher_id}" if source else "nobody")
        if source is not None:
            source.slots.add(self)
            source.regroup()
            self.waiting_keyframe = self.kind != "audio"
            # Before the subscriber's connection is up, a keyframe would reach nobody: the
            # slot asks once it is up (forward), sooner than others may (repair.py).
            if self.waiting_keyframe and not self.paused and self.out.connected:
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
            self.source.regroup()
        self._show(source)
        source.slots.add(self)
        source.regroup()
        log.debug("%s switches layer", self.label)
        self.forward(packet, True, now)

    def _show(self, source: Source | None) -> None:
        self.source = source
        self.c.fresh = 1
        history = source.history if source is not None else None
        self.c.history = history if history is not None else ffi.NULL

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
        self.c.fresh = 1
        if self.source is not None and not self.paused:
            self.source.want_keyframe()

    def forward(self, packet: RtpPacket, keyframe: bool, now: float, red: Any = ffi.NULL) -> None:
        """Send ``packet`` (``red``: what kl_red_read read of it, if it is RED)."""
        if self.paused:
            return
        if self.waiting_keyframe:
            if not self.out.connected:
                return  # a keyframe sent before DTLS is up would be lost: wait for the next
            if not self._connected:
                self._connected = True
                if not keyframe and self.source is not None:
                    self.source.keyframes.joined()  # just came up: ask now (repair.py)
            if not keyframe:
                return
            self.waiting_keyframe = False
            self.c.restarted = -1
        payload = packet.payload
        result = lib.kl_forward(
            self.c, payload, len(payload), red, packet.sequence_number, packet.timestamp,
            packet.marker, now,
        )  # fmt: skip
        if result == KL_WAIT:
            self.held()
        elif result == KL_NOROUTE:
            self.disconnected()

    def held(self) -> None:
        """The packet just built found the pacer's bucket empty (KL_WAIT): C holds it in the
        pacer's queue (only video waits), whose timer must run."""
        if self.paced is not None:
            self.paced.arm()

    def waits(self) -> bool:
        """Whether a keyframe from its source would show something now: the slot waits
        for one, and is neither paused nor still connecting."""
        return self.waiting_keyframe and not self.paused and self.out.connected

    def retransmit(self, lost: list[int]) -> None:
        """Resend what the subscriber NACKed, from history, within its resend budget. A
        packet is resent at most once per RESEND_AGAIN_S however often it is asked for, and
        never one from before the keyframe the slot last started again from (the picture no
        longer needs it); when the budget refuses, resends would not catch up: a video slot
        waits for a keyframe."""
        restarted = self.c.restarted
        if self.paused or self.waiting_keyframe or restarted < 0 or self.kind == "audio":
            return  # what it asks for is older than what it will get next (or audio)
        now = time.monotonic()
        refused = 0
        for seq in lost:
            index = seq % HISTORY
            size = lib.kl_rebuild(self.c, seq & 0xFFFF, now, _REBUILT)
            if (
                not size
                or (seq - restarted) & 0xFFFF >= 0x8000
                or now - self._resent_at.get(index, -math.inf) < RESEND_AGAIN_S
            ):
                continue
            if not self.downlink.may_resend(size, now):
                refused += 1
                continue
            self._resent_at[index] = now
            self._out(ffi.buffer(_REBUILT, size)[:], now, resend=True)
        if refused:
            log.debug("%s: %d of %d resends refused", self.label, refused, len(lost))
            self.await_keyframe()

    def heard_loss(self, fraction_lost: int, now: float) -> None:
        self.loss, self.loss_at = fraction_lost, now

    def _out(self, data: bytes, now: float, resend: bool) -> None:
        if self.paced is None:
            self._leave_now(data, resend and self.send_time_id != 0)
        else:
            self.paced.send(self._leave, data, now, audio=self.kind == "audio",
                            stamp=self.send_time_id != 0, resend=resend)  # fmt: skip

    def _leave_now(self, data: bytes, stamp: bool) -> None:
        try:
            self.out.send(data, stamp, time.monotonic())
        except ConnectionError:
            self.disconnected()

    def disconnected(self) -> None:
        # Not connected (yet, or any more): video starts again from a keyframe; audio just
        # goes on once it is (nothing to log for each of its packets meanwhile).
        if self.kind != "audio" and not self.waiting_keyframe:
            log.debug("%s: not connected, waiting for a keyframe", self.label)
            self.waiting_keyframe = True


@dataclass(eq=False)
class Source:
    """One publisher's stream of one kind, as it arrives at the server."""

    publisher_id: int
    kind: Kind
    # RTCP to the publisher; called on the packet path, they send later (never wait)
    request_keyframe: Callable[[int], None]
    request_retransmit: Callable[[int, list[int]], None]
    send_remb: Callable[[int, int], None] | None = None
    on_level: Callable[[int, int, int], None] | None = None  # publisher, -dBov, timestamp
    max_bitrate: int = 0  # the server's plan for this stream, sent upstream as REMB
    # A microphone's RED (RFC 2198) payload type, as negotiated with the publisher (-1:
    # none): each packet of it carries the previous frame again (forward, kl_red_read).
    red_payload_type: int = -1
    unreadable: int = 0  # RED packets that were not RED, dropped
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
    # The slots as on_rtp sends to them: in C's loop (``_fan``, ``_flowing``), or each
    # through Slot.forward (``_others``: waiting for a keyframe); rebuilt after a change.
    _regrouped: bool = False
    _flowing: list[Slot] = field(default_factory=list)
    _others: list[Slot] = field(default_factory=list)
    _fan: Any = None
    _results: Any = None
    _red: Any = None  # the kl_red that a RED packet is read into
    history: Any = None  # what it received, for its slots' NACKs (video; kl_history)
    _last_remb: float = 0.0
    _measured: tuple[int, float] | None = None  # octets_in and when, at the last measure

    def __post_init__(self) -> None:
        if self.kind == "audio":
            self._red = ffi.new("kl_red *")
        else:
            self.history = ffi.gc(lib.kl_history_new(), lib.kl_history_free)
            if self.history == ffi.NULL:  # pragma: no cover
                raise MemoryError

    def want_keyframe(self) -> None:
        self.keyframes.want()

    def regroup(self) -> None:
        """A slot came, went, paused, resumed, waits for a keyframe or stopped waiting."""
        self._regrouped = False

    def _group(self) -> None:
        self._flowing = [slot for slot in self.slots if slot.flowing]
        self._others = [slot for slot in self.slots if not slot.flowing and not slot.paused]
        self._fan = ffi.new("kl_slot *[]", [slot.c for slot in self._flowing])
        self._results = ffi.new("uint8_t[]", len(self._flowing))
        self._regrouped = True

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

    def on_rtp(self, packet: RtpPacket) -> None:
        """In place of aiortc's receiver handler (inbound.py): forward instead of
        jitter-buffering and decoding."""
        (self.upstream.get(packet.ssrc) or self._stream(packet.ssrc)).add(packet.sequence_number)
        self.ssrc = packet.ssrc
        self.packets_in += 1
        self.octets_in += len(packet.payload)
        now = time.monotonic()
        if self.kind != "audio":
            self._gaps.received(packet.sequence_number, now)
            lost = self._gaps.due(now, self.rtt)
            if lost:
                self.request_retransmit(packet.ssrc, lost)
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
                self.send_remb(packet.ssrc, layers)
        if not self.forwarding or not (self.slots or self.joining):
            return
        if not self._regrouped:
            self._group()
        payload = packet.payload
        red = ffi.NULL
        if packet.payload_type == self.red_payload_type:
            red = self._red
            if lib.kl_red_read(payload, len(payload), red) < 0:
                self.unreadable += 1
                if self.unreadable == 1:
                    log.info("user %s sent RED that is not RED: dropped", self.publisher_id)
                return
        keyframe = self.kind != "audio" and vp8_keyframe_start(payload)
        if self.kind != "audio":
            self._keyframe_requests(keyframe)
        if self.history is not None:
            lib.kl_history_add(self.history, payload, len(payload), packet.sequence_number,
                               packet.timestamp, packet.marker, now)  # fmt: skip
        for slot in self._others:
            slot.forward(packet, keyframe, now, red)
        flowing = self._flowing
        if flowing:
            flagged = lib.kl_fan(
                self._fan, len(flowing), payload, len(payload), red, packet.sequence_number,
                packet.timestamp, packet.marker, now, self._results,
            )  # fmt: skip
            if flagged:
                self._flagged()
        if keyframe and self.joining:
            for slot in list(self.joining):
                slot.take_over(self, packet, now)

    def _flagged(self) -> None:
        results = self._results
        for index, slot in enumerate(list(self._flowing)):
            if results[index] == KL_WAIT:
                slot.held()
            elif results[index] == KL_NOROUTE:
                slot.disconnected()

    def _keyframe_requests(self, keyframe: bool) -> None:
        """Ask the publisher for a keyframe when someone wants one or any slot still waits,
        at most once per KeyframeRequests.every_s, sooner for someone who just joined
        (repair.py)."""
        if keyframe:
            self.keyframes.arrived()
            return
        # The slots that wait for a keyframe are the grouped ``_others`` (not flowing, not
        # paused): asked of them alone, not of every slot for every packet.
        due = self.keyframes.due(
            time.monotonic(),
            lambda: bool(self.joining) or any(slot.waits() for slot in self._others),
        )
        if due and self.ssrc is not None:
            self.request_keyframe(self.ssrc)


def slot_rtcp_handler(slot: Slot, heard: Callable[[Block], None]) -> Callable[[Any], None]:
    """In place of aiortc's sender RTCP handler (inbound.py): NACKs are answered from the
    slot's history and keyframe requests go to the slot's current publisher (merged there);
    a REMB is the subscriber's estimate of its link (downlink.py); the subscriber's report
    blocks about this slot (in an RR, or in the SR of a browser that also sends) are
    ``heard`` for the quality estimate, and kept as this slot's loss (reports.py). aiortc's
    own handler is left out: it only kept statistics for getStats, which the server never
    reads (its round trip needs SRs that aiortc no longer sends: C does)."""

    def handle(packet: Any) -> None:
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
        elif isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for r in packet.reports:
                if r.ssrc == slot.ssrc:
                    slot.heard_loss(r.fraction_lost, time.monotonic())
                    heard(Block(r.ssrc, r.fraction_lost, r.highest_sequence, r.lsr, r.dlsr))

    return handle


class Wired:
    """One subscriber's slots as C walks them, for what is read of all of them every second
    or so (what they forwarded, their sender reports): one C call, not two attribute reads
    per slot (a subscriber has some 30 slots; at 64 subscribers, 12 % of the server's CPU).
    ``slots``: the audio slots first, ``audio`` of them."""

    def __init__(self, slots: list[Slot], audio: int) -> None:
        self.slots = slots
        self.audio = audio
        self.c: Any = ffi.new("kl_slot *[]", [slot.c for slot in slots])
        self._used: Any = ffi.new("kl_slot *[]", len(slots))
        self._totals: Any = ffi.new("unsigned long long[2]")

    def octets(self) -> tuple[int, int]:
        """What the audio slots and the video slots forwarded, in bytes."""
        lib.kl_octets(self.c, len(self.slots), self.audio, self._totals)
        return int(self._totals[0]), int(self._totals[1])

    def used(self) -> tuple[Any, int]:
        """The slots that forwarded something (a C array) and how many."""
        return self._used, int(lib.kl_used(self.c, len(self.slots), self._used))


def send_reports(slots: Wired, cname: bytes, sent: Callable[[int, int], None]) -> None:
    """The sender reports of one subscriber's slots (RFC 3550 6.4.1), in as few datagrams as
    fit (C's kl_reports): for each slot that forwarded something, the NTP time the report is
    sent at with the RTP timestamp of that instant, carried on from its last frame at its
    clock rate (as libwebrtc does; a browser lines up voice and picture by them), and its
    counts. A slot that never forwarded has nothing to report. Each SR is ``sent(ssrc,
    ntp)``: the round trip is measured from it."""
    used, count = slots.used()
    if not count:
        return
    now = time.monotonic()
    ntp = ntp_at(now)
    if lib.kl_reports(used[0].out, used, count, ntp, now, cname, len(cname)) > 0:
        for index in range(count):
            sent(int(used[index].ssrc), ntp)
