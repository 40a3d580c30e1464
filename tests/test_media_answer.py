"""The slots' sections of the answer, written by the server (signaling/media/answer.py), read
back as a browser reads them: one section per slot, in the offer's order and mids, sendonly,
with the codec and extensions that section offered and an SSRC of its own."""

from __future__ import annotations

import re

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import SessionDescription

from signaling.media.answer import mids, offered_ssrcs, plan, up_offer, with_slots
from signaling.media.peer import CODECS, PAYLOAD_TYPES, cname_of, munge_answer
from signaling.media.simulcast import sections
from tests.test_media_input import browser_like

SLOTS = 4


def renumbered(offer: str, old: int, new: int) -> str:
    """``offer`` with payload type ``old`` called ``new`` in every slot's section."""
    parts = offer.split("\r\nm=")
    for at in range(4, len(parts)):  # parts[0] is the session; 1-3 the sections up
        parts[at] = re.sub(rf"(?<=[ :]){old}\b", str(new), parts[at])
    return "\r\nm=".join(parts)


async def test_each_slot_is_answered_from_its_own_section() -> None:
    client = await browser_like(SLOTS)
    server = RTCPeerConnection()
    try:
        text = client.localDescription.sdp
        vp8 = int(re.findall(r"a=rtpmap:(\d+) VP8/90000", text)[-1])
        text = renumbered(text, vp8, 123)  # the slots offer VP8 under another number
        offer = SessionDescription.parse(text)
        offer_mids = mids(offer)
        await server.setRemoteDescription(
            RTCSessionDescription(up_offer(text, offer_mids), "offer")
        )
        await server.setLocalDescription(await server.createAnswer())
        assert len(server.getTransceivers()) == 3  # aiortc holds the person's own media alone
        own = {t.sender._ssrc for t in server.getTransceivers()}
        downs = plan(offer, offer_mids, CODECS, PAYLOAD_TYPES, offered_ssrcs(text) | own)
        answer = munge_answer(
            with_slots(server.localDescription.sdp, offer_mids, downs, cname_of(server))
        )
        parsed = SessionDescription.parse(answer)
        assert [str(i) for i in parsed.group[0].items] == offer_mids
        assert [m.rtp.muxId for m in parsed.media] == offer_mids
        slots = parsed.media[3:]
        assert [m.kind for m in slots] == ["audio"] * SLOTS + ["video"] * (SLOTS + 1)
        assert {m.direction for m in slots} == {"sendonly"}
        ssrcs = [m.ssrc[0].ssrc for m in slots]
        assert len(set(ssrcs)) == len(ssrcs) and not set(ssrcs) & (offered_ssrcs(text) | own)
        assert {m.ssrc[0].cname for m in slots} == {cname_of(server)}
        for down, media in zip(downs, slots, strict=True):
            (codec,) = media.rtp.codecs
            assert (down.ssrc, down.payload_type) == (media.ssrc[0].ssrc, codec.payloadType)
            if media.kind == "video":
                assert (codec.mimeType, codec.payloadType) == ("video/VP8", 123)
                assert {(f.type, f.parameter) for f in codec.rtcpFeedback} >= {
                    ("nack", None),
                    ("nack", "pli"),
                }
            else:
                assert codec.mimeType == "audio/opus" and "useinbandfec" in codec.parameters
            offered = {
                h.uri: h.id
                for h in offer.media[offer_mids.index(media.rtp.muxId)].rtp.headerExtensions
            }
            assert all(offered[h.uri] == h.id for h in media.rtp.headerExtensions)
        # The browser's side takes the answer: every slot receives, bundled on one transport.
        await client.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        assert {t.currentDirection for t in client.getTransceivers()[3:]} == {"recvonly"}
        assert len({t.receiver.transport for t in client.getTransceivers()}) == 1
        assert len(sections(answer)) == 3 + 2 * SLOTS + 1
    finally:
        await client.close()
        await server.close()
