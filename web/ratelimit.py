"""Per-address token buckets for the requests that cost us most: logins and sign-ups each
hash a password with Argon2, on purpose slow, so a flood from one address would take the
server's time from everyone else.

The per-e-mail lockout (classroom.accounts) protects one account from guessing; these
buckets protect the server from one client, whatever e-mail addresses it tries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import web

from signaling.ratelimit import Buckets

Network = IPv4Network | IPv6Network


def parse_networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    """Addresses or networks (``10.0.0.0/8``); raises ValueError on anything else."""
    return tuple(ip_network(v.strip(), strict=False) for v in values if v.strip())


def _trusted(address: IPv4Address | IPv6Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str:
    """The address to count a request against.

    The socket's peer, unless the peer is one of our ``trusted`` proxies: then the nearest
    address in X-Forwarded-For that is not a trusted proxy (everything to its left was
    written by the client and may be made up). An entry that is not an address ends the
    walk at the proxy that passed it on.
    """
    if not peer:
        return "unknown"
    try:
        nearest = ip_address(peer)
    except ValueError:
        return peer
    if not forwarded_for or not _trusted(nearest, trusted):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        try:
            address = ip_address(hop.strip())
        except ValueError:
            break
        nearest = address
        if not _trusted(address, trusted):
            break
    return str(nearest)


@dataclass(frozen=True)
class Limits:
    """The app's buckets and the proxies whose X-Forwarded-For we believe."""

    login: Buckets
    signup: Buckets
    check: Buckets  # per person: the setup check's peer connections and results
    reset: Buckets  # requests for a forgotten-password link
    trusted_proxies: tuple[Network, ...] = ()

    def wait(self, bucket: Buckets, request: web.Request) -> int:
        """Whole seconds ``request``'s client must wait, 0 if it may go ahead now."""
        address = client_address(
            request.remote, request.headers.get("X-Forwarded-For"), self.trusted_proxies
        )
        return math.ceil(bucket.take(address))

    def wait_for(self, bucket: Buckets, user_id: int) -> int:
        """As ``wait``, counted per person: for what only logged-in people may ask."""
        return math.ceil(bucket.take(user_id))


LIMITS: web.AppKey[Limits] = web.AppKey("limits")
