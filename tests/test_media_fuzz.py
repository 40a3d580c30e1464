"""Seeded fuzzing of the media layer's two inputs from the network: SDP offers (through a real
Socket.IO client) and UDP datagrams (at the media ports of two real aiortc peers exchanging
media). Bounded to run in well under a minute; KELAS_FUZZ_EXAMPLES (tests/fuzz.py, default 25)
scales it: 250 runs ten times as many cases (KELAS_FUZZ_SEED picks another seed)."""

from __future__ import annotations

import random
import struct
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from aioice import stun

from signaling.media.peer import Peer
from tests.conftest import School, SchoolFactory
from tests.fuzz import EXAMPLES, SEED
from tests.live import Member, join, live_class, publish
from tests.test_media_input import (
    SQLITE_ONLY,
    Address,
    browser_like,
    flowing,
    media_addresses,
    publishing,
    send_as,
    send_from_elsewhere,
    send_protected_as,
    server_peer,
    tracebacks,
)
from web.live import LIVE

SCALE = max(1, EXAMPLES // 25)
OFFERS = 150 * SCALE
DATAGRAMS = 200 * SCALE  # per class of junk, per way of sending it
BATCH = 100  # datagrams sent before waiting for the server to count them

Lines = list[str]


# -- SDP ------------------------------------------------------------------------------


def _sections(lines: Lines) -> list[int]:
    return [i for i, line in enumerate(lines) if line.startswith("m=")] + [len(lines)]


def _drop(rng: random.Random, lines: Lines) -> Lines:
    del lines[rng.randrange(len(lines))]
    return lines


def _duplicate(rng: random.Random, lines: Lines) -> Lines:
    i = rng.randrange(len(lines))
    lines.insert(rng.randrange(len(lines)), lines[i])
    return lines


def _swap(rng: random.Random, lines: Lines) -> Lines:
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return lines


def _truncate(rng: random.Random, lines: Lines) -> Lines:
    text = "\r\n".join(lines)
    return text[: rng.randrange(len(text))].split("\r\n")


def _flip(rng: random.Random, lines: Lines) -> Lines:
    i = rng.randrange(len(lines))
    if lines[i]:
        at = rng.randrange(len(lines[i]))
        new = rng.choice([chr(rng.randrange(32, 127)), chr(rng.randrange(0x80, 0x2FFF)), "\ufffd"])
        lines[i] = lines[i][:at] + new + lines[i][at + 1 :]
    return lines


def _huge(rng: random.Random, lines: Lines) -> Lines:
    i = rng.randrange(len(lines))
    number = rng.choice(["9" * rng.randint(10, 60), "-1", "0", str(2**64), "1e999", "NaN"])
    lines[i] = "".join(number if c.isdigit() and rng.random() < 0.3 else c for c in lines[i])
    return lines


def _control(rng: random.Random, lines: Lines) -> Lines:
    i = rng.randrange(len(lines))
    at = rng.randrange(len(lines[i]) + 1)
    char = chr(rng.choice([*range(0, 9), 11, 12, *range(14, 32), 127]))
    lines[i] = lines[i][:at] + char + lines[i][at:]
    return lines


def _without(prefix: str) -> Callable[[random.Random, Lines], Lines]:
    def remove(rng: random.Random, lines: Lines) -> Lines:
        return [line for line in lines if not line.startswith(prefix) or rng.random() < 0.2]

    return remove


def _swap_sections(rng: random.Random, lines: Lines) -> Lines:
    starts = _sections(lines)
    if len(starts) < 3:
        return lines
    parts = [lines[a:b] for a, b in zip(starts, starts[1:], strict=False)]
    i, j = rng.randrange(len(parts)), rng.randrange(len(parts))
    parts[i], parts[j] = parts[j], parts[i]
    return lines[: starts[0]] + [line for part in parts for line in part]


def _extra_section(rng: random.Random, lines: Lines) -> Lines:
    starts = _sections(lines)
    if len(starts) < 2:
        return lines
    k = rng.randrange(len(starts) - 1)
    copy = lines[starts[k] : starts[k + 1]]
    if rng.random() < 0.3:
        copy = ["m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:dc", "a=sctp-port:5000"]
    return lines + copy


def _payload_types(rng: random.Random, lines: Lines) -> Lines:
    media = [i for i, line in enumerate(lines) if line.startswith(("m=", "a=rtpmap:"))]
    if media:
        i = rng.choice(media)
        bad = str(rng.choice([80, 128, 255, 300, -5, 2**40, 0, 127, 64]))
        lines[i] = " ".join(
            bad if p.isdigit() and rng.random() < 0.5 else p for p in lines[i].split(" ")
        )
        lines[i] = lines[i].replace(lines[i].split(":")[-1].split(" ")[0], bad, 1)
    return lines


def _junk_line(rng: random.Random, lines: Lines) -> Lines:
    alphabet = "".join(chr(c) for c in (*range(0x20, 0x7F), *range(0xA0, 0x100), 0xFFFD, 0x1F600))
    junk = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
    prefix = rng.choice(["a=", "a=candidate:", "a=ssrc:", "a=fingerprint:", "", "m=", "c=", "b="])
    lines.insert(rng.randrange(len(lines) + 1), prefix + junk)
    return lines


def _direction(rng: random.Random, lines: Lines) -> Lines:
    found = [i for i, line in enumerate(lines) if line in ("a=sendonly", "a=recvonly")]
    if found:
        lines[rng.choice(found)] = rng.choice(["a=inactive", "a=sendrecv", "a=recvonly"])
    return lines


def _candidate(rng: random.Random, lines: Lines) -> Lines:
    host = rng.choice(["10.0.0.1", "::1", "foo.local", "256.1.1.1", "example.invalid", ""])
    port = rng.choice(["9", "0", "70000", "-1", "x"])
    line = f"a=candidate:1 1 udp {rng.randrange(2**32)} {host} {port} typ host"
    lines.insert(rng.randrange(len(lines) + 1), line)
    return lines


MUTATIONS = [
    _drop, _duplicate, _swap, _truncate, _flip, _huge, _control,
    _without("a=fingerprint:"), _without("a=ice-ufrag:"), _without("a=ice-pwd:"),
    _without("a=setup:"), _without("a=rtcp-mux"), _without("a=group:"), _without("a=mid:"),
    _swap_sections, _extra_section, _payload_types, _junk_line, _direction, _candidate,
]  # fmt: skip


def mutate(rng: random.Random, sdp: str) -> tuple[str, list[str]]:
    lines = sdp.split("\r\n")
    applied = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        mutation = rng.choice(MUTATIONS)
        applied.append(getattr(mutation, "__name__", "?"))
        lines = mutation(rng, lines) or [""]
    return "\r\n".join(lines), applied


@SQLITE_ONLY
@pytest.mark.timeout(60 * SCALE)
async def test_mutated_offers_are_answered_or_refused_cleanly(
    school_with: SchoolFactory, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(SEED)
    school = await school_with(live_rate_limits=False)  # offer after offer, on purpose
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    slots = (await tutor.call("hello", {"after": 0}))["media"]["slots"]
    client = await browser_like(slots)
    offer = client.localDescription.sdp
    await client.close()
    outcomes: Counter[str] = Counter()
    try:
        for case in range(OFFERS):
            sdp, applied = mutate(rng, offer)
            ack = await tutor.call("media:offer", {"type": "offer", "sdp": sdp})
            outcome = "answer" if "sdp" in ack else ack.get("error", {}).get("code", "?")
            outcomes[outcome] += 1
            assert outcome in ("answer", "invalid_input", "invalid_payload"), (case, applied, ack)
        # The room goes on: the tutor publishes again, a fresh student publishes, both receive.
        student = await join(school, *setup.students[0], lesson_id)
        await publish(tutor)
        await publish(student)
        await flowing(student, tutor)
        await flowing(tutor, student)
        await student.close()
    finally:
        await tutor.close()
    print(f"\nSDP fuzz: {OFFERS} offers, seed {SEED}: {dict(outcomes)}")
    assert tracebacks(caplog) == []


# -- datagrams --------------------------------------------------------------------------


def _stun_junk(rng: random.Random) -> bytes:
    attributes = b""
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice([*stun.ATTRIBUTES_BY_TYPE, rng.randrange(0x10000)])
        value = rng.randbytes(rng.choice([0, 1, 2, 3, 4, 6, 8, 20, rng.randint(0, 64)]))
        attributes += struct.pack("!HH", kind, len(value)) + value + b"\x00" * (-len(value) % 4)
    method = rng.choice([0x0001, 0x0101, 0x0111, 0x0011, rng.randrange(0x4000)])
    length = len(attributes) if rng.random() < 0.8 else rng.randrange(0x10000)
    cookie = 0x2112A442 if rng.random() < 0.8 else rng.randrange(2**32)
    return struct.pack("!HHI12s", method, length, cookie, rng.randbytes(12)) + attributes


def _rtp_header(rng: random.Random, ssrc: int | None = None) -> bytes:
    first = rng.choice([0x80, 0x90, 0xA0, 0x8F, 0xBF, rng.randrange(0x80, 0xC0)])
    payload_type = rng.choice([96, 97, 111, rng.randrange(128)])
    ssrc = rng.randrange(2**32) if ssrc is None else ssrc
    return struct.pack(
        "!BBHII", first, payload_type, rng.randrange(2**16), rng.randrange(2**32), ssrc
    )


JUNK: dict[str, Callable[[random.Random, int], bytes]] = {
    "empty": lambda rng, ssrc: b"",
    "random": lambda rng, ssrc: rng.randbytes(rng.randint(1, 1400)),
    "stun": lambda rng, ssrc: _stun_junk(rng),
    "rtp bad header": lambda rng, ssrc: _rtp_header(rng) + rng.randbytes(rng.randint(0, 300)),
    "rtp too short": lambda rng, ssrc: (
        bytes([rng.randrange(0x80, 0xC0)]) + rng.randbytes(rng.randint(0, 10))
    ),
    "rtp wrong ssrc": lambda rng, ssrc: _rtp_header(rng) + rng.randbytes(rng.randint(10, 300)),
    "srtp bad auth": lambda rng, ssrc: _rtp_header(rng, ssrc) + rng.randbytes(rng.randint(10, 300)),
    "rtcp": lambda rng, ssrc: (
        bytes([rng.randrange(0x80, 0xC0), rng.randrange(192, 209)])
        + rng.randbytes(rng.randint(0, 200))
    ),
    "dtls": lambda rng, ssrc: (
        bytes([rng.randrange(20, 64)])
        + rng.choice([b"\xfe\xfd", b"\xfe\xff", rng.randbytes(2)])
        + rng.randbytes(rng.randint(0, 300))
    ),
}


def surely_dropped(data: bytes, as_peer: bool) -> bool:
    """Whether the guard must count this datagram. From elsewhere: all but STUN-range
    datagrams (aioice may take them). From the participant: those too, and DTLS-range ones
    (OpenSSL discards bad records quietly); the rest must be dropped."""
    if not data:
        return True
    if data[0] < 4:
        return False
    return not (as_peer and 20 <= data[0] < 64)


async def blast(
    watcher: Member,
    peer: Peer,
    send: Callable[[list[bytes]], Awaitable[None]],
    datagrams: list[bytes],
    *,
    as_peer: bool,
    copies: int = 1,
) -> None:
    """Send in batches; after each, wait until ``peer``'s gate has counted what it must (and
    the socket buffers have room again)."""
    assert watcher.bot is not None
    for start in range(0, len(datagrams), BATCH):
        batch = datagrams[start : start + BATCH]
        floor = peer.gate.dropped + copies * sum(surely_dropped(d, as_peer) for d in batch)
        await send(batch)
        try:
            await watcher.bot.until(lambda floor=floor: peer.gate.dropped >= floor)  # type: ignore[misc]
        except TimeoutError:
            raise AssertionError(f"counted {peer.gate.dropped} of {floor}: {batch[:5]}") from None


@SQLITE_ONLY
@pytest.mark.timeout(60 * SCALE)
async def test_junk_datagrams_while_media_flows_stop_no_one(
    school: School, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(SEED)
    sent: Counter[str] = Counter()
    async with publishing(school) as (tutor, student):
        members = (tutor, student)
        peers = {m.user.id: server_peer(school, m) for m in members}
        before = school.server.app[LIVE].deps.sfu.stats()["datagrams_dropped"]
        for name, make in JUNK.items():
            for member in members:
                peer = peers[member.user.id]
                assert member.bot is not None
                ssrc = member.bot.pc.getTransceivers()[1].sender._ssrc
                addresses = media_addresses(peer)

                async def elsewhere(batch: list[bytes], to: list[Address] = addresses) -> None:
                    await send_from_elsewhere(to, batch)

                async def own(batch: list[bytes], who: Member = member) -> None:
                    await send_as(who, batch)

                junk = [make(rng, ssrc) for _ in range(DATAGRAMS)]
                await blast(student, peer, elsewhere, junk, as_peer=False, copies=len(addresses))
                junk = [make(rng, ssrc) for _ in range(DATAGRAMS)]
                await blast(student, peer, own, junk, as_peer=True)
                sent[name] += DATAGRAMS * (len(addresses) + 1)
        # What the participant's own (authenticated) connection could send that is wrong.
        for member in members:
            for _ in range(0, DATAGRAMS, BATCH):
                rtp = [_rtp_header(rng) + rng.randbytes(rng.randint(0, 200)) for _ in range(BATCH)]
                rtcp = [JUNK["rtcp"](rng, 0) for _ in range(BATCH)]
                sent["authenticated rtp"] += await send_protected_as(member, rtp)
                sent["authenticated rtcp"] += await send_protected_as(member, rtcp, rtcp=True)
                await flowing(student, tutor, packets=2)
        # Both keep receiving the other, and the server counted what it dropped.
        await flowing(student, tutor)
        await flowing(tutor, student)
        assert all(peer.pc.connectionState == "connected" for peer in peers.values())
        dropped = {uid: peer.gate.dropped for uid, peer in peers.items()}
        stats = school.server.app[LIVE].deps.sfu.stats()
        assert stats["datagrams_dropped"] - before == sum(dropped.values())
    print(
        f"\ndatagram fuzz, seed {SEED}: sent {dict(sent)}, {sum(sent.values())} in all;"
        f" dropped and counted, per peer: {dropped}"
    )
    assert tracebacks(caplog) == []
