"""The slots' half of the answer, written by Kelas: aiortc negotiates only a person's own media.

An offer has three sections up (microphone, camera, screen) and 2N + 1 down, the slots
(peer.py). aiortc gets the three up sections alone. For each of them it builds a
transceiver, a sender and a receiver, with their events, queues, tasks and statistics,
about 20 KB each (issue 11: memory); a slot needs none of that, since C numbers, protects
and sends its packets, and its RTCP is routed to Kelas's handler. So the slots' sections of
the answer are written here, in aiortc's own form (its ``MediaDescription``), from the
section aiortc answered for the same kind: the same transport (the sections are bundled),
the codec and the header extensions this section offered among those aiortc took, sendonly,
and the slot's own SSRC with the connection's CNAME (its sender reports name it).
"""

from __future__ import annotations

import copy
import dataclasses
import random
import re
import uuid
from dataclasses import dataclass

from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
)
from aiortc.sdp import MediaDescription, SessionDescription, SsrcDescription

from classroom.errors import N_, InvalidInput
from signaling.media import red

UP_SECTIONS = 3
MID = re.compile(r"[A-Za-z0-9_.~+-]{1,32}")  # a token (RFC 8843), as browsers write them
NOT_BUNDLED = N_("The media offer must bundle all its sections.")


@dataclass(frozen=True)
class Down:
    """One slot's section: what the slot sends with, and how the answer says it."""

    mid: str
    kind: str  # "audio" or "video"
    mime: str  # its codec: "audio/opus" or "video/vp8"
    payload_type: int
    clock_rate: int
    ssrc: int
    extensions: tuple[tuple[int, str], ...]  # (id, uri), as this section offered them
    feedback: tuple[tuple[str, str | None], ...]  # RTCP feedback offered for the codec
    red_payload_type: int = 0  # audio: the section's RED of that Opus (red.py), 0: none


def mids(offer: SessionDescription) -> list[str]:
    """The offer's mids, checked: one per section, well-formed, distinct, and all in one
    BUNDLE group (the page bundles everything: the slots share the first transport)."""
    found = [m.rtp.muxId or "" for m in offer.media]
    if not all(MID.fullmatch(mid) for mid in found) or len(set(found)) != len(found):
        raise InvalidInput(NOT_BUNDLED)
    groups = [set(map(str, g.items)) for g in offer.group if g.semantic == "BUNDLE"]
    if len(groups) != 1 or groups[0] != set(found):
        raise InvalidInput(NOT_BUNDLED)
    return found


def up_offer(sdp: str, offer_mids: list[str]) -> str:
    """The offer as aiortc gets it: the session and the first three sections, bundled."""
    lines = sdp.splitlines()
    starts = [at for at, line in enumerate(lines) if line.startswith("m=")]
    end = starts[UP_SECTIONS] if len(starts) > UP_SECTIONS else len(lines)
    bundle = "a=group:BUNDLE " + " ".join(offer_mids[:UP_SECTIONS])
    kept = [bundle if line.startswith("a=group:BUNDLE") else line for line in lines[:end]]
    return "\r\n".join(kept) + "\r\n"


def plan(
    offer: SessionDescription, offer_mids: list[str], codecs: dict[str, str],
    payload_types: frozenset[int], taken: set[int],
) -> list[Down]:  # fmt: skip
    """Each slot's section of ``offer`` (read_offer checked their kinds, directions and
    codecs; ``offer_mids`` are its mids, as ``mids`` read them): the codec it must use
    (``codecs``: kind -> mime type) with a payload type among ``payload_types``, and an SSRC
    none of ``taken`` has (the connection's own, those the offer announced)."""
    downs: list[Down] = []
    used = set(taken) | {0}
    for media, mid in zip(offer.media[UP_SECTIONS:], offer_mids[UP_SECTIONS:], strict=True):
        codec = next(
            c
            for c in media.rtp.codecs
            if c.mimeType.lower() == codecs[media.kind] and c.payloadType in payload_types
        )
        opus = int(codec.payloadType or 0)
        redundant = red.offered(media, opus, payload_types) if media.kind == "audio" else None
        ssrc = 0
        while ssrc in used:
            ssrc = random.getrandbits(32)
        used.add(ssrc)
        downs.append(
            Down(
                mid, media.kind, codecs[media.kind], int(codec.payloadType or 0),
                codec.clockRate, ssrc,
                tuple((h.id, h.uri) for h in media.rtp.headerExtensions),
                tuple((f.type, f.parameter) for f in codec.rtcpFeedback),
                int(redundant.payloadType or 0) if redundant else 0,
            )
        )  # fmt: skip
    return downs


def offered_ssrcs(sdp: str) -> set[int]:
    """The SSRCs an offer announces (a=ssrc lines): a slot's must be another."""
    found = set()
    for line in sdp.splitlines():
        if line.startswith("a=ssrc:"):
            number = line[7:].split(" ", 1)[0]
            if number.isdigit():
                found.add(int(number))
    return found


def with_slots(local: str, offer_mids: list[str], downs: list[Down], cname: str) -> str:
    """aiortc's answer to the up sections, with a section for each slot after them and one
    BUNDLE group of every mid."""
    answer = SessionDescription.parse(local)
    templates: dict[str, MediaDescription] = {}
    for media in answer.media:
        templates.setdefault(media.kind, media)
    stream = (templates["audio"].msid or "-").split(" ")[0]
    written = [_section(templates[down.kind], down, stream, cname) for down in downs]
    bundle = "a=group:BUNDLE " + " ".join(str(g) for g in offer_mids)
    lines = [bundle if line.startswith("a=group:BUNDLE") else line for line in local.split("\r\n")]
    text = "\r\n".join(lines)
    if not text.endswith("\r\n"):
        text += "\r\n"
    return text + "".join(str(media) for media in written)


def _section(template: MediaDescription, down: Down, stream: str, cname: str) -> MediaDescription:
    media = copy.copy(template)  # the transport's attributes are shared: one, bundled
    taken = next(c for c in template.rtp.codecs if c.mimeType.lower() == down.mime)
    codec = dataclasses.replace(
        taken,
        payloadType=down.payload_type,
        rtcpFeedback=[f for f in taken.rtcpFeedback if (f.type, f.parameter) in down.feedback],
    )
    codecs = [codec]
    if down.red_payload_type:  # RED of this Opus, every block (red.py)
        blocks = f"{down.payload_type}/{down.payload_type}"
        codecs.append(
            RTCRtpCodecParameters(
                mimeType=red.RED, clockRate=codec.clockRate, channels=codec.channels,
                payloadType=down.red_payload_type, parameters={blocks: None},
            )
        )  # fmt: skip
    offered = {uri: number for number, uri in down.extensions}
    media.fmt = [c.payloadType for c in codecs]
    media.direction = "sendonly"
    media.msid = f"{stream} {uuid.uuid4()}"
    media.ssrc = [SsrcDescription(ssrc=down.ssrc, cname=cname)]
    media.ssrc_group = []
    media.rtp = RTCRtpParameters(
        codecs=codecs,
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=offered[h.uri], uri=h.uri)
            for h in template.rtp.headerExtensions
            if h.uri in offered
        ],
        muxId=down.mid,
    )
    return media
