"""Trickle ICE: every field browsers send is accepted and checked, candidates that come while
the server is still answering the offer are kept and applied, and the end of candidates lets
the server see that ICE failed (signaling/media/trickle.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import RTCPeerConnection

from signaling.media.sfu import Sfu
from signaling.media.trickle import LIMIT
from tests.conftest import School, SchoolFactory
from tests.live import join, live_class, publish, slot_of, trickled
from web.live import LIVE

CHROME = {  # RTCIceCandidate.toJSON() in Chrome: usernameFragment was refused before
    "candidate": "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr "
    "0.0.0.0 rport 0 generation 0 ufrag sTjD network-id 1 network-cost 10",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "sTjD",
}
FIREFOX = {
    "candidate": "candidate:0 1 UDP 2122252543 198.51.100.4 54321 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "6f1c0b2e",
}
HOST = "candidate:1 1 udp 2130706431 192.0.2.9 5000 typ host"
# Each class of input: what browsers send (accepted), then what none would (refused).
ACCEPTED: list[dict[str, Any]] = [
    CHROME,
    FIREFOX,
    {**FIREFOX, "candidate": "candidate:1 1 tcp 1518280447 192.0.2.5 9 typ host tcptype active"},
    {
        **FIREFOX,
        "candidate": "candidate:3 1 udp 41885439 203.0.113.9 61234 typ relay raddr "
        "198.51.100.4 rport 54321",
    },  # fmt: skip
    {**FIREFOX, "candidate": "candidate:2 1 udp 2122262783 2001:db8::5 50000 typ host"},
    {**CHROME, "usernameFragment": None},  # older browsers
    {"candidate": HOST, "sdpMLineIndex": 0},  # only the index
    {"candidate": HOST, "sdpMid": "audio"},  # only the mid, whatever its name (BUNDLE)
    {**CHROME, "candidate": ""},  # Firefox's end of candidates, per section
    {"candidate": ""},  # the page's own end of candidates (the event's null)
]
INVALID_PAYLOAD: list[Any] = [
    {},
    {"sdpMid": "0"},
    {"candidate": None, "sdpMid": "0"},
    {**CHROME, "candidate": "a=" + CHROME["candidate"][10:]},  # an SDP line, not a candidate
    {**CHROME, "candidate": "hello"},
    {**CHROME, "candidate": "candidate:"},
    {**CHROME, "candidate": CHROME["candidate"] + "\r\na=evil"},
    {**CHROME, "candidate": "candidate:" + "1" * 1000},
    {"candidate": HOST},  # no section named
    {**CHROME, "sdpMid": None, "sdpMLineIndex": None},
    {**CHROME, "sdpMLineIndex": -1},
    {**CHROME, "sdpMLineIndex": 256},
    {**CHROME, "sdpMLineIndex": "0"},
    {**CHROME, "sdpMLineIndex": True},
    {**CHROME, "sdpMid": 0},
    {**CHROME, "sdpMid": "x" * 65},
    {**CHROME, "usernameFragment": "abc"},  # 4 to 256 ice-chars (RFC 8839)
    {**CHROME, "usernameFragment": "a b c d"},
    {**CHROME, "usernameFragment": "u" * 257},
    {**CHROME, "usernameFragment": 1234},
    {**CHROME, "extra": 1},
    "candidate:1 1 udp 1 192.0.2.9 5000 typ host",
    [CHROME],
]
INVALID_INPUT: list[dict[str, Any]] = [
    {**CHROME, "candidate": "candidate:garbage"},
    {**CHROME, "candidate": "candidate:1 1 udp 1 256.1.1.1 9 typ host"},
    {**CHROME, "candidate": "candidate:1 1 udp 1 192.0.2.9 70000 typ host"},
    {**CHROME, "candidate": "candidate:1 1 sctp 1 192.0.2.9 9 typ host"},
]


def sfu(school: School) -> Sfu:
    return school.server.app[LIVE].deps.sfu


def remote_candidates(pc: RTCPeerConnection) -> set[tuple[str, str, int]]:
    transport = pc.getTransceivers()[0].receiver.transport.transport
    return {(c.type, c.ip, c.port) for c in transport.getRemoteCandidates()}


async def test_every_field_browsers_send_is_accepted_and_nothing_else(
    school_with: SchoolFactory,
) -> None:
    school = await school_with(live_rate_limits=False)  # more candidates than a browser sends
    setup = await live_class(school, students=1)
    student = await join(school, *setup.students[0], setup.lesson["id"])
    for peer in (False, True):  # before the first offer (they wait), then with a peer
        if peer:
            await publish(student)
        for payload in ACCEPTED:
            assert (await student.call("media:candidate", payload)).get("ok"), (peer, payload)
        for payload in INVALID_PAYLOAD:
            ack = await student.call("media:candidate", payload)
            assert ack["error"]["code"] == "invalid_payload", (peer, payload, ack)
        for payload in INVALID_INPUT:
            ack = await student.call("media:candidate", payload)
            assert ack["error"]["code"] == "invalid_input", (peer, payload, ack)
            assert ack["error"]["message"] == "That ICE candidate could not be read."
    assert (await student.call("chat:send", {"text": "still here"})).get("ok")
    await student.close()


async def test_candidates_sent_while_the_offer_is_answered_reach_the_new_peer(
    school: School,
) -> None:
    setup = await live_class(school, students=1)
    tutor = await join(school, *setup.tutor, setup.lesson["id"])
    await publish(tutor)
    student = await join(school, *setup.students[0], setup.lesson["id"])
    bot = await publish(student, trickle=True)  # the offer without candidates, then each one
    _, sent = trickled(bot.pc.localDescription.sdp)
    peer = sfu(school).peer(setup.lesson["id"], student.user.id)
    assert peer is not None
    wanted = {("host", *c["candidate"].split()[4:6]) for c in sent if c["candidate"]}
    have = {(kind, ip, str(port)) for kind, ip, port in remote_candidates(peer.pc)}
    assert wanted and wanted <= have  # not only learnt from the checks (prflx): all of them
    index = await slot_of(student, tutor.user.id)
    await bot.until(lambda: bot.received[("video", index)] > 10)
    for member in (student, tutor):
        await member.close()


async def test_the_end_of_candidates_lets_the_server_tell_that_ice_failed(school: School) -> None:
    """A browser whose candidates the server cannot reach: once it says it has no more, the
    server gives up at once and says so (media:failed), instead of waiting for ever."""
    setup = await live_class(school, students=1)
    student = await join(school, *setup.students[0], setup.lesson["id"])
    hello = await student.call("hello", {"after": 0})
    pc = RTCPeerConnection()
    for kind in ["audio", "video", "video"] + ["audio"] * hello["media"]["slots"]:
        pc.addTransceiver(kind)
    for _ in range(hello["media"]["slots"] + 1):
        pc.addTransceiver("video")
    await pc.setLocalDescription(await pc.createOffer())
    offer, candidates = trickled(pc.localDescription.sdp)
    await pc.close()  # it will answer no connectivity check
    end = candidates[-1]
    assert end["candidate"] == ""
    # The end comes while the server is still answering the offer: it waits for the peer.
    answer, ack = await asyncio.gather(
        student.call("media:offer", {"type": "offer", "sdp": offer}),
        student.call("media:candidate", end),
    )
    assert "sdp" in answer and ack.get("ok"), (answer, ack)
    failed = await student.events.wait("media:failed")
    assert failed["reason"] == "ice" and failed["message"]
    assert sfu(school).peer(setup.lesson["id"], student.user.id) is None
    await student.close()


async def test_candidates_of_another_offer_wait_a_few_at_most_and_never_reach_this_peer(
    school_with: SchoolFactory,
) -> None:
    school = await school_with(live_rate_limits=False)
    setup = await live_class(school, students=1)
    tutor = await join(school, *setup.tutor, setup.lesson["id"])
    await publish(tutor)
    student = await join(school, *setup.students[0], setup.lesson["id"])
    stale = [
        {**FIREFOX, "usernameFragment": "0ld0ffer", "candidate": f"candidate:{n} 1 udp 1 "
                                                                 f"198.51.100.{n} 9 typ host"}
        for n in range(LIMIT)
    ]  # fmt: skip
    for payload in stale:
        assert (await student.call("media:candidate", payload)).get("ok")
    ack = await student.call("media:candidate", {**stale[0], "candidate": HOST})
    assert ack["error"]["code"] == "invalid_input", ack
    assert ack["error"]["message"] == "Too many ICE candidates came before their media offer."
    bot = await publish(student, trickle=True)
    peer = sfu(school).peer(setup.lesson["id"], student.user.id)
    assert peer is not None
    assert not {ip for _, ip, _ in remote_candidates(peer.pc)} & {
        f"198.51.100.{n}" for n in range(LIMIT)
    }
    index = await slot_of(student, tutor.user.id)
    await bot.until(lambda: bot.received[("video", index)] > 10)
    # The queue is empty again: new candidates of the next offer are welcome.
    assert (await student.call("media:candidate", stale[0])).get("ok")
    for member in (student, tutor):
        await member.close()
