"""Where a participant's SRTP and SRTCP are taken: at the socket, not four hops later.

aiortc reads a media datagram in four hops: aioice's protocol tries it as STUN, puts it on
its connection's queue, the DTLS transport's receive loop (a task) takes it from there, and
awaits a handler for each packet in it. For a server that receives every publisher's
packets and every subscriber's reports, those hops cost more than what is done with the
packet (issue 11). So once a DTLS transport is connected, the ICE gate (guard.py) hands each
SRTP or SRTCP datagram from a checked address straight to the transport's ``Lane``, which
does what aiortc's loop would, at once:

- unprotect it with aiortc's inbound session (the handshake's keys), and drop what fails
  as aiortc does, counted (as guard._CountedSrtp counts it on aiortc's path), in C
  (native/fanout.c): RTP is unprotected and its header read in one call (kl_receive);
  RTCP is unprotected, and a compound packet that holds nothing anyone reads (an idle
  sender's empty report and SDES, kl_rtcp_matters) goes no further (kl_receive_rtcp);
- parse it as aiortc does (RtpPacket, RtcpPacket) and route it by aiortc's router;
- call Kelas's handler, set with ``takes_rtp`` or ``takes_rtcp``: a publisher's receiver
  takes RTP (forwarding's Source.on_rtp, through peer.one_stream or simulcast.layered), a
  slot's sender takes RTCP (forwarding.slot_rtcp_handler). A publisher's receiver also gets
  RTCP, their sender reports (the LSR of the server's receiver reports) and BYE: aiortc's
  own handler, which awaits nothing (hooks.check makes sure), runs at once.

RTP routed to a receiver Kelas does not read is dropped (aiortc would decode it). DTLS
(after the handshake: an alert, close_notify) still goes aiortc's way, and so does media
that came before the transport connected. Not kept: the DTLS transport's own datagram
counts (its getStats), which Kelas never reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import pylibsrtp
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtcpPacket, RtpPacket

from signaling.media.native import ffi, lib, srtp_of

if TYPE_CHECKING:
    from signaling.media.guard import Gate

log = logging.getLogger(__name__)
LANE = "_kelas_lane"  # the attribute of an aioice Connection that holds its transport's Lane
TAKES_RTP = "_kelas_rtp"  # of a receiver: its handler of RTP
TAKES_RTCP = "_kelas_rtcp"  # of a sender: its handler of RTCP


def takes_rtp(receiver: Any, take: Callable[[RtpPacket], None]) -> None:
    """``take`` handles the RTP routed to ``receiver`` (an RTCRtpReceiver), whichever path
    it came by."""

    async def handle(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        take(packet)

    setattr(receiver, TAKES_RTP, take)
    receiver._handle_rtp_packet = handle


class RtcpTaker:
    """What aiortc's router routes a slot's RTCP to, by the slot's SSRC (a slot has no aiortc
    sender: answer.py): ``takes_rtcp`` gives it its handler."""


def takes_rtcp(sender: Any, take: Callable[[Any], None]) -> None:
    """``take`` handles the RTCP routed to ``sender`` (an RtcpTaker, or an RTCRtpSender),
    whichever path it came by."""

    async def handle(packet: Any) -> None:
        take(packet)

    setattr(sender, TAKES_RTCP, take)
    sender._handle_rtcp_packet = handle


def at_once(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that awaits nothing (aiortc's receiver RTCP handler) to its end."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("a handler that should not wait waited")


class Received(RtpPacket):
    """An RTP packet as a lane read it. Its header extensions are parsed, by aiortc's map, when
    something first reads them: an audio level, a simulcast layer's rid or a section's mid
    for a stream not yet routed. A video packet of a known stream needs none of them."""

    unparsed: tuple[HeaderExtensionsMap, int, bytes] | None = None  # map, profile, elements
    _parsed: HeaderExtensions

    @property
    def extensions(self) -> HeaderExtensions:
        if self.unparsed is not None:
            extensions_map, profile, elements = self.unparsed
            self._parsed, self.unparsed = extensions_map.get(profile, elements), None
        return self._parsed

    @extensions.setter
    def extensions(self, extensions: HeaderExtensions) -> None:
        self._parsed, self.unparsed = extensions, None


class Lane:
    """One connected DTLS transport's media, taken where it arrives."""

    def __init__(self, dtls: RTCDtlsTransport, session: pylibsrtp.Session, gate: Gate) -> None:
        self._dtls = dtls
        self._gate = gate
        self._session = session  # aiortc's inbound session: kept, C unprotects with it
        self._srtp = srtp_of(session)
        self._read: Any = ffi.new("kl_received *")
        self._plain: Any = ffi.new("int *")

    def __call__(self, data: bytes) -> None:
        """An SRTP or SRTCP datagram (first byte 128-191) from a checked address. Never
        raises: what fails is dropped and counted."""
        try:
            if len(data) > 1 and 191 < data[1] < 209:  # RTCP, as aiortc tells (rtp.is_rtcp)
                self._rtcp(data)
            else:
                self._rtp(data)
        except Exception as exc:
            log.debug("media of %s: a datagram failed", self._gate.label, exc_info=True)
            self._gate.drop(f"raised {type(exc).__name__} in Kelas's receive path")

    def _refused(self, status: int, what: str, other: str) -> bool:
        """Whether C refused the datagram, counted: ``status`` > 0 is libsrtp's reason for
        failing ``what`` (SRTP, SRTCP), < 0 says why it is not that at all (``other``)."""
        if status > 0:
            errors = pylibsrtp.ERRORS
            self._gate.failed(what, errors[status] if status < len(errors) else f"error {status}")
        elif status < 0:
            self._gate.drop(other)
        return status != 0

    def _rtp(self, data: bytes) -> None:
        buffer = bytearray(data)
        read = self._read
        status = lib.kl_receive(self._srtp, ffi.from_buffer(buffer), len(buffer), read)
        if self._refused(status, "SRTP", "was not RTP"):  # aiortc drops it too, without a word
            return
        at = read.payload_at
        packet = Received(
            read.payload_type, read.marker, read.seq, read.timestamp, read.ssrc,
            bytes(memoryview(buffer)[at : at + read.payload_len]),
        )  # fmt: skip
        dtls = self._dtls
        if read.has_extension:
            at = read.extension_at
            packet.unparsed = (
                dtls._rtp_header_extensions_map, read.profile,
                bytes(memoryview(buffer)[at : at + read.extension_len]),
            )  # fmt: skip
        receiver = dtls._rtp_router.route_rtp(packet)
        take = getattr(receiver, TAKES_RTP, None)
        if take is not None:
            take(packet)

    def _rtcp(self, data: bytes) -> None:
        buffer = bytearray(data)
        plain = self._plain
        status = lib.kl_receive_rtcp(self._srtp, ffi.from_buffer(buffer), len(buffer), plain)
        if self._refused(status, "SRTCP", "was not SRTCP"):  # too short or too long to be
            return
        if not plain[0]:
            return  # nothing in it that anyone reads (kl_rtcp_matters)
        try:
            packets = RtcpPacket.parse(bytes(memoryview(buffer)[: plain[0]]))
        except ValueError:
            return  # as aiortc
        router = self._dtls._rtp_router
        for packet in packets:
            for recipient in router.route_rtcp(packet):
                take = getattr(recipient, TAKES_RTCP, None)
                if take is not None:
                    take(packet)
                elif hasattr(recipient, TAKES_RTP):  # a publisher's receiver: aiortc's own
                    at_once(recipient._handle_rtcp_packet(packet))


def open_lane(dtls: RTCDtlsTransport, session: pylibsrtp.Session, gate: Gate) -> None:
    """The transport is connected: its media takes the lane from now on (``session``: its
    inbound SRTP session, aiortc's)."""
    setattr(dtls.transport._connection, LANE, Lane(dtls, session, gate))


def close_lane(dtls: RTCDtlsTransport) -> None:
    connection = dtls.transport._connection
    if hasattr(connection, LANE):
        delattr(connection, LANE)
