"""A subscriber's way out for forwarded packets: SRTP-protect and send in C (native/fanout.c).

aiortc sends an RTP packet through four coroutines (the DTLS transport's ``_send_rtp``, the
ICE transport, aioice's connection and its protocol) before the socket's ``sendto``; at one
publisher to 64 subscribers that path was the largest cost per forwarded packet (issue 11).
An :class:`Out` holds, in C, the two things a forwarded packet needs: aiortc's own outbound
SRTP session of the subscriber's DTLS transport (made with the keys of its handshake; C
protects with it through pylibsrtp's libsrtp, native/__init__.py), and the datagram socket
and address of the ICE pair that aioice nominated. Both are set when the transport
connects, and dropped when it leaves that state: no packet leaves before the handshake or
after it closed. The browser may nominate another pair later (it is the controlling side):
``follow`` moves to it.

One session protects everything the subscriber gets, whoever builds it: the slots' RTP
(forwarded and resent) and their sender reports in C, the RTCP of aiortc's receivers in
Python; libsrtp keeps one stream per SSRC in it. The socket is a duplicate of aioice's, so
closing the connection never leaves C with a number the kernel gave to another socket.

The server gathers host and server-reflexive candidates only (no TURN of its own: browsers
relay), so a pair's protocol is aioice's plain UDP one; the SFU never sees any other.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import weakref
from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from pylibsrtp import Session

from signaling.media.native import ffi, lib, srtp_of

log = logging.getLogger(__name__)
COMPONENT = 1  # RTP and RTCP share the one component (rtcp-mux, bundle)


def sockaddr(host: str, port: int) -> bytes:
    """The ``struct sockaddr_in`` or ``sockaddr_in6`` of an address, as the kernel reads it."""
    if ":" in host:
        packed = socket.inet_pton(socket.AF_INET6, host.split("%")[0])
        return struct.pack("=HHI16sI", socket.AF_INET6, socket.htons(port), 0, packed, 0)
    packed = socket.inet_pton(socket.AF_INET, host)
    return struct.pack("=HH4s8x", socket.AF_INET, socket.htons(port), packed)


class Out:
    """One subscriber's DTLS transport (bundled: all their slots), as a C ``kl_out``."""

    _of: weakref.WeakKeyDictionary[RTCDtlsTransport, Out] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, dtls: RTCDtlsTransport) -> Out:
        out = cls._of.get(dtls)
        if out is None:
            out = cls._of[dtls] = cls(dtls)
        return out

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = weakref.ref(dtls)
        self.c: Any = ffi.gc(lib.kl_out_new(), lib.kl_out_free)
        if self.c == ffi.NULL:  # pragma: no cover
            raise MemoryError
        self._pair: Any = None  # the ICE pair it sends by
        self._session: Session | None = None  # aiortc's outbound SRTP session, C's too
        dtls.on("statechange", self._changed)
        self._changed()

    @property
    def connected(self) -> bool:
        return bool(self.c.fd >= 0)

    def _changed(self) -> None:
        dtls = self._dtls()
        if dtls is not None and dtls._state is State.CONNECTED:
            self._session = dtls._tx_srtp  # kept: C protects with it
            self.c.srtp = srtp_of(self._session)
            self._route(dtls)
        else:
            self._pair = None
            lib.kl_out_route(self.c, -1, ffi.NULL, 0)
            self.c.srtp, self._session = ffi.NULL, None

    def follow(self) -> None:
        """Send by the pair that is nominated now: the browser (the controlling side) may
        nominate another pair after DTLS came up, or have none for a moment. Called about once
        a second (Peer.measure)."""
        dtls = self._dtls()
        if dtls is not None and dtls._state is State.CONNECTED:
            if dtls.transport._connection._nominated.get(COMPONENT) is not self._pair:
                self._route(dtls)

    def _route(self, dtls: RTCDtlsTransport) -> None:
        pair = dtls.transport._connection._nominated.get(COMPONENT)
        transport = getattr(getattr(pair, "protocol", None), "transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if pair is None or sock is None:
            # ICE closing under a connected DTLS (consent lost): nothing to send by, and the
            # DTLS state follows. Should a pair come, follow() takes it.
            log.warning("a connected transport without an ICE socket: no media out for now")
            self._pair = None
            lib.kl_out_route(self.c, -1, ffi.NULL, 0)
            return
        self._pair = pair
        address = sockaddr(*pair.remote_addr[:2])
        lib.kl_out_route(self.c, os.dup(sock.fileno()), address, len(address))

    def send(self, rtp: bytes, restamp: bool, now: float) -> None:
        """Protect ``rtp`` and send it (``restamp``: set its abs-send-time to ``now``);
        ConnectionError when the transport is not connected (yet, or any more)."""
        result = lib.kl_out_send(self.c, rtp, len(rtp), restamp, now)
        if result == lib.KL_NOROUTE:
            raise ConnectionError("not connected")

    @property
    def counts(self) -> tuple[int, int, int]:
        """Datagrams sent, dropped (the socket's buffer was full) and failed."""
        return int(self.c.sent), int(self.c.dropped), int(self.c.errors)
