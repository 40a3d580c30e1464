"""The media the SFU benchmark's bots publish, encoded once per run and never again.

Each stream is a WebM file with one VP8 track (a moving test pattern with a little temporal
noise, so that the encoder's rate control reaches its target the way a webcam does) and one
Opus track (pink noise: every 20 ms packet differs, as speech would, so that packets can be
told apart by their bytes). The camera plans are the app's own (``signaling.room``): the
tutor's 640x480 at 1 Mbit/s and 30 fps, a student's tile 320x240 at 300 kbit/s and 24 fps.
"""

from __future__ import annotations

import fractions
import math
from dataclasses import dataclass
from pathlib import Path

import av
from av.video.frame import PictureType

from signaling.room import LARGE, SMALL, SendPlan

AUDIO_RATE = 48_000
AUDIO_BITRATE = 32_000
VP8_MAX_PAYLOAD = 1300  # aiortc's VP8 packetiser splits frames into payloads this large


@dataclass(frozen=True)
class EncodedStream:
    """A prepared file and what it holds."""

    name: str
    path: Path
    plan: SendPlan
    seconds: float
    video_frames: int
    video_bytes: int
    keyframes: int
    audio_packets: int

    @property
    def video_kbits(self) -> float:
        return self.video_bytes * 8 / self.seconds / 1000

    @property
    def keyframe_interval(self) -> float:
        return self.seconds / max(self.keyframes, 1)


def encode(
    path: Path, name: str, plan: SendPlan, seconds: float, keyframe_interval_s: float
) -> EncodedStream:
    """Encode ``seconds`` of test pattern and noise into ``path`` (takes a second or two)."""
    fps = plan.framerate
    out = av.open(str(path), "w", format="webm")
    video = out.add_stream("libvpx", rate=fps)
    video.width, video.height, video.pix_fmt = plan.width, plan.height, "yuv420p"
    video.bit_rate = plan.max_bitrate
    video.codec_context.gop_size = max(1, round(keyframe_interval_s * fps))
    bitrate = str(plan.max_bitrate)
    video.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": bitrate,
        "maxrate": bitrate,
        "buf-size": bitrate,
        "max-intra-rate": "600",  # keyframes ~6x an average frame, as browsers keep them
        "static-thresh": "0",
    }
    audio = out.add_stream("libopus", rate=AUDIO_RATE)
    audio.layout = "mono"
    audio.bit_rate = AUDIO_BITRATE
    audio.options = {"frame_duration": "20", "application": "voip"}
    pattern = (
        f"testsrc2=size={plan.width}x{plan.height}:rate={fps}:duration={seconds},"
        "noise=alls=6:allf=t"
    )
    with av.open(pattern, format="lavfi") as source:
        for index, frame in enumerate(source.decode(video=0)):
            frame.pts, frame.time_base = index, fractions.Fraction(1, fps)
            frame.pict_type = PictureType.NONE  # lavfi marks every frame I: let the GOP decide
            out.mux(video.encode(frame))
    out.mux(video.encode(None))
    noise = f"anoisesrc=color=pink:amplitude=0.2:sample_rate={AUDIO_RATE}:duration={seconds}"
    with av.open(noise, format="lavfi") as source:
        for samples in source.decode(audio=0):
            samples.pts = None
            out.mux(audio.encode(samples))
    out.mux(audio.encode(None))
    out.close()
    return describe(path, name, plan, seconds)


def describe(path: Path, name: str, plan: SendPlan, seconds: float) -> EncodedStream:
    with av.open(str(path)) as container:  # packets must not outlive their container
        kinds = [(p.stream.type, p.size, p.is_keyframe) for p in container.demux() if p.size]
    video = [(size, key) for kind, size, key in kinds if kind == "video"]
    return EncodedStream(
        name=name,
        path=path,
        plan=plan,
        seconds=seconds,
        video_frames=len(video),
        video_bytes=sum(size for size, _ in video),
        keyframes=sum(1 for _, key in video if key),
        audio_packets=len(kinds) - len(video),
    )


def looped(stream: EncodedStream, path: Path, total_seconds: float) -> EncodedStream:
    """Repeat the stream's packets, without re-encoding, into one file of ``total_seconds``.

    aiortc's ``MediaPlayer(loop=True, decode=False)`` paces packets by their timestamps, which
    restart at 0 on each loop: from the second pass on it sends as fast as it can (aiortc
    issue #869). A long file whose timestamps keep growing plays at the right pace. Each
    repetition starts on a keyframe, so the VP8 stream stays decodable across the seams.
    """
    repeats = max(1, math.ceil(total_seconds / stream.seconds))
    out = av.open(str(path), "w", format="webm")
    with av.open(str(stream.path)) as source:
        templates = {s.index: out.add_stream_from_template(s) for s in source.streams}
        packets = [
            (p.stream.index, bytes(p), p.pts, p.is_keyframe, p.time_base)
            for p in source.demux()
            if p.size and p.pts is not None
        ]
    for repeat in range(repeats):
        for index, data, pts, keyframe, time_base in packets:
            period = round(stream.seconds / time_base)
            if pts >= period:
                continue  # the encoder's tail (audio padding) would overlap the next pass
            packet = av.Packet(data)
            packet.stream = templates[index]
            packet.time_base = time_base
            packet.pts = packet.dts = pts + repeat * period
            packet.is_keyframe = keyframe
            out.mux(packet)
    out.close()
    return EncodedStream(
        name=stream.name,
        path=path,
        plan=stream.plan,
        seconds=repeats * stream.seconds,
        video_frames=repeats * stream.video_frames,
        video_bytes=repeats * stream.video_bytes,
        keyframes=repeats * stream.keyframes,
        audio_packets=repeats * stream.audio_packets,
    )


def prepare(
    folder: Path, seconds: float, keyframe_interval_s: float, play_seconds: float | None = None
) -> dict[str, EncodedStream]:
    """The tutor's stream (``large``) and a student's (``small``), each encoded once as
    ``seconds`` of media; with ``play_seconds``, repeated into a file that long too (for
    MediaPlayer, which cannot loop them)."""
    streams = {}
    for name, plan in (("large", LARGE), ("small", SMALL)):
        once = encode(folder / f"{name}-once.webm", name, plan, seconds, keyframe_interval_s)
        if play_seconds is not None:
            once = looped(once, folder / f"{name}.webm", play_seconds)
        streams[name] = once
    return streams
