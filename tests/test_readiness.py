"""The setup check over HTTP: a real aiortc peer runs its network part against the server's
own peers (directly, and through a real coturn), results are kept per person with the paths
their receipts prove, and coordinators read who is not ready before a class."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aioice.ice import get_host_addresses
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom.models import Attendance, Role
from tests.check_client import ice_servers, measure, offer
from tests.conftest import School, SchoolFactory, TurnFactory, Visitor, now
from tests.helpers import Clock, new_class
from tests.test_school_socket import open_page

DEVICES = {"mic": "ok", "camera": "ok", "stun": "none", "turn": "none"}
SECRET = "correct-horse-battery-staple"


async def network_check(visitor: Visitor, relay: bool = False) -> dict[str, Any]:
    """The direct path (and with ``relay``, the relay path too), as the page runs them:
    what the page then sends, minus the devices."""
    servers = await ice_servers(visitor)
    direct = await offer(visitor, [s for s in servers if "username" not in s])
    found = await measure(direct)
    receipts = [direct.receipt["receipt"]]
    assert direct.receipt["path"] == direct.answer["path"] == "direct"
    await direct.close()
    if relay:
        through = await offer(visitor, [s for s in servers if "username" in s], relay=True)
        assert through.receipt["path"] == through.answer["path"] == "relay"
        receipts.append(through.receipt["receipt"])
        await through.close()
    return {**found, "receipts": receipts}


async def test_a_real_peer_checks_its_path_and_the_result_is_kept_for_the_person(
    school: School,
) -> None:
    user, student = await school.join(Role.STUDENT, "Sinta")
    status, body = await student.api("GET", "/api/v1/me/checks/latest")
    assert (status, body) == (200, {"check": None})

    measured = await network_check(student)
    assert 0 <= measured["rtt_ms"] < 1000 and measured["down_kbps"] > 0
    status, check = await student.api("POST", "/api/v1/me/checks", {**DEVICES, **measured})
    assert status == 201, check
    assert check["udp"] == "ok" and check["relay"] == "none"  # no TURN in this school
    assert (check["stun"], check["turn"]) == ("none", "none")
    assert check["verdict"] in ("ok", "warn") and "no_path" not in check["reasons"]
    assert check["rtt_ms"] == measured["rtt_ms"]
    status, body = await student.api("GET", "/api/v1/me/checks/latest")
    assert status == 200 and body["check"] == check

    # Devices that do not work fail the check, whatever the network says.
    status, failed = await student.api(
        "POST", "/api/v1/me/checks", {**DEVICES, "mic": "denied", "camera": "missing"}
    )
    assert status == 201 and failed["verdict"] == "failed"
    assert failed["reasons"] == ["mic", "no_path"]  # and no receipt: no path either
    status, body = await student.api("GET", "/api/v1/me/checks/latest")
    assert body["check"]["checked_at"] >= check["checked_at"]
    assert body["check"]["verdict"] == "failed"
    assert user.id == student.user["id"]


async def test_through_a_real_turn_relay_too(
    school_with: SchoolFactory, start_turn: TurnFactory
) -> None:
    """The school has a coturn (its shipped configuration, allowed to relay to this
    machine's own addresses): the check's second peer connection gathers relay candidates
    only and reaches the server through it."""
    turn = await start_turn(allowed_peers=tuple(get_host_addresses(True, True)))
    udp, _, _ = turn.urls()
    school = await school_with(
        stun_urls=(udp.replace("turn:", "stun:").split("?")[0],),
        turn_urls=(udp,),
        turn_secret=turn.secret,
    )
    _, student = await school.join(Role.STUDENT)
    servers = await ice_servers(student)
    assert [set(s) for s in servers] == [{"urls"}, {"urls", "username", "credential"}]
    measured = await network_check(student, relay=True)
    report = {**DEVICES, "stun": "ok", "turn": "ok", **measured}
    status, check = await student.api("POST", "/api/v1/me/checks", report)
    assert status == 201, check
    assert (check["udp"], check["relay"], check["turn"]) == ("ok", "ok", "ok")
    # Without a relay receipt, the relay is not taken on the browser's word.
    status, check = await student.api(
        "POST", "/api/v1/me/checks", {**report, "receipts": measured["receipts"][:1]}
    )
    assert check["relay"] == "failed" and "relay_failed" in check["reasons"]
    assert check["verdict"] == "warn"


async def test_receipts_prove_only_their_own_persons_path_and_not_for_long(
    school_with: SchoolFactory,
) -> None:
    clock = Clock()
    school = await school_with(clock=clock)
    _, sinta = await school.join(Role.STUDENT, "Sinta")
    _, bayu = await school.join(Role.STUDENT, "Bayu")
    receipts = (await network_check(sinta))["receipts"]
    status, check = await bayu.api("POST", "/api/v1/me/checks", {**DEVICES, "receipts": receipts})
    assert status == 201 and check["udp"] == "failed" and check["verdict"] == "failed"
    forged = receipts[0][:-3] + ("AAA" if not receipts[0].endswith("AAA") else "BBB")
    status, check = await sinta.api("POST", "/api/v1/me/checks", {**DEVICES, "receipts": [forged]})
    assert check["udp"] == "failed"
    clock.offset = timedelta(minutes=11)
    status, check = await sinta.api("POST", "/api/v1/me/checks", {**DEVICES, "receipts": receipts})
    assert check["udp"] == "failed"
    clock.offset = timedelta(0)
    status, check = await sinta.api("POST", "/api/v1/me/checks", {**DEVICES, "receipts": receipts})
    assert check["udp"] == "ok" and check["verdict"] == "ok"


async def test_coordinators_see_who_is_not_ready_before_a_class(
    school_with: SchoolFactory,
) -> None:
    """Through the API, in the live view's "starting in the next hour" (school:state) and on
    the class's page: the tutor and the booked students whose newest check failed, is older
    than the school's limit, or was never run."""
    clock = Clock()
    school = await school_with(clock=clock, check_max_age=timedelta(days=30))
    coordinator_user, coordinator = await school.join(Role.COORDINATOR)
    tutor_user, tutor = await school.join(Role.TUTOR, "Tari")
    lesson = (await new_class(coordinator, hours=0.5, tutor_id=tutor_user.id))["lessons"][0]
    students = {}
    for name in ("Ayu", "Bayu", "Citra", "Dewi"):
        _, students[name] = await school.join(Role.STUDENT, name)
        status, _ = await students[name].api("POST", f"/api/v1/classes/{lesson['id']}/booking")
        assert status == 201
    receipts = (await network_check(students["Ayu"]))["receipts"]
    ok = {**DEVICES, "receipts": receipts}
    assert (await students["Ayu"].api("POST", "/api/v1/me/checks", ok))[0] == 201
    # Bayu's check failed; Citra's passed 40 days ago; Dewi never ran one.
    assert (await students["Bayu"].api("POST", "/api/v1/me/checks", DEVICES))[0] == 201
    clock.offset = -timedelta(days=40)
    citra_receipts = (await network_check(students["Citra"]))["receipts"]
    citra = {**DEVICES, "receipts": citra_receipts}
    assert (await students["Citra"].api("POST", "/api/v1/me/checks", citra))[0] == 201
    clock.offset = timedelta(0)
    expected = {"Tari": "never", "Bayu": "failed", "Citra": "stale", "Dewi": "never"}

    status, people = await coordinator.api("GET", f"/api/v1/classes/{lesson['id']}/readiness")
    assert status == 200, people
    standing = {p["user"]["name"]: p["standing"] for p in people}
    assert standing == {**expected, "Ayu": "ready"}
    assert [p["user"]["role"] for p in people][:2] == ["tutor", "student"]
    ayu = next(p for p in people if p["user"]["name"] == "Ayu")
    assert ayu["check"]["udp"] == "ok"

    board = await open_page(school, coordinator)
    state = (await board.call("school:state"))["state"]
    (starting,) = [c for c in state["starting"] if c["lesson_id"] == lesson["id"]]
    assert {p["name"]: p["standing"] for p in starting["unready"]} == expected
    assert [p["name"] for p in starting["unready"]] == ["Tari", "Bayu", "Citra", "Dewi"]
    citra_seen = next(p for p in starting["unready"] if p["name"] == "Citra")
    assert citra_seen["checked_at"] is not None and citra_seen["role"] == "student"
    # Dewi checks now: she is off the list the next time the view is computed.
    dewi = {**DEVICES, "receipts": (await network_check(students["Dewi"]))["receipts"]}
    assert (await students["Dewi"].api("POST", "/api/v1/me/checks", dewi))[0] == 201
    state = (await board.call("school:state"))["state"]
    (starting,) = [c for c in state["starting"] if c["lesson_id"] == lesson["id"]]
    assert "Dewi" not in {p["name"] for p in starting["unready"]}
    await board.client.disconnect()

    status, html = await coordinator.page(f"/classes/{lesson['id']}")
    assert status == 200
    for word in ('data-standing="never"', 'data-standing="failed"', 'data-standing="stale"',
                 'data-standing="ready"', "setup check failed", "setup never checked"):  # fmt: skip
        assert word in html, word
    # Only coordinators read other people's checks.
    for visitor in (tutor, students["Ayu"]):
        status, body = await visitor.api("GET", f"/api/v1/classes/{lesson['id']}/readiness")
        assert status == 403, body
        assert "data-standing" not in (await visitor.page(f"/classes/{lesson['id']}"))[1]
    status, body = await coordinator.api("GET", "/api/v1/classes/999999/readiness")
    assert status == 404
    assert coordinator_user.role == Role.COORDINATOR


async def test_nobody_anonymous_gets_ice_servers_a_peer_or_a_result(
    school_with: SchoolFactory,
) -> None:
    school = await school_with(turn_urls=("turn:127.0.0.1:3478",), turn_secret=SECRET)
    anonymous = await school.visitor()
    for method, path, body in (
        ("POST", "/api/v1/check/ice-servers", None),
        ("POST", "/api/v1/check/offer", {"type": "offer", "sdp": "v=0\r\n" * 3}),
        ("POST", "/api/v1/me/checks", DEVICES),
        ("GET", "/api/v1/me/checks/latest", None),
        ("GET", "/api/v1/classes/1/readiness", None),
    ):
        status, answer = await anonymous.api(method, path, body)
        assert status == 401, (path, answer)
        assert "credential" not in str(answer)
    status, _ = await anonymous.page("/check")
    assert status == 200  # the login page, which the check page sends them to


BAD_REPORTS: list[tuple[str, Any]] = [
    ("mic", "loud"), ("mic", None), ("mic", 1), ("camera", "on"), ("stun", "yes"),
    ("turn", ""), ("rtt_ms", -1), ("rtt_ms", 60_001), ("rtt_ms", "fast"), ("rtt_ms", 1.5),
    ("loss", 1.5), ("loss", -0.1), ("loss", "none"), ("down_kbps", -5),
    ("down_kbps", 10_000_001), ("up_kbps", 2**70), ("receipts", "abc"),
    ("receipts", ["1.direct.2.short"]), ("receipts", ["x" * 5000]),
    ("receipts", ["1.sideways.2." + "A" * 43]), ("receipts", [f"1.direct.2.{'A' * 43}"] * 5),
    ("udp", "ok"), ("user_id", 1), ("verdict", "ok"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value"), BAD_REPORTS)
async def test_every_field_of_a_result_is_checked(school: School, name: str, value: Any) -> None:
    _, student = await school.join(Role.STUDENT)
    status, body = await student.api("POST", "/api/v1/me/checks", {**DEVICES, name: value})
    assert status == 422, body
    assert body["error"]["code"] == "invalid_input"
    assert list(body["error"]["fields"]) == [name] or list(body["error"]["fields"])[0].startswith(
        name
    ), body
    status, body = await student.api("GET", "/api/v1/me/checks/latest")
    assert body == {"check": None}


async def test_a_result_must_be_json_with_every_device_named(school: School) -> None:
    _, student = await school.join(Role.STUDENT)
    status, body = await student.api("POST", "/api/v1/me/checks", {})
    assert status == 422 and set(body["error"]["fields"]) == {"mic", "camera", "stun", "turn"}
    async with student.client.post(
        "/api/v1/me/checks", data="mic=ok", headers={"X-CSRF-Token": student.csrf}
    ) as resp:
        assert resp.status == 422
    async with student.client.post("/api/v1/me/checks", json=DEVICES) as resp:
        assert resp.status == 403  # no CSRF token


BAD_OFFERS: list[Any] = [
    {"type": "answer", "sdp": "v=0\r\n" * 3},
    {"type": "offer"},
    {"type": "offer", "sdp": "short"},
    {"type": "offer", "sdp": "v=0\r\n" * 5000},
    {"type": "offer", "sdp": "v=0 not sdp at all"},
    {"type": "offer", "sdp": "v=0\r\n\x00\r\n"},
    {"type": "offer", "sdp": 42},
    {"type": "offer", "sdp": "v=0\r\n", "extra": 1},
]


@pytest.mark.parametrize("body", BAD_OFFERS)
async def test_a_bad_offer_is_refused_on_its_field(school: School, body: Any) -> None:
    _, student = await school.join(Role.STUDENT)
    status, answer = await student.api("POST", "/api/v1/check/offer", body)
    assert status == 422, answer
    assert set(answer["error"]["fields"]) <= {"type", "sdp", "extra"} and answer["error"]["fields"]


async def test_a_class_offer_or_a_mixed_one_is_refused(school: School) -> None:
    """The check's offer has one data section, and tries one path at a time."""
    from aiortc import RTCPeerConnection

    _, student = await school.join(Role.STUDENT)
    pc = RTCPeerConnection()
    pc.addTransceiver("audio")
    await pc.setLocalDescription(await pc.createOffer())
    status, answer = await student.api(
        "POST", "/api/v1/check/offer", {"type": "offer", "sdp": pc.localDescription.sdp}
    )
    assert status == 422 and "data channels" in answer["error"]["fields"]["sdp"]
    await pc.close()
    pc = RTCPeerConnection()
    pc.createDataChannel("bulk")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    host = next(line for line in sdp.split("\r\n") if line.startswith("a=candidate:"))
    relay = host.replace("typ host", "typ relay raddr 127.0.0.1 rport 9")
    mixed = sdp.replace(host, f"{host}\r\n{relay}")
    status, answer = await student.api(
        "POST", "/api/v1/check/offer", {"type": "offer", "sdp": mixed}
    )
    assert status == 422 and "one path" in answer["error"]["fields"]["sdp"]
    await pc.close()


async def test_each_person_has_a_rate_for_the_check(school_with: SchoolFactory) -> None:
    school = await school_with(check_per_minute=1, check_burst=3)
    _, sinta = await school.join(Role.STUDENT)
    _, bayu = await school.join(Role.STUDENT)
    for _ in range(3):
        assert (await sinta.api("POST", "/api/v1/check/ice-servers"))[0] == 200
    async with sinta.client.post(
        "/api/v1/me/checks", json=DEVICES, headers={"X-CSRF-Token": sinta.csrf}
    ) as resp:
        assert resp.status == 429 and 0 < int(resp.headers["Retry-After"]) <= 60
        assert (await resp.json())["error"]["code"] == "rate_limited"
    assert (await bayu.api("POST", "/api/v1/check/ice-servers"))[0] == 200  # his own rate


async def test_the_check_page_shows_the_persons_last_result_in_their_language(
    school: School,
) -> None:
    _, student = await school.join(Role.STUDENT, language="id")
    status, html = await student.page("/check")
    assert status == 200 and 'id="check-config"' in html
    assert "Anda belum memeriksa perangkat Anda." in html
    status, _ = await student.api("POST", "/api/v1/me/checks", {**DEVICES, "mic": "missing"})
    status, html = await student.page("/check")
    assert "belum siap" in html  # "not ready"
    assert "Kelas tidak dapat memakai mikrofon Anda." in html  # the reason, in Indonesian


async def test_the_class_page_suggests_the_check_before_a_persons_first_class(
    school: School, db: async_sessionmaker[AsyncSession]
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor_user, tutor = await school.join(Role.TUTOR)
    lesson = (await new_class(coordinator, hours=30, tutor_id=tutor_user.id))["lessons"][0]
    path = f"/classes/{lesson['id']}"
    _, student = await school.join(Role.STUDENT)
    assert (await student.api("POST", f"/api/v1/classes/{lesson['id']}/booking"))[0] == 201
    _, passer_by = await school.join(Role.STUDENT)
    for visitor, suggested in ((student, True), (tutor, True), (passer_by, False),
                               (coordinator, False)):  # fmt: skip
        status, html = await visitor.page(path)
        assert status == 200 and ('id="suggest-check"' in html) == suggested, visitor.user
    # A failed check is no reason to stop suggesting it; a passing one is.
    assert (await student.api("POST", "/api/v1/me/checks", DEVICES))[0] == 201
    assert 'id="suggest-check"' in (await student.page(path))[1]
    receipts = (await network_check(student))["receipts"]
    assert (await student.api("POST", "/api/v1/me/checks", {**DEVICES, "receipts": receipts}))[0]
    assert 'id="suggest-check"' not in (await student.page(path))[1]
    # Someone who has been in a live class before is past their first.
    async with db.begin() as session:
        session.add(Attendance(lesson_id=lesson["id"], user_id=tutor_user.id,
                               first_joined_at=now()))  # fmt: skip
    assert 'id="suggest-check"' not in (await tutor.page(path))[1]
    # The account page always links the check, with the last result.
    status, html = await student.page("/account")
    assert 'href="/check"' in html and "Last checked" in html
