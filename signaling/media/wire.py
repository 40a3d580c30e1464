"""A subscriber's way out for forwarded packets: SRTP-protect and send in one plain call.

aiortc sends an RTP packet through four coroutines (the DTLS transport's ``_send_rtp``, the
ICE transport, aioice's connection and its protocol) before the socket's ``sendto``; at one
publisher to 64 subscribers that path was the largest cost per forwarded packet (issue 11).
A :class:`Wire` goes straight to the same two steps, with the same objects: the transport's
SRTP session (from its DTLS handshake) and the datagram socket of the ICE pair that aioice
nominated, read at each send, so a pair that changes or a transport that closes is seen at
once. A packet forwarded is sent before the call returns, in order with the rest.

The server gathers host and server-reflexive candidates only (no TURN of its own: browsers
relay), so the pair's protocol is aioice's plain UDP one; any other goes the stock way.
"""

from __future__ import annotations

import asyncio

from aioice.ice import StunProtocol
from aiortc.rtcdtlstransport import RTCDtlsTransport, State

COMPONENT = 1  # RTP and RTCP share the one component (rtcp-mux, bundle)


class Wire:
    """One subscriber's DTLS transport, as a synchronous ``send``."""

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = dtls
        self._ice = dtls.transport._connection
        self._sending: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self._dtls._state is State.CONNECTED

    def send(self, rtp: bytes) -> None:
        """Protect ``rtp`` with the subscriber's SRTP session and send it; ConnectionError
        when the transport is not connected (yet, or any more)."""
        dtls = self._dtls
        if dtls._state is not State.CONNECTED:
            raise ConnectionError("not connected")
        pair = self._ice._nominated.get(COMPONENT)
        if pair is None:
            raise ConnectionError("no ICE pair")
        data = dtls._tx_srtp.protect(rtp)
        protocol = pair.protocol
        if type(protocol).send_data is StunProtocol.send_data:
            protocol.transport.sendto(data, pair.remote_addr)
        else:  # not expected on the server (see above): the stock, asynchronous way
            task = asyncio.ensure_future(protocol.send_data(data, pair.remote_addr))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
