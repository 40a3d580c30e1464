"""Encoded packets replayed from memory: what ``MediaPlayer(path, decode=False)`` does for a
publisher, with three differences that matter to a benchmark.

- Looping: MediaPlayer paces packets by their timestamps, which restart at 0 when it loops
  a file; from the second pass on it sends as fast as it can (aiortc issue #869). Here the
  timestamps keep growing, so the stream loops at its own pace.
- Keyframe requests: a browser's encoder answers a PLI or FIR with a keyframe; MediaPlayer
  cannot, so a subscriber would wait for the file's next keyframe. Here the video track skips
  ahead to the recording's next keyframe (pace and timestamps stay continuous, the stream
  stays decodable), so "join to first keyframe" measures the server, not the file.
- No thread: MediaPlayer demuxes in a thread per publisher and hands each packet to the
  event loop through ``run_coroutine_threadsafe``; 14 such threads share the GIL with the
  bots' event loop (in a class of 13 here: bench CPU 47 % instead of 41 %, loop lag up to
  10 ms instead of 5). The file is demuxed once and its packets shared.

aiortc's sender handles these ``av.Packet`` objects exactly as MediaPlayer's: ``pack()`` only,
no encoder. ``bench/sfu.py --player mediaplayer`` uses MediaPlayer instead.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.packet import Packet


@dataclass(frozen=True)
class Recorded:
    data: bytes
    pts: int
    keyframe: bool


@dataclass(frozen=True)
class Recording:
    """One file's packets per kind, demuxed once and shared by every player."""

    audio: list[Recorded]
    video: list[Recorded]
    time_base: dict[str, fractions.Fraction]
    period: dict[str, int]  # one loop, in time_base units

    @classmethod
    def load(cls, path: Path, seconds: float) -> Recording:
        packets: dict[str, list[Recorded]] = {"audio": [], "video": []}
        time_base: dict[str, fractions.Fraction] = {}
        with av.open(str(path)) as container:
            for packet in container.demux():
                kind: str = packet.stream.type
                if packet.size and packet.pts is not None and kind in packets:
                    time_base[kind] = packet.time_base
                    packets[kind].append(Recorded(bytes(packet), packet.pts, packet.is_keyframe))
        period = {kind: round(seconds / tb) for kind, tb in time_base.items()}
        for kind in packets:  # drop the encoder's tail past one loop (audio padding)
            packets[kind] = [p for p in packets[kind] if p.pts < period[kind]]
        return cls(packets["audio"], packets["video"], time_base, period)


class PacketReplay:
    """A publisher's microphone and camera, looping a recording; audio and video share one
    clock, started by the first packet either track sends."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self._start: float | None = None
        self.audio = ReplayTrack(self, "audio")
        self.video = ReplayTrack(self, "video")

    def start(self) -> float:
        if self._start is None:
            self._start = time.monotonic()
        return self._start


class ReplayTrack(MediaStreamTrack):
    def __init__(self, player: PacketReplay, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._player = player
        self._packets: list[Recorded] = getattr(player.recording, kind)
        self._time_base = player.recording.time_base[kind]
        self._period = player.recording.period[kind]
        self._next = 0
        self._skipped = 0  # time skipped to answer keyframe requests, in time_base units
        self._keyframe_wanted = False
        self.keyframes_forced = 0

    def request_keyframe(self) -> None:
        self._keyframe_wanted = True

    def _position(self, count: int) -> tuple[Recorded, int]:
        loops, index = divmod(count, len(self._packets))
        recorded = self._packets[index]
        return recorded, recorded.pts + loops * self._period

    def _skip_to_keyframe(self) -> None:
        self._keyframe_wanted = False
        recorded, pts = self._position(self._next)
        if recorded.keyframe:
            return
        target = next(  # a recording starts on a keyframe, so one is at most a loop away
            t
            for t in range(self._next + 1, self._next + len(self._packets) + 1)
            if self._position(t)[0].keyframe
        )
        self._skipped += self._position(target)[1] - pts
        self._next = target
        self.keyframes_forced += 1

    async def recv(self) -> Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        if self._keyframe_wanted:
            self._skip_to_keyframe()
        recorded, pts = self._position(self._next)
        self._next += 1
        pts -= self._skipped
        delay = self._player.start() + float(pts * self._time_base) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        packet: Packet[Any] = av.Packet(recorded.data)
        packet.pts = packet.dts = pts
        packet.time_base = self._time_base
        packet.is_keyframe = recorded.keyframe
        return packet
