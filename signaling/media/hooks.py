"""The aiortc (and aioice) internals Kelas relies on, checked at start-up so that an upgrade
fails loudly instead of silently decoding, dropping media, ignoring keyframe requests or
letting a bad datagram stop a peer's media.

aiortc is pinned exactly in pyproject.toml; aioice, which aiortc brings, is checked by the
shape of each hook. Tests forward real media, and send junk datagrams, through every hook.
"""

from __future__ import annotations

import dis
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiortc
import aiortc.codecs
import aiortc.rtcdtlstransport
import aiortc.rtcrtpreceiver
import aiortc.rtp
import pylibsrtp
from aioice.ice import CandidatePair, Connection, StunProtocol
from aiortc import RTCPeerConnection
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci
from pylibsrtp import Session

PINNED = "1.16.0"
REQUIRED = [
    (RTCRtpReceiver, "_handle_rtp_packet"),  # replaced per receiver: packets, not frames
    (RTCRtpReceiver, "_send_rtcp_pli"),  # keyframe requests to the publisher
    (RTCRtpReceiver, "_send_rtcp_nack"),  # retransmission requests to the publisher
    (RTCRtpReceiver, "_send_rtcp"),  # REMB to the publisher
    (RTCRtpSender, "_handle_rtcp_packet"),  # what the router calls: a slot's RtcpTaker's
    (RtpRouter, "register_sender"),  # a slot's SSRC -> its RtcpTaker (answer.py, peer.py)
    (RTCDtlsTransport, "_setup_srtp"),  # makes its SRTP sessions: C protects with _tx_srtp
    (RTCRtpReceiver, "_run_rtcp"),  # its RRs to the publisher read our statistics (reports.py)
    # guard.py: where datagrams enter
    (StunProtocol, "datagram_received"),  # replaced once: the ICE gate
    (RTCDtlsTransport, "_recv_next"),  # wrapped per transport: one bad datagram, not the loop
    (Connection, "data_received"),  # what is not STUN goes on as aioice would (inbound.py)
    # inbound.py: media taken at the socket, routed by aiortc's router to Kelas's handlers
    (RtpRouter, "route_rtcp"),
    (RTCRtpReceiver, "_handle_rtcp_packet"),  # a publisher's SRs and BYE: run at once
    (CandidatePair, "remote_addr"),  # a succeeded pair's address is trusted
    (Connection, "check_incoming"),  # and one that sent an authenticated binding request
    (CandidatePair.State, "SUCCEEDED"),
    # simulcast.py: the layers' SSRCs, which no offer names, routed by the section's mid
    (RtpRouter, "route_rtp"),
]
# Attributes set in __init__, read or replaced by guard.py.
INSTANCE_ATTRIBUTES: list[tuple[type[Any], str]] = [
    (StunProtocol, "receiver"),  # the socket's ICE connection
    (Connection, "_check_list"),  # its candidate pairs
    (CandidatePair, "protocol"),
    (CandidatePair, "state"),
    (RTCIceTransport, "_connection"),
    (RTCIceTransport, "_recv"),  # wrapped per transport: only DTLS and SRTP go on
    (RTCDtlsTransport, "_rx_srtp"),  # wrapped per transport: SRTP that fails is counted
    (RTCDtlsTransport, "_rtp_header_extensions_map"),  # inbound.py parses RTP with it
    # wire.py: forwarded packets are protected and sent in C, with the handshake's keys
    (RTCDtlsTransport, "_tx_srtp"),
    (RTCDtlsTransport, "_state"),
    (Connection, "_nominated"),
    # simulcast.py: route_by_mid reads and fills the router's tables
    (RTCDtlsTransport, "_rtp_router"),
    (RtpRouter, "mid_table"),
    (RtpRouter, "ssrc_table"),
]
AWAITS = {"GET_AWAITABLE", "GET_AITER", "GET_ANEXT", "BEFORE_ASYNC_WITH", "YIELD_VALUE"}
# What aiortc's RR loop reads of each stream's statistics (reports.Upstream provides them).
REPORTED = ("fraction_lost", "packets_lost", "max_seq", "jitter")


def check() -> None:
    """Raise RuntimeError unless every private hook is where this code expects it."""
    if aiortc.__version__ != PINNED:
        raise RuntimeError(
            f"Kelas forwards media through aiortc {PINNED} internals, not {aiortc.__version__}"
        )
    missing = [f"{cls.__name__}.{name}" for cls, name in REQUIRED if not hasattr(cls, name)]
    missing += [
        f"{cls.__name__}.{name}"
        for cls, name in INSTANCE_ATTRIBUTES
        if name not in cls.__init__.__code__.co_names
    ]
    if "transport" not in StunProtocol.connection_made.__code__.co_names:
        missing.append("StunProtocol.transport")
    if "local_candidate" not in getattr(StunProtocol, "__annotations__", {}):
        missing.append("StunProtocol.local_candidate")  # its component (guard.py)
    probe = RTCRtpTransceiver.__init__.__code__.co_names
    if any(name not in probe for name in ("_codecs", "_offerDirection", "_headerExtensions")):
        missing.append("RTCRtpTransceiver._codecs/_offerDirection/_headerExtensions")
    for name in ("certificates", "cname"):  # fingerprint_once; the SRs' CNAME (peer.py)
        if f"_RTCPeerConnection__{name}" not in RTCPeerConnection.__init__.__code__.co_names:
            missing.append(f"RTCPeerConnection.__{name}")
    if "_ssrc" not in RTCRtpSender.__init__.__code__.co_names:  # not a slot's SSRC (peer.py)
        missing.append("RTCRtpSender._ssrc")
    receiver_names = RTCRtpReceiver.__init__.__code__.co_names
    missing += [
        f"RTCRtpReceiver.__{name}"
        for name in ("rtcp_ssrc", "remote_streams", "decoder_queue")
        if f"_RTCRtpReceiver__{name}" not in receiver_names
    ]
    # Not built for the SFU's receivers (lean_receivers).
    for built in ("RemoteBitrateEstimator", "JitterBuffer"):
        if built not in receiver_names or not hasattr(aiortc.rtcrtpreceiver, built):
            missing.append(f"RTCRtpReceiver.__init__ building a {built}")
    # simulcast.py: aiortc negotiates the header extensions in this table, and parses rids.
    video = getattr(aiortc.codecs, "HEADER_EXTENSIONS", {}).get("video")
    if not isinstance(video, list) or not hasattr(aiortc.rtp.HeaderExtensions, "rtp_stream_id"):
        missing.append("aiortc.codecs.HEADER_EXTENSIONS['video'] / rtp_stream_id parsing")
    # wire.py: C protects with the transport's outbound pylibsrtp Session (its srtp_t).
    if not {"Session", "Policy", "_tx_srtp", "allow_repeat_tx"} <= set(
        RTCDtlsTransport._setup_srtp.__code__.co_names
    ):
        missing.append("RTCDtlsTransport._setup_srtp making _tx_srtp, a pylibsrtp Session")
    if "_srtp" not in Session.__init__.__code__.co_names:
        missing.append("pylibsrtp.Session._srtp")
    if not isinstance(getattr(pylibsrtp, "ERRORS", None), list):  # inbound.py: libsrtp's reasons
        missing.append("pylibsrtp.ERRORS")
    reads = RTCRtpReceiver._run_rtcp.__code__.co_names
    missing += [
        f"RTCRtpReceiver._run_rtcp reading {name}" for name in REPORTED if name not in reads
    ]
    # inbound.py runs aiortc's receiver RTCP handler at once (inbound.at_once): it must
    # await nothing.
    if any(i.opname in AWAITS for i in dis.get_instructions(RTCRtpReceiver._handle_rtcp_packet)):
        missing.append("RTCRtpReceiver._handle_rtcp_packet awaiting nothing")
    if missing:
        raise RuntimeError("aiortc internals missing: " + ", ".join(missing))


def fingerprint_once(pc: RTCPeerConnection) -> None:
    """Compute the fingerprints of ``pc``'s DTLS certificate once. aiortc computes three
    digests of it for each media section of every description it writes (31 sections in
    an answer, twice): a fifth of the CPU of answering an offer. The certificate, made
    with the connection, never changes."""
    for certificate in pc._RTCPeerConnection__certificates:  # type: ignore[attr-defined]
        fingerprints = tuple(certificate.getFingerprints())
        certificate.getFingerprints = lambda fingerprints=fingerprints: list(fingerprints)


_LEAN: ContextVar[bool] = ContextVar("kelas_lean_receivers", default=False)


def _lean(stock: Callable[..., Any], lean: Callable[..., Any]) -> Callable[..., Any]:
    """``stock``, with ``lean`` building in its place inside ``lean_receivers()``."""

    def build(*args: Any, **kwargs: Any) -> Any:
        return (lean if _LEAN.get() else stock)(*args, **kwargs)

    build.kelas_lean = True  # type: ignore[attr-defined]
    return build


def _one_packet(stock: Callable[..., Any]) -> Callable[..., Any]:
    def build(capacity: int, prefetch: int = 0, is_video: bool = False) -> Any:
        return stock(1, prefetch, is_video)

    return build


@contextmanager
def lean_receivers() -> Iterator[None]:
    """Receivers made in this block (in this task: a context variable) get no bitrate
    estimator and a jitter buffer of one packet. Packets never reach aiortc's receive path
    here, so neither would ever be fed, and aiortc builds both eagerly for each receiver
    (the server's are the three of a person's own media: slots have none, answer.py; a
    bench's bots have one per slot, some 30 each):
    - a video receiver's estimator has 1,000 rate buckets, about 1 ms of CPU; with 16 video
      receivers per peer connection that was 60 % of answering an offer (issue 11: joins);
    - a video receiver's jitter buffer is a list of 512 entries, 4 KB (issue 11: memory).
    aiortc looks both classes up when a receiver is made, so each is wrapped once in its
    module; receivers made outside this block (a test's or a bench's own peers in the same
    process) still get theirs."""
    module: Any = aiortc.rtcrtpreceiver
    if not getattr(module.RemoteBitrateEstimator, "kelas_lean", False):
        module.RemoteBitrateEstimator = _lean(module.RemoteBitrateEstimator, lambda: None)
    if not getattr(module.JitterBuffer, "kelas_lean", False):
        module.JitterBuffer = _lean(module.JitterBuffer, _one_packet(module.JitterBuffer))
    token = _LEAN.set(True)
    try:
        yield
    finally:
        _LEAN.reset(token)


class _NothingToDecode:
    """In place of a server receiver's decoder queue (``no_decoder``)."""

    def get(self) -> None:
        return None  # "stop", to aiortc's decoder thread

    def put(self, item: object) -> None:
        pass


NOTHING_TO_DECODE = _NothingToDecode()


def no_decoder(receiver: RTCRtpReceiver) -> None:
    """aiortc gives every receiver a queue of frames to decode, and a thread that decodes
    them from the moment it receives: one thread for each published track in the process,
    each with its queue and conditions, idle for good since inbound.py takes the packets.
    With this queue in its place the thread stops as soon as it starts, and so does
    ``stop()``'s wait for it."""
    receiver._RTCRtpReceiver__decoder_queue = NOTHING_TO_DECODE  # type: ignore[attr-defined]


def report_upstream(receiver: RTCRtpReceiver, streams: Mapping[int, Any]) -> None:
    """Make the receiver's RRs to the publisher report ``streams`` (SSRC -> statistics,
    reports.Upstream): its own statistics stay empty, since packets never reach its receive
    path, and an RR with no report block is never sent."""
    receiver._RTCRtpReceiver__remote_streams = streams  # type: ignore[attr-defined]


async def send_remb(receiver: RTCRtpReceiver, media_ssrc: int, bitrate: int) -> None:
    """Tell the publisher how much it may send (REMB): the server's plan for that stream,
    since forwarded packets feed no bandwidth estimator."""
    rtcp_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
    fci = pack_remb_fci(bitrate, [media_ssrc])
    packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=fci)
    await receiver._send_rtcp(packet)
