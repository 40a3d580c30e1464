"""What the bots sent and received, packet by packet, and the figures made from it.

The SFU forwards each RTP payload unchanged (it rewrites only the 12-byte header), so a
payload's bytes identify it on both sides: VP8 payloads carry the sender's picture id, and
the Opus noise never repeats within a loop of the stream. Each publisher logs, per payload,
when it handed the packet to its DTLS transport and which frame it belongs to; each
subscriber looks its packets up there.

All times are ``time.perf_counter()`` in the benchmark process, where every bot runs.
"""

from __future__ import annotations

import collections
import math
import statistics
from dataclasses import dataclass, field

from aiortc.rtp import is_rtcp

from signaling.media.forwarding import vp8_keyframe_start

HORIZON_S = 8.0  # how long a sent payload stays matchable (well below the 10 s media loop)
AUDIO = -1  # frame number of audio packets


def rtp_payload(data: bytes) -> tuple[int, bool, bytes]:
    """SSRC, marker bit and payload of a serialised (unprotected) RTP packet."""
    first = data[0]
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
    end = len(data) - data[-1] if first & 0x20 else len(data)
    return int.from_bytes(data[8:12], "big"), bool(data[1] & 0x80), data[offset:end]


@dataclass(eq=False)
class SentLog:
    """Every RTP packet one publisher's peer connection sent."""

    video_ssrcs: set[int] = field(default_factory=set)
    audio_ssrcs: set[int] = field(default_factory=set)
    payloads: dict[bytes, tuple[float, int, int]] = field(default_factory=dict)
    frame_times: list[float] = field(default_factory=list)  # first packet of each frame
    frame_packets: list[int] = field(default_factory=list)
    first_sent: float | None = None
    audio_sent: int = 0
    packets_sent: int = 0
    rtcp: collections.Counter[str] = field(default_factory=collections.Counter)  # received
    _order: collections.deque[tuple[float, bytes]] = field(default_factory=collections.deque)
    _in_frame: bool = False

    def on_send(self, data: bytes, now: float) -> None:
        if is_rtcp(data):
            return
        ssrc, marker, payload = rtp_payload(data)
        if ssrc in self.video_ssrcs:
            if not self._in_frame:
                self.frame_times.append(now)
                self.frame_packets.append(0)
                self._in_frame = True
            frame = len(self.frame_times) - 1
            self.payloads[payload] = (now, frame, self.frame_packets[frame])
            self.frame_packets[frame] += 1
            self._in_frame = not marker
        elif ssrc in self.audio_ssrcs:
            self.payloads[payload] = (now, AUDIO, 0)
            self.audio_sent += 1
        else:
            return
        if self.first_sent is None:
            self.first_sent = now
        self.packets_sent += 1
        self._order.append((now, payload))
        if len(self._order) % 512 == 0:
            self._forget(now - HORIZON_S)

    def _forget(self, before: float) -> None:
        while self._order and self._order[0][0] < before:
            sent, payload = self._order.popleft()
            if self.payloads.get(payload, (None,))[0] == sent:
                del self.payloads[payload]

    def frames_between(self, start: float, end: float) -> range:
        """Frame numbers whose first packet was sent in [start, end)."""
        first = next((i for i, t in enumerate(self.frame_times) if t >= start), None)
        if first is None:
            return range(0)
        last = first
        while last < len(self.frame_times) and self.frame_times[last] < end:
            last += 1
        return range(first, last)


@dataclass
class Window:
    """The steady-state window; packets are counted only inside it."""

    start: float = math.inf
    end: float = math.inf  # until the window closes
    counting: bool = False  # arrival inside the window
    matching: bool = False  # until late packets of the window's last frames have arrived

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(eq=False)
class Reception:
    """What one subscriber received, from whom, and when."""

    window: Window
    joined_at: float = 0.0  # offer sent
    connected_at: float | None = None  # ICE and DTLS up
    packets: int = 0  # arrived inside the window
    audio_bytes: int = 0  # RTP (12-byte header and payload) arrived inside the window
    video_bytes: int = 0
    wire_bytes: int = 0  # every datagram (SRTP, SRTCP, DTLS) arrived inside the window
    all_bytes: int = 0  # every datagram arrived, in or out of the window
    unmatched: int = 0
    marker_frames: int = 0  # video frames ended inside the window (for re-encoded media)
    latencies: list[float] = field(default_factory=list)
    frames: dict[tuple[int, int], int] = field(default_factory=dict)  # (publisher, frame): mask
    first_keyframe: dict[int, float] = field(default_factory=dict)  # publisher: arrival

    def on_packet(
        self, now: float, publisher: int, log: SentLog | None, video: bool, payload: bytes, m: bool
    ) -> None:
        window = self.window
        if video and publisher not in self.first_keyframe and vp8_keyframe_start(payload):
            self.first_keyframe[publisher] = now
        if window.counting:
            self.packets += 1
            if video:
                self.video_bytes += 12 + len(payload)
                self.marker_frames += m
            else:
                self.audio_bytes += 12 + len(payload)
        if log is None or not window.matching:
            return
        sent = log.payloads.get(payload)
        if sent is None:
            self.unmatched += window.counting
            return
        sent_at, frame, index = sent
        if window.start <= sent_at < window.end:
            self.latencies.append(now - sent_at)
            if frame != AUDIO:
                key = (publisher, frame)
                self.frames[key] = self.frames.get(key, 0) | (1 << index)

    def frames_complete(self, publisher: int, log: SentLog) -> tuple[int, int]:
        """(complete frames received, frames sent) of ``publisher`` sent in the window."""
        sent = log.frames_between(self.window.start, self.window.end)
        complete = sum(
            1
            for frame in sent
            if self.frames.get((publisher, frame), 0) == (1 << log.frame_packets[frame]) - 1
        )
        return complete, len(sent)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]
