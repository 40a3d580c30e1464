"""Each person's own connection in a real browser: the bars beside their controls, and when
their link turns bad, "Your connection is unstable" for them and "Sinta Student's connection
is unstable" for the tutor. The bad link is made at the wire: the server's datagrams to Sinta
lose one RTP packet in four (after SRTP, as a network would), nothing else changes."""

from __future__ import annotations

import itertools
from typing import Any

from playwright.async_api import Browser

from tests.e2e.conftest import LiveServer, snapshot
from tests.e2e.live_class import class_with_people, enter, remote_video_flows
from web.live import LIVE

NOTICE_MS = 20000  # a few receiver reports (about one a second) and a stats reading (2 s)


class Lossy:
    """The server's socket towards one peer, losing every ``every``-th RTP datagram (RTCP,
    DTLS and STUN go through); everything else is the socket's own."""

    def __init__(self, transport: Any, every: int) -> None:
        self._transport, self._every, self._counter = transport, every, itertools.count()

    def sendto(self, data: bytes, addr: Any = None) -> None:
        rtp = len(data) > 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 223
        if rtp and next(self._counter) % self._every == 0:
            return
        self._transport.sendto(data, addr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


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
    pair.protocol.transport = Lossy(pair.protocol.transport, every=4)

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
    assert errors == [], errors
    for page in (sinta, tutor):
        await page.context.close()
