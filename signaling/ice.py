"""The ICE servers each participant is given: STUN, and TURN with credentials minted per join.

TURN credentials follow the TURN REST scheme (draft-uberti-behave-turn-rest-00), which coturn
implements as ``use-auth-secret``:

    username   = "<expiry, unix time>:<user id>"
    credential = base64(HMAC-SHA1(secret, username))

coturn shares the secret (``static-auth-secret``), computes the same HMAC and refuses a
username whose expiry has passed. So no TURN password is stored anywhere, a credential that
leaks from a page is worth a few minutes of relaying for one person, and coturn's quotas count
per person (the user id is in the username). coturn checks the expiry only when an allocation
is made: a class longer than the credential's life keeps its relay, and every new peer
connection (a reconnect, a retry) starts from a fresh ``hello`` with fresh credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

from signaling import protocol

LIFETIME_S = 600  # long enough for a join and a retry or two; coturn checks it at allocation
STUN_URL = re.compile(r"stun:[^\s?]+")
TURN_URL = re.compile(r"turns?:[^\s?]+(\?transport=(udp|tcp))?")
TransportPolicy = Literal["all", "relay"]


def turn_credential(secret: str, username: str) -> str:
    """The TURN REST credential of ``username``: base64(HMAC-SHA1(secret, username))."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def turn_username(user_id: int, expires: int) -> str:
    return f"{expires}:{user_id}"


@dataclass(frozen=True)
class IceServers:
    """STUN and TURN servers from the settings; ``for_user`` mints what one join gets."""

    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = ""
    lifetime_s: int = LIFETIME_S
    # "relay": browsers send media only through the TURN servers (iceTransportPolicy), for a
    # media server that lets in nothing but its TURN server, or to keep people's addresses
    # out of the candidates they send.
    transport_policy: TransportPolicy = "all"

    def __post_init__(self) -> None:
        bad = [u for u in self.stun_urls if not STUN_URL.fullmatch(u)]
        bad += [u for u in self.turn_urls if not TURN_URL.fullmatch(u)]
        if bad:
            raise ValueError(f"not a STUN or TURN URL: {', '.join(bad)}")
        if self.turn_urls and len(self.turn_secret) < 16:
            raise ValueError("TURN needs its shared secret (KELAS_TURN_SECRET, 16+ characters)")
        if self.turn_secret.startswith("CHANGE-ME"):
            raise ValueError("KELAS_TURN_SECRET is still deploy/turnserver.conf's placeholder")
        if self.lifetime_s <= 0:
            raise ValueError("the TURN credential lifetime must be positive")
        if self.transport_policy not in ("all", "relay"):
            raise ValueError("the ICE transport policy is all or relay")
        if self.transport_policy == "relay" and not self.turn_urls:
            raise ValueError("relay only (KELAS_ICE_TRANSPORT_POLICY) needs TURN servers")

    @property
    def has_turn(self) -> bool:
        return bool(self.turn_urls)

    def for_user(self, user_id: int, now: float) -> list[protocol.IceServer]:
        """What this person's browser is given at ``now`` (unix time): the STUN servers, and
        the TURN servers with a credential valid for ``lifetime_s``."""
        servers: list[protocol.IceServer] = []
        if self.stun_urls:
            servers.append(protocol.StunServer(urls=list(self.stun_urls)))
        if self.turn_urls:
            username = turn_username(user_id, int(now) + self.lifetime_s)
            servers.append(
                protocol.TurnServer(
                    urls=list(self.turn_urls),
                    username=username,
                    credential=turn_credential(self.turn_secret, username),
                )
            )
        return servers
