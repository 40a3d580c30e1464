"""A student whose network blocks UDP takes the class through TURN, in real Chromium.

Sinta's Chromium runs in a network namespace (tests/netns.py) whose one link to the host
drops every UDP datagram; the Kelas server, coturn (deploy/turnserver.conf, tests/turn_server.py)
and the tutor's Chromium are on the host. The school requires the relay
(KELAS_ICE_TRANSPORT_POLICY=relay), so the pages gather relay candidates only: Sinta's
reach coturn over TCP, or, when her network lets TCP out only to the web server and to TURN
over TLS (as a network that opens only 443 does), over TLS, with a certificate her browser
trusts as a user-added CA.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aioice.ice import get_host_addresses
from playwright.async_api import Page, expect

from tests import netns
from tests.conftest import TurnFactory
from tests.e2e.conftest import serve, snapshot
from tests.e2e.live_class import PEOPLE, class_with_people, enter, until
from tests.e2e.network import MEASURE, record, trusting_home, two_sides


async def sees_and_hears(page: Page, user_id: int, colour: tuple[int, int, int]) -> None:
    await page.wait_for_function(
        "([id, colour]) => probe.showsColour(id, colour)", arg=[user_id, list(colour)]
    )
    await until(page, "async () => (await probe.audibleStreams()) >= 1")


async def path_of(page: Page) -> dict[str, object]:
    """The ICE path ``page`` uses, once it has one (a page's stats may lag its media)."""
    await until(page, "async () => (await measure.path()) !== null")
    path: dict[str, object] = await page.evaluate("measure.path()")
    return path


@pytest.mark.parametrize("transport", ["tcp", "tls"])
async def test_a_student_whose_network_blocks_udp_takes_the_class_through_turn(
    link: netns.Link, database_url: str, start_turn: TurnFactory, tmp_path: Path, transport: str
) -> None:
    link.block_udp()
    # coturn on the host's end of the link; it relays to this machine's own addresses (the
    # server's candidates), which the shipped configuration denies as private.
    turn = await start_turn(allowed_peers=tuple(get_host_addresses(True, True)), host=link.host_ip)
    lesson_id, users = await class_with_people(database_url)
    relay_only = {"turn_urls": turn.urls(), "turn_secret": turn.secret,
                  "ice_transport_policy": "relay"}  # fmt: skip
    async with serve(database_url, link.host_ip, **relay_only) as server:
        base = server.url
        if transport == "tls":  # only the web server and TURN over TLS: no TURN over TCP
            link.allow_tcp_only_to(int(base.rsplit(":", 1)[1]), turn.tls_port)
        home = {"HOME": str(trusting_home(tmp_path / "home", turn.cert))}
        async with two_sides(link, base, tmp_path, home) as (host, behind):
            tutor = await enter(host, base, "Tari Tutor", users["Tari Tutor"], lesson_id)
            await tutor.wait_for_function("() => window.kelasLive?.media != null")
            sinta = await enter(behind, base, "Sinta Student", users["Sinta Student"], lesson_id)
            for page in (tutor, sinta):
                await page.evaluate(MEASURE)
            # Media both ways: each sees the other's colour and hears the other's tone.
            await sees_and_hears(sinta, users["Tari Tutor"].id, PEOPLE["Tari Tutor"][0])
            await sees_and_hears(tutor, users["Sinta Student"].id, PEOPLE["Sinta Student"][0])
            path = await path_of(sinta)
            assert path["type"] == "relay" and path["relayProtocol"] == transport, path
            assert (await path_of(tutor))["type"] == "relay"
            # Chat both ways.
            await sinta.get_by_placeholder("Write a message").fill("Halo dari kantor!")
            await sinta.get_by_role("button", name="Send").click()
            await expect(tutor.locator("#chat-log")).to_contain_text("Halo dari kantor!")
            await tutor.get_by_placeholder("Write a message").fill("Selamat datang, Sinta!")
            await tutor.get_by_role("button", name="Send").click()
            await expect(sinta.locator("#chat-log")).to_contain_text("Selamat datang, Sinta!")
            await sinta.wait_for_function("() => window.kelasLive.firstFrameMs !== undefined")
            first_frame = await sinta.evaluate("() => window.kelasLive.firstFrameMs")
            await snapshot(sinta, f"relay-{transport}-student")
            blocked = link.drops()
    assert blocked > 0  # the browser did try UDP (or TURN over TCP), and was refused
    record(f"relay_{transport}", {"join_to_first_frame_ms": first_frame, "path": path,
                                  "packets_blocked": blocked})  # fmt: skip
