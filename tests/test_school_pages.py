"""The coordinators' live view page and the tutors' offer to substitute, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from classroom.models import Role
from tests.conftest import School
from tests.test_school_socket import open_page, tutors


async def test_only_coordinators_open_the_live_view(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    status, body = await coordinator.page("/live")
    assert status == 200 and 'id="board-live"' in body and "school/board.js" in body
    assert "school/online.js" not in body  # board.js opens the page's one /school socket
    for role in (Role.TUTOR, Role.STUDENT):
        _, visitor = await school.join(role)
        status, body = await visitor.page("/live")
        assert status == 403, body
        status, body = await visitor.page("/my" if role is Role.STUDENT else "/teaching")
        assert status == 200 and "school/online.js" in body  # every page is online


async def test_a_tutor_offers_to_substitute_from_their_page(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    _, tutor = await school.join(Role.TUTOR, "Ayu")
    board = await open_page(school, coordinator)
    status, location, _ = await tutor.form("/substitute", {"until": "60"})
    assert (status, location) == (303, "/teaching")
    status, body = await tutor.page("/teaching")
    assert "You are available to substitute until" in body
    state = await board.state(lambda s: "Ayu" in tutors(s))
    assert tutors(state)["Ayu"]["substitute_until"] and not tutors(state)["Ayu"]["online"]
    status, location, _ = await tutor.form("/substitute", {"until": "no"})
    assert status == 303
    await board.state(lambda s: "Ayu" not in tutors(s))
    status, body = await tutor.page("/teaching")
    assert "I can substitute" in body
    await board.client.disconnect()


async def test_offers_to_substitute_are_checked(school: School) -> None:
    _, tutor = await school.join(Role.TUTOR)
    _, student = await school.join(Role.STUDENT)
    status, _, _ = await student.form("/substitute", {"until": "60"})
    assert status == 403
    for bad in ("45", "", "forever"):
        status, _, body = await tutor.form("/substitute", {"until": bad})
        assert status == 422, (bad, status)


async def test_the_rest_of_the_day_ends_at_the_tutors_own_midnight(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    _, tutor = await school.join(Role.TUTOR, "Ayu", timezone="Asia/Jakarta")
    board = await open_page(school, coordinator)
    status, _, _ = await tutor.form("/substitute", {"until": "day"})
    assert status == 303
    state = await board.state(lambda s: "Ayu" in tutors(s))
    until = datetime.fromisoformat(tutors(state)["Ayu"]["substitute_until"])
    local = until.astimezone(ZoneInfo("Asia/Jakarta"))
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert timedelta(0) < until - datetime.now(UTC) <= timedelta(days=1)
    await board.client.disconnect()
