"""Audio redundancy: RED (RFC 2198), each voice packet carrying the previous frame again.

On a home link that loses packets at random, a lost voice packet is then rebuilt from the
next one, instead of being concealed. libwebrtc sends Opus in RED when the answer puts
``audio/red`` first, with ``a=fmtp:<red> <opus>/<opus>``; the page asks for it by listing RED
first in its audio sections (web/static/live/media.js).

aiortc knows no RED: ``accept`` adds it to what aiortc negotiated for the microphone, in the
place the offer gave it. A subscriber whose slot's section offered RED of the same Opus gets
the packets as they are (answer.py) while their link loses voice packets (``Redundancy``);
any other, and that one on a clean link, gets each packet's primary block alone, as plain
Opus (C's kl_red_read and kl_forward, native/fanout.c). The redundant copy costs a voice's
bitrate again while someone speaks (nothing in silence, with DTX): on a link that loses
nothing, it would only take room from the videos.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.sdp import MediaDescription

RED = "audio/red"
OPUS = "audio/opus"
MOST_BLOCKS = 3  # "o/o" (libwebrtc), up to "o/o/o": more would be mostly redundancy
LOSS_ON = 3  # a voice's report block saying this much lost (in 1/256: 1.2 %) turns RED on
HOLD_S = 10.0  # and it stays on this long after the last such report
FRESH_S = 1.5  # a report older than this says nothing about the link now (they come each ~1 s)


def offered(
    media: MediaDescription, opus: int, payload_types: Collection[int]
) -> RTCRtpCodecParameters | None:
    """``media``'s RED, if it offers one of Opus with payload type ``opus`` (its fmtp names
    that payload type for every block, 2 to MOST_BLOCKS of them) with a payload type among
    ``payload_types``."""
    for codec in media.rtp.codecs:
        if (
            codec.mimeType.lower() == RED
            and codec.clockRate == 48000
            and codec.payloadType in payload_types
            and codec.payloadType != opus
            and len(codec.parameters) == 1
        ):
            [(blocks, value)] = codec.parameters.items()
            listed = blocks.split("/")
            if value is None and 2 <= len(listed) <= MOST_BLOCKS and set(listed) == {str(opus)}:
                return codec
    return None


def accept(
    transceiver: RTCRtpTransceiver, media: MediaDescription, payload_types: Collection[int]
) -> int:
    """Add the RED that ``media`` (the microphone's section of the offer) offers to what
    aiortc negotiated for it, before Opus if the offer put it first (then the browser sends
    RED). Returns its payload type, or -1 when there is none to accept."""
    codecs = transceiver._codecs
    opus = next((c for c in codecs if c.mimeType.lower() == OPUS), None)
    if opus is None or opus.payloadType is None:
        return -1
    red = offered(media, opus.payloadType, payload_types)
    if red is None or any(c.payloadType == red.payloadType for c in codecs):
        return -1
    mimes = [c.mimeType.lower() for c in media.rtp.codecs]
    first = mimes.index(RED) < mimes.index(OPUS)
    accepted = dataclasses.replace(red, rtcpFeedback=[])
    at = codecs.index(opus)
    transceiver._codecs = codecs[:at] + [accepted] + codecs[at:] if first else [*codecs, accepted]
    return int(red.payloadType or 0)


@dataclass
class Redundancy:
    """Whether one subscriber gets the voices as RED now: while the report blocks of their
    audio slots show loss (at least LOSS_ON), and HOLD_S after. RED carries the loss it
    repairs in those blocks (a browser counts a packet rebuilt from the next one as lost),
    so a lossy link keeps it on. Pure: times are passed in."""

    until: float = -math.inf
    on: bool = False

    def look(self, losses: Sequence[tuple[int, float]], now: float) -> bool | None:
        """``losses``: each audio slot's latest fraction lost (1/256) and when it came.
        Returns the new state when it changed, else None."""
        if any(lost >= LOSS_ON and now - at <= FRESH_S for lost, at in losses):
            self.until = now + HOLD_S
        on = now < self.until
        if on == self.on:
            return None
        self.on = on
        return on


def switch(slots: Sequence[Any], on: bool) -> None:
    """Have C send these audio slots RED (each its own negotiated payload type) or not."""
    for slot in slots:
        slot.c.red_payload_type = slot.red_payload_type if on else 0
