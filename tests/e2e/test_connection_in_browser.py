"""Each person's own connection in a real browser: the bars beside their controls, and when
their link turns bad, "Your connection is unstable" for them and "Sinta Student's connection
is unstable" for the tutor. The bad link is made at the wire: the server's datagrams to Sinta
lose one RTP packet in four at random (an nftables rule on the way out of the server's
socket towards her: RTCP, DTLS and STUN go through), nothing else changes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from playwright.async_api import Browser, Page

from tests.e2e.conftest import LiveServer, snapshot
from tests.e2e.live_class import class_with_people, enter, remote_video_flows
from tests.netns import run
from web.live import LIVE

NOTICE_MS = 20000  # a few receiver reports (about one a second) and a stats reading (2 s)


@contextlib.contextmanager
def lossy(local: tuple[str, int], remote: tuple[str, int], every: int) -> Iterator[None]:
    """Datagrams from ``local`` to ``remote`` lose one RTP packet in ``every`` at random
    (RTCP, whose second byte is 192-223, DTLS and STUN go through), while the block runs."""
    table = f"kelas-lossy-{os.getpid()}"
    run("nft", "add", "table", "inet", table)
    try:
        run("nft", "add", "chain", "inet", table, "out",
            "{ type filter hook output priority 0 ; }")  # fmt: skip
        rtp = "@th,64,8 & 0xc0 == 0x80 @th,72,8 != 192-223"  # version 2, not RTCP
        ip = "ip6" if ":" in local[0] else "ip"
        run("nft", "add", "rule", "inet", table, "out",
            ip, "saddr", local[0], "udp", "sport", str(local[1]),
            ip, "daddr", remote[0], "udp", "dport", str(remote[1]),
            *rtp.split(), "numgen", "random", "mod", str(every), "==", "0", "drop")  # fmt: skip
        yield
    finally:
        run("nft", "delete", "table", "inet", table)


async def test_a_bad_link_is_told_to_the_person_and_to_the_tutor(
    browser: Browser, live_server: LiveServer, database_url: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    base = live_server.url
    tutor = await enter(browser, base, "Tari Tutor", users["Tari Tutor"], lesson_id)
    sinta = await enter(browser, base, "Sinta Student", users["Sinta Student"], lesson_id)
    errors: list[str] = []
    for page in (tutor, sinta):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    await remote_video_flows(sinta, 1)
    await remote_video_flows(tutor, 1)
    # On this machine's loopback, everyone's own bars say good.
    for page in (tutor, sinta):
        await page.locator(
            '#controls #my-quality.quality-good[title^="Connection good"]'
        ).wait_for()
    assert await sinta.locator("#net-notice").is_hidden()

    peer = live_server.app[LIVE].deps.sfu.peer(lesson_id, users["Sinta Student"].id)
    assert peer is not None
    ice = peer.pc.getTransceivers()[0].sender.transport.transport  # one, bundled
    pair = ice._connection._nominated[1]  # where forwarded packets leave (media/wire.py)
    local = pair.local_candidate
    with lossy((local.host, local.port), pair.remote_addr, every=4):
        await told_unstable(sinta, tutor)
    assert errors == [], errors
    for page in (sinta, tutor):
        await page.context.close()


async def told_unstable(sinta: Page, tutor: Page) -> None:
    notice = sinta.locator("#net-notice")
    await notice.get_by_text("Your connection is unstable.").wait_for(timeout=NOTICE_MS)
    await sinta.locator("#my-quality.quality-poor").wait_for(timeout=NOTICE_MS)
    await snapshot(sinta, "connection-unstable-student")
    told = tutor.locator("#net-notice")
    await told.get_by_text("Sinta Student's connection is unstable.").wait_for(timeout=NOTICE_MS)
    await snapshot(tutor, "connection-unstable-tutor")
    # The problem is on Sinta's side: the tutor's own connection is still good.
    assert await tutor.locator("#my-quality.quality-good").count() == 1
    # A short notice, not a banner that stays.
    await notice.wait_for(state="hidden", timeout=NOTICE_MS)
