"""The setup check's server peers (signaling/media/probe.py) with real aiortc clients: what
they answer on their channels, and their bounds (how many, how long, what they ignore)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from classroom.errors import Unavailable
from signaling.media.probe import MAX_BURSTS, Probes
from tests.check_client import TIMEOUT, Inbox


class Client:
    """A browser's side of the check, talking to ``Probes`` directly."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.ping = self.pc.createDataChannel("ping", ordered=False, maxRetransmits=0)
        self.bulk = self.pc.createDataChannel("bulk")
        self.pings, self.bulks = Inbox(self.ping), Inbox(self.bulk)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def connect(self, probes: Probes, user_id: int = 7) -> dict[str, object]:
        answer, path = await probes.answer(user_id, await self.offer())
        assert path == "direct"
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await asyncio.wait_for(self.bulks.opened.wait(), TIMEOUT)
        return await self.bulks.json()


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        await client.pc.close()


def new(clients: list[Client]) -> Client:
    clients.append(Client())
    return clients[-1]


async def test_the_receipt_comes_first_then_pings_come_back(clients: list[Client]) -> None:
    probes = Probes((), receipt=lambda user, path: f"{user}:{path}")
    client = new(clients)
    assert await client.connect(probes, user_id=42) == {"receipt": "42:direct", "path": "direct"}
    await asyncio.wait_for(client.pings.opened.wait(), TIMEOUT)
    client.ping.send("x" * 65)  # too long to echo
    client.ping.send(b"binary")  # not echoed either
    client.ping.send('{"n": 1}')
    assert await client.pings.text() == '{"n": 1}'
    await probes.close()


async def test_bursts_are_bounded_and_junk_is_ignored(clients: list[Client]) -> None:
    probes = Probes((), receipt=lambda user, path: "r")
    client = new(clients)
    await client.connect(probes)
    for junk in ("not json", "[1]", '{"down": 0}', '{"down": 99999}', '{"down": true}',
                 '{"up": "yes"}', '{"down": 1, "x": "' + "y" * 100 + '"}'):  # fmt: skip
        client.bulk.send(junk)
    # One burst at a time: the second asked for while the first runs is ignored.
    client.bulk.send(json.dumps({"down": 100}))
    client.bulk.send(json.dumps({"down": 100}))
    client.bulk.send(bytes(700))
    client.bulk.send(json.dumps({"up": True}))
    answers = [await client.bulks.json() for _ in range(2)]
    assert {"up_bytes": 700, "up_ms": 0} in answers
    (down,) = [a for a in answers if "down_bytes" in a]
    assert down["down_bytes"] == client.bulks.bytes > 0
    for _ in range(MAX_BURSTS - 1):
        client.bulk.send(json.dumps({"down": 50}))
        assert set(await client.bulks.json()) == {"down_bytes"}
    # No more bursts: the next answer is to the next question.
    client.bulk.send(json.dumps({"down": 50}))
    client.bulk.send(json.dumps({"up": True}))
    assert await client.bulks.json() == {"up_bytes": 700, "up_ms": 0}
    await probes.close()


async def test_a_process_holds_a_few_probes_and_each_for_a_short_while(
    clients: list[Client],
) -> None:
    probes = Probes((), receipt=lambda user, path: "r", limit=1, lifetime=0.5)
    first = new(clients)
    await first.connect(probes)
    with pytest.raises(Unavailable):
        await probes.answer(7, await new(clients).offer())
    # Its lifetime over, the server closes it: the browser's channels close, room is made.
    await asyncio.wait_for(first.bulks.closed.wait(), TIMEOUT)
    assert len(probes) == 0
    await new(clients).connect(probes)
    assert len(probes) == 1
    await probes.close()
    assert len(probes) == 0


async def test_a_person_holds_two_probes_a_new_one_replaces_their_oldest(
    clients: list[Client],
) -> None:
    """A check runs the direct path, then the relay path; started again, it needs no more."""
    probes = Probes((), receipt=lambda user, path: "r")
    first, second, third = new(clients), new(clients), new(clients)
    await first.connect(probes, user_id=7)
    await second.connect(probes, user_id=7)
    other = new(clients)
    await other.connect(probes, user_id=8)
    await third.connect(probes, user_id=7)
    await asyncio.wait_for(first.bulks.closed.wait(), TIMEOUT)
    assert len(probes) == 3  # second, third, and the other person's
    await asyncio.wait_for(second.pings.opened.wait(), TIMEOUT)
    second.ping.send("still here")
    assert await second.pings.text() == "still here"
    await probes.close()
