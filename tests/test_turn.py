"""The shipped coturn configuration (deploy/turnserver.conf), run by a real coturn: it relays
for credentials that Kelas mints and for nothing else, and never into this machine or its
networks. tests/test_live_media.py sends a class's media through it."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import TurnFactory
from tests.turn_client import TurnError, TurnProbe
from tests.turn_server import SHIPPED

# Peers a relay must never reach: loopback, private, shared, link-local (cloud metadata), and
# the same addresses written as IPv6 (IPv4-mapped is CVE-2026-27624, which Debian's coturn
# 4.6.1 does not fix by itself).
REFUSED_V4 = ["127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.254",
              "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.1.2.3"]  # fmt: skip
REFUSED_V6 = ["::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:192.168.1.1",
              "::ffff:169.254.169.254", "::ffff:0.0.0.1", "::1", "::127.0.0.1", "::10.1.0.1",
              "::0.0.0.2", "::0.1.0.0", "::0.0.1.0", "64:ff9b::7f00:1", "64:ff9b:1::a00:1",
              "2002:7f00:1::1", "fe80::1", "febf::1", "fc00::1", "fdff:1::ff00",
              "100::1"]  # fmt: skip
# Public (documentation) addresses: a relay may reach them, so a refusal above is the rule's
# (and no IPv6 range swallows IPv4 addresses, as one starting at :: would).
ALLOWED = {4: ["198.51.100.7", "203.0.113.200", "192.0.2.1"],
           6: ["2001:db8::7", "2001:db8:ffff::1", "2001:db8::ffff:7f00:1"]}  # fmt: skip


async def refusals(probe: TurnProbe, peer: str, channel: int) -> list[int | None]:
    """The error codes of a CreatePermission and a ChannelBind towards ``peer`` (None: done)."""
    codes: list[int | None] = []
    for request in (probe.create_permission(peer), probe.channel_bind(peer, channel)):
        try:
            await request
            codes.append(None)
        except TurnError as error:
            codes.append(error.code)
    return codes


@pytest.mark.parametrize("family", [4, 6])
async def test_relays_to_loopback_and_private_addresses_are_refused(
    start_turn: TurnFactory, family: int
) -> None:
    turn = await start_turn()
    probe = await turn.probe()
    try:
        relayed = await probe.allocate(family)
        assert (relayed[0] == "::1") == (family == 6)
        peers = REFUSED_V4 if family == 4 else REFUSED_V6
        for channel, peer in enumerate(peers, start=0x4000):
            assert await refusals(probe, peer, channel) == [403, 403], peer
        for channel, peer in enumerate(ALLOWED[family], start=0x4F00):
            assert await refusals(probe, peer, channel) == [None, None], peer
    finally:
        await probe.close()


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
async def test_only_a_credential_minted_with_the_shared_secret_and_not_expired_opens_a_relay(
    start_turn: TurnFactory, tls: bool
) -> None:
    turn = await start_turn()
    for kwargs in ({"expires": int(time.time()) - 1}, {"secret": "not-the-shared-secret"}):
        probe = await turn.probe(tls=tls, **kwargs)  # type: ignore[arg-type]
        try:
            with pytest.raises(TurnError) as refused:
                await probe.allocate()
            assert refused.value.code == 401, kwargs
        finally:
            await probe.close()
    probe = await turn.probe(tls=tls)
    try:
        assert (await probe.allocate())[0] == "127.0.0.1"
    finally:
        await probe.close()


async def test_one_person_gets_a_dozen_relays_at_most(start_turn: TurnFactory) -> None:
    turn = await start_turn()
    probes = [await turn.probe(user_id=7) for _ in range(13)]
    try:
        for probe in probes[:12]:
            await probe.allocate()
        with pytest.raises(TurnError) as refused:
            await probes[12].allocate()
        assert refused.value.code == 486  # Allocation Quota Reached
        other = await turn.probe(user_id=8)
        probes.append(other)
        await other.allocate()
    finally:
        for probe in probes:
            await probe.close()


def test_the_shipped_configuration_keeps_its_hardening() -> None:
    """What the running tests cannot see: options that must never be on."""
    lines = [line.strip() for line in SHIPPED.read_text().splitlines()]
    options = {re.split(r"[=\s]", line, maxsplit=1)[0] for line in lines if line and line[0] != "#"}
    assert not options & {"oauth", "allow-loopback-peers", "lt-cred-mech", "user", "web-admin",
                          "server-relay", "cli-password", "mobility"}  # fmt: skip
    assert {"use-auth-secret", "no-cli", "fingerprint", "no-multicast-peers", "no-tcp-relay",
            "user-quota", "total-quota", "max-bps", "bps-capacity", "realm", "no-tlsv1",
            "no-tlsv1_1", "tls-listening-port"} <= options  # fmt: skip
    assert "tls-listening-port=443" in lines
