"""Simulcast: a camera sent as two layers, the full picture and a small one (issue 11).

The browser offers them in its camera's media section (RFC 8853): ``a=rid:h send``,
``a=rid:l send`` and ``a=simulcast:send h;l``, the full layer first (``sendEncodings``, in
web/static/live/media.js). aiortc's SDP knows neither line, so the offer is read here and
the answer says ``a=rid:… recv`` and ``a=simulcast:recv …`` for the first LAYERS rids
offered; a browser sends only what the answer accepts. Each layer is its own SSRC, which the
offer does not name: the browser says which rid a stream is in the RTP header extension
``urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id`` (and the section in ``sdes:mid``), which
aiortc parses but does not negotiate by itself (``negotiate_rid``), and its router does not
route by mid (``route_by_mid``).

The server then forwards one layer to each subscriber, chosen by their downlink budget
(budget.py: the full layer is an upgrade on top of the small one), switching at keyframes
(forwarding.py: a slot that changes source waits for a keyframe of the new one).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from aiortc.codecs import HEADER_EXTENSIONS
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters
from aiortc.rtp import RtpPacket

from signaling.media.guard import Gate

RTP_STREAM_ID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
LAYERS = 2  # the full picture and a small one
RID = re.compile(r"[A-Za-z0-9_-]{1,16}")  # rid-syntax (RFC 8851), kept short
SIMULCAST = re.compile(r"a=simulcast:send ([^\s]+)")
RID_SEND = re.compile(r"a=rid:([^\s]+) send")
MAX_ROUTED = 8  # SSRCs a section may add by its mid: the layers, and a restart or two
TAKEOVER_S = 2.0  # a stream's SSRC changes only after this silence (here, and one_stream)

OnRtp = Callable[[RtpPacket], None]


def negotiate_rid() -> None:
    """Have aiortc accept the rtp-stream-id extension in video sections (idempotent; once,
    when the SFU starts)."""
    video = HEADER_EXTENSIONS["video"]
    if not any(e.uri == RTP_STREAM_ID for e in video):
        video.append(RTCRtpHeaderExtensionParameters(id=4, uri=RTP_STREAM_ID))


def sections(sdp: str) -> list[list[str]]:
    """The media sections of ``sdp``, as lines (the session part left out)."""
    found: list[list[str]] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            found.append([])
        if found:
            found[-1].append(line)
    return found


def offered_rids(section: list[str]) -> list[str]:
    """The layers a media section offers to send, in its order: none unless every rid is
    well-formed and announced, at most LAYERS, and never just one."""
    declared = {m.group(1) for line in section if (m := RID_SEND.fullmatch(line))}
    listed = next((m.group(1) for line in section if (m := SIMULCAST.fullmatch(line))), "")
    rids = [r for r in listed.split(";") if r]
    # "~h" would be a paused layer, "h,h2" alternatives: neither is what the page offers.
    if not rids or any(not RID.fullmatch(r) or r not in declared for r in rids):
        return []
    rids = list(dict.fromkeys(rids))[:LAYERS]
    return rids if len(rids) == LAYERS else []


def answer_layers(answer: str, index: int, rids: list[str]) -> str:
    """``answer`` with the media section at ``index`` receiving ``rids`` as simulcast."""
    if not rids:
        return answer
    lines = answer.split("\r\n")
    starts = [at for at, line in enumerate(lines) if line.startswith("m=")]
    if index + 1 < len(starts):
        at = starts[index + 1]
    else:  # the last section: before the empty string after the final CRLF
        at = len(lines) - 1 if lines and lines[-1] == "" else len(lines)
    extra = [f"a=rid:{rid} recv" for rid in rids] + [f"a=simulcast:recv {';'.join(rids)}"]
    return "\r\n".join(lines[:at] + extra + lines[at:])


def route_by_mid(transport: RTCDtlsTransport, mid: str) -> None:
    """Route RTP with an SSRC the offer did not name to the receiver of section ``mid`` when
    the packet says it belongs there (its sdes:mid extension), at most MAX_ROUTED times."""
    router = transport._rtp_router
    stock = router.route_rtp
    routed: set[int] = set()

    def route(packet: RtpPacket) -> Any:
        found = stock(packet)
        if found is None and packet.extensions.mid == mid and len(routed) < MAX_ROUTED:
            receiver = router.mid_table.get(mid)
            if receiver is not None:
                routed.add(packet.ssrc)
                router.ssrc_table[packet.ssrc] = receiver
                return receiver
        return found

    router.route_rtp = route  # type: ignore[method-assign]


def layered(layers: dict[str, OnRtp], gate: Gate) -> OnRtp:
    """A camera receiver's handler for a simulcast section: each SSRC goes to the layer its
    first packet names (rtp-stream-id); an SSRC that names no layer it offered, or none, is
    dropped. A layer keeps its SSRC until that has been silent for TAKEOVER_S."""
    ssrc_of: dict[str, tuple[int, float]] = {}  # rid -> SSRC, last packet
    rid_of: dict[int, str] = {}

    def handle(packet: RtpPacket) -> None:
        now = time.monotonic()
        rid = rid_of.get(packet.ssrc)
        if rid is None:
            named = packet.extensions.rtp_stream_id
            if named not in layers:
                gate.drop("was RTP of no layer the camera offered", quiet=True)
                return
            held = ssrc_of.get(named)
            if held is not None and now - held[1] < TAKEOVER_S:
                gate.drop("was RTP of a second stream for one layer", quiet=True)
                return
            if held is not None:
                rid_of.pop(held[0], None)
            rid = rid_of[packet.ssrc] = named
        ssrc_of[rid] = (packet.ssrc, now)
        layers[rid](packet)

    return handle
