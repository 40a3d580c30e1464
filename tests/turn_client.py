"""A TURN client that sends exactly the requests a test names (RFC 8656), over TCP or TLS.

aioice's TURN client (what aiortc uses) allocates and binds channels as ICE needs them; a test
of the server's rules needs more: an IPv6 allocation (REQUESTED-ADDRESS-FAMILY, which aioice
does not send), a CreatePermission towards any address, and the error code of each answer.
Messages are built here and read with aioice's STUN parser.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from aioice import stun

ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND = 0x003, 0x004, 0x008, 0x009
USERNAME, MESSAGE_INTEGRITY, CHANNEL_NUMBER, LIFETIME = 0x0006, 0x0008, 0x000C, 0x000D
XOR_PEER_ADDRESS, REALM, NONCE = 0x0012, 0x0014, 0x0015
REQUESTED_ADDRESS_FAMILY, REQUESTED_TRANSPORT = 0x0017, 0x0019
UDP = 17
TIMEOUT = 10.0
# An attribute's value, or how to compute it from the transaction id (XOR-PEER-ADDRESS).
Attribute = tuple[int, bytes | Callable[[bytes], bytes]]


class TurnError(Exception):
    """An error answer: ``code`` is the STUN error code (401, 403, 486, ...)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)


@dataclass
class TurnProbe:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    username: str
    password: str
    realm: bytes = b""
    nonce: bytes = b""
    relayed: tuple[str, int] | None = None
    _key: bytes = field(default=b"", repr=False)

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        username: str,
        password: str,
        tls: ssl.SSLContext | None = None,
    ) -> TurnProbe:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=tls), TIMEOUT
        )
        return cls(reader, writer, username, password)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass  # the server may close first

    async def request(self, method: int, *attributes: Attribute) -> stun.Message:
        """Send a request; answer the server's 401 (or 438, a stale nonce) with the long-term
        credential once. Raises TurnError for an error answer."""
        answer = await self._send(method, attributes)
        code = answer.attributes.get("ERROR-CODE", (0, ""))[0]
        if code in (401, 438) and "NONCE" in answer.attributes:
            self.nonce = answer.attributes["NONCE"]
            self.realm = answer.attributes.get("REALM", self.realm.decode()).encode()
            self._key = hashlib.md5(
                b":".join([self.username.encode(), self.realm, self.password.encode()])
            ).digest()
            answer = await self._send(method, attributes)
        if "ERROR-CODE" in answer.attributes:
            raise TurnError(*answer.attributes["ERROR-CODE"])
        return answer

    async def _send(self, method: int, attributes: tuple[Attribute, ...]) -> stun.Message:
        tid = os.urandom(12)
        body = b"".join(_attribute(kind, value(tid) if callable(value) else value)
                        for kind, value in attributes)  # fmt: skip
        if self._key:
            body += _attribute(USERNAME, self.username.encode())
            body += _attribute(REALM, self.realm) + _attribute(NONCE, self.nonce)
            head = struct.pack("!HHI12s", method, len(body), stun.COOKIE, tid)
            body += _attribute(MESSAGE_INTEGRITY, stun.message_integrity(head + body, self._key))
        self.writer.write(struct.pack("!HHI12s", method, len(body), stun.COOKIE, tid) + body)
        while True:
            header = await asyncio.wait_for(self.reader.readexactly(20), TIMEOUT)
            length = struct.unpack("!H", header[2:4])[0]
            data = header + await asyncio.wait_for(self.reader.readexactly(length), TIMEOUT)
            answer = stun.parse_message(data)
            if answer.transaction_id == tid:
                return answer

    async def allocate(self, family: int = 4) -> tuple[str, int]:
        """A UDP relay, IPv4 or IPv6; returns its address."""
        answer = await self.request(
            ALLOCATE,
            (REQUESTED_TRANSPORT, struct.pack("!B3x", UDP)),
            (REQUESTED_ADDRESS_FAMILY, struct.pack("!B3x", 1 if family == 4 else 2)),
        )
        self.relayed = answer.attributes["XOR-RELAYED-ADDRESS"]
        return self.relayed

    async def create_permission(self, peer: str) -> None:
        await self.request(CREATE_PERMISSION, _peer(peer, 9))

    async def channel_bind(self, peer: str, channel: int = 0x4000) -> None:
        await self.request(CHANNEL_BIND, (CHANNEL_NUMBER, struct.pack("!H2x", channel)),
                           _peer(peer, 9))  # fmt: skip

    async def release(self) -> None:
        await self.request(REFRESH, (LIFETIME, struct.pack("!I", 0)))


def _peer(address: str, port: int) -> Attribute:
    # XOR-PEER-ADDRESS is XORed with the magic cookie and the transaction id (RFC 8489 14.2).
    return XOR_PEER_ADDRESS, lambda tid: stun.pack_xor_address((address, port), tid)
