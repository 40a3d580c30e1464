"""The datagram guard: what reaches a participant's media port is checked before aiortc acts
on it, so that no datagram (empty, random, forged or malformed) stops anyone's media or
floods the log.

Datagrams enter at two places (hooks.py lists the internals), and each gets a gate:

1. ICE: aioice's ``StunProtocol.datagram_received``, one per local UDP socket. aioice hands
   every datagram that does not parse as STUN to the connection, whoever sent it. Here a
   datagram that is not STUN (first byte 0-3, RFC 7983) is taken only from a remote address
   that passed an ICE connectivity check (a succeeded candidate pair, or an authenticated
   binding request from that address), as libwebrtc does
   ("Received non-STUN packet from unknown address"): junk from anyone else never reaches
   DTLS. What is not STUN is never tried as STUN: aioice does, and an SRTP packet whose
   sequence number happened to equal its length less 20 parsed as a STUN header, raised, and
   was lost (about once a minute per 1,000 packets/s, and its resends with it). Once DTLS
   is up, SRTP and SRTCP go from here straight to the transport's lane (inbound.py). STUN
   stays with aioice, whose errors on malformed attributes (a PRIORITY of the wrong length
   raises struct.error) would otherwise go to the event loop's log, once per datagram.
2. DTLS: aiortc's ``RTCDtlsTransport._recv_next``, one loop per peer connection, which reads
   what ICE took and dispatches on the first byte. An empty datagram made it raise
   IndexError, which ended the loop: the server's media for that person stopped while their
   browser, told nothing, still showed "connected". Here a datagram that is neither DTLS
   (20-63) nor SRTP/SRTCP (128-191) is dropped before the dispatch; an exception while
   handling one datagram drops that datagram instead of ending the loop; and SRTP that fails
   authentication (aiortc drops it quietly) is counted.

Every drop is counted per peer (``Gate.dropped``) and per process (``Tally.dropped``) and
reported at most once per peer every WARN_EVERY_S seconds, with the count since the last
report. Replayed SRTP is counted but never reported on its own: networks duplicate packets.

Where it is installed, and why: the DTLS gate is per transport, attached by ``protect()``
when the peer is negotiated (peer.py), between setRemoteDescription, which creates the
transports, and setLocalDescription, which opens the sockets. The ICE gate cannot be: aioice
opens its sockets inside gathering and nothing per peer reaches a new socket before its first
datagram. So it is one class-level hook, installed once by the first ``protect()``; it looks
up the gate attached to the socket's ICE connection, and a connection without one (any other
aiortc user in the process, like the test's own peers) behaves as aioice's, except that
what is not STUN is never tried as STUN (the benchmark's bots install it for that).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pylibsrtp
from aioice.ice import CandidatePair, Connection, StunProtocol

from signaling.media.inbound import LANE, close_lane, open_lane

log = logging.getLogger(__name__)

WARN_EVERY_S = 10.0
GATE = "_kelas_gate"  # the attribute of an aioice Connection that holds its gate
Address = tuple[str, int]


@dataclass
class Tally:
    """Datagrams dropped by every gate of this process."""

    dropped: int = 0


@dataclass(eq=False)
class Gate:
    """The guard of one peer connection: what it let through ICE, and what it dropped."""

    label: str  # who this peer is, for the log
    tally: Tally
    dropped: int = 0
    _unreported: int = 0
    _reported_at: float = -math.inf
    _trusted: set[tuple[StunProtocol, Address]] = field(default_factory=set)

    def drop(self, why: str, source: Address | None = None, *, quiet: bool = False) -> None:
        """Count a dropped datagram; report it unless reported recently or ``quiet``."""
        self.dropped += 1
        self.tally.dropped += 1
        self._unreported += 1
        now = time.monotonic()
        if quiet or now - self._reported_at < WARN_EVERY_S:
            return
        self._reported_at = now
        log.warning(
            "media of %s: dropped %d bad datagram(s) since the last report, %d in all; "
            "the latest %s%s",
            self.label,
            self._unreported,
            self.dropped,
            why,
            f" from {source[0]} port {source[1]}" if source else "",
        )
        self._unreported = 0

    def failed(self, what: str, reason: str) -> None:
        """A datagram of ``what`` (SRTP, SRTCP) that libsrtp refused for ``reason``; a
        replay is counted quietly (networks duplicate packets)."""
        self.drop(f"was {what} that failed: {reason}", quiet=reason.startswith("replay"))

    def trust(self, protocol: StunProtocol, source: Address) -> None:
        """``source`` sent an authenticated binding request on this socket."""
        self._trusted.add((protocol, source))

    def trusts(self, protocol: StunProtocol, source: Address) -> bool:
        """Whether ``source`` passed an ICE check on this socket (cached: media is hot)."""
        if (protocol, source) in self._trusted:
            return True
        connection: Connection = protocol.receiver
        for pair in connection._check_list:
            if (
                pair.protocol is protocol
                and pair.state is CandidatePair.State.SUCCEEDED
                and _same_address(pair.remote_addr, source)
            ):
                self._trusted.add((protocol, source))
                return True
        return False


def protect(dtls_transports: set[Any], gate: Gate) -> None:
    """Guard these aiortc RTCDtlsTransports (and their ICE connections) with ``gate``.

    Call before the ICE connection gathers (opens its sockets)."""
    install_ice_gate()
    for dtls in dtls_transports:
        ice = dtls.transport
        setattr(ice._connection, GATE, gate)
        ice._connection.check_incoming = _trusting(ice._connection.check_incoming, gate)
        ice._recv = _sorted_input(ice._recv, gate)
        dtls._recv_next = _survivor(dtls._recv_next, gate)
        dtls.on("statechange", _srtp_counter(dtls, gate))


def _trusting(
    check_incoming: Callable[[Any, Address, StunProtocol], None], gate: Gate
) -> Callable[[Any, Address, StunProtocol], None]:
    """aioice calls ``check_incoming`` for a binding request that passed its checks (the
    username and the message integrity, with this peer's ICE password): the address it came
    from is the browser's, on this socket, and it may send media on that pair whether or not
    aioice's own check of the pair succeeded. aioice stops checking once one pair is
    nominated; Chromium (the controlling side) may select another pair it checked itself,
    and its media from there was dropped as unchecked (a 3-page class lost a video 1 run
    in 9)."""

    def check(message: Any, addr: Address, protocol: StunProtocol) -> None:
        gate.trust(protocol, (addr[0], addr[1]))
        check_incoming(message, addr, protocol)

    return check


def install_ice_gate() -> None:
    """Install the ICE gate (once per process; ``protect`` does). A connection without a
    gate (any other aiortc user in the process: a test's or a bench's own peers) behaves as
    aioice's, except that what is not STUN by its first byte is never tried as STUN."""
    original = StunProtocol.datagram_received
    if getattr(original, "_kelas", False):
        return

    def datagram_received(self: StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
        datagram = cast(bytes, data)  # a datagram protocol gets bytes
        gate: Gate | None = getattr(self.receiver, GATE, None)
        if gate is None:
            if datagram and datagram[0] > 3:
                self.receiver.data_received(datagram, self.local_candidate.component)
                return
            return original(self, data, addr)
        source = (addr[0], addr[1])
        if not datagram:
            gate.drop("was empty", source)
            return
        first = datagram[0]
        if first > 3:  # not STUN (RFC 7983): never tried as STUN, as aioice would
            if not gate.trusts(self, source):
                gate.drop("was not STUN and came from an address ICE has not checked", source)
                return
            lane = getattr(self.receiver, LANE, None)
            if lane is not None and 127 < first < 192:
                lane(datagram)  # SRTP or SRTCP, once DTLS is up (inbound.py)
            else:
                self.receiver.data_received(datagram, self.local_candidate.component)
            return
        try:
            original(self, data, addr)
        except Exception as exc:  # aioice's STUN parsing raises more than ValueError
            gate.drop(f"was STUN that aioice could not read ({type(exc).__name__})", source)

    datagram_received._kelas = True  # type: ignore[attr-defined]
    StunProtocol.datagram_received = datagram_received  # type: ignore[method-assign]


def _sorted_input(
    receive: Callable[[], Awaitable[bytes]], gate: Gate
) -> Callable[[], Awaitable[bytes]]:
    """aiortc's datagram source, keeping only what its dispatch knows (RFC 7983)."""

    async def recv() -> bytes:
        while True:
            data = await receive()
            if data and (19 < data[0] < 64 or 127 < data[0] < 192):
                return data
            gate.drop("was neither DTLS nor SRTP" if data else "was empty")

    return recv


def _survivor(handle: Callable[[], Awaitable[None]], gate: Gate) -> Callable[[], Awaitable[None]]:
    """aiortc's receive step, dropping a datagram that fails instead of ending the loop."""

    async def recv_next() -> None:
        try:
            await handle()
        except ConnectionError:
            raise  # the transport is closed or was shut down by the other side: the loop ends
        except Exception as exc:
            log.debug("media of %s: a datagram failed", gate.label, exc_info=True)
            gate.drop(f"raised {type(exc).__name__} in aiortc")

    return recv_next


def _srtp_counter(dtls: Any, gate: Gate) -> Callable[[], None]:
    """Once DTLS has set up SRTP, count the inbound packets that fail authentication."""

    def changed() -> None:
        if dtls.state != "connected":
            close_lane(dtls)
        elif not isinstance(dtls._rx_srtp, _CountedSrtp):
            session = dtls._rx_srtp
            dtls._rx_srtp = _CountedSrtp(session, gate)
            open_lane(dtls, session, gate)

    return changed


class _CountedSrtp:
    """aiortc's inbound SRTP session, counting what fails; aiortc still drops it."""

    def __init__(self, session: pylibsrtp.Session, gate: Gate) -> None:
        self._session = session
        self._gate = gate

    def unprotect(self, data: bytes) -> bytes:
        return self._count(self._session.unprotect, data, "SRTP")

    def unprotect_rtcp(self, data: bytes) -> bytes:
        return self._count(self._session.unprotect_rtcp, data, "SRTCP")

    def _count(self, unprotect: Callable[[bytes], bytes], data: bytes, what: str) -> bytes:
        try:
            return unprotect(data)
        except pylibsrtp.Error as exc:
            self._gate.failed(what, str(exc))
            raise


def _same_address(a: Address, b: Address) -> bool:
    if a == b:
        return True
    if a[1] != b[1]:
        return False
    try:  # the same IPv6 address may be written two ways (SDP, socket)
        return ipaddress.ip_address(a[0].partition("%")[0]) == ipaddress.ip_address(
            b[0].partition("%")[0]
        )
    except ValueError:
        return False
