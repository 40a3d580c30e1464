"""Every page renders for the roles that may see it, on a school with demo data."""

from __future__ import annotations

import pytest

from classroom import demo
from classroom.accounts import Passwords
from classroom.models import Role
from tests.conftest import School, now

PAGES = {
    Role.COORDINATOR: ["/planning", "/planning?unassigned=1", "/planning?rows=levels",
                       "/classes", "/tutors",
                       "/planning/classes/new", "/planning/series/new", "/classes/1",
                       "/classes/1/edit", "/messages", "/account", "/account/password"],
    Role.TUTOR: ["/teaching", "/availability", "/classes", "/classes/1", "/messages", "/account"],
    Role.STUDENT: ["/my", "/classes", "/classes/1", "/classes/4", "/messages", "/account"],
}  # fmt: skip


@pytest.fixture
async def demo_school(school: School) -> School:
    async with school.maker.begin() as session:
        people = await demo.seed(session, Passwords("CHEAPEST"), now())
    assert people is not None
    async with school.maker.begin() as session:
        assert await demo.seed(session, Passwords("CHEAPEST"), now()) is None  # idempotent
    return school


async def test_demo_has_a_class_within_the_hour_and_a_waitlist(demo_school: School) -> None:
    visitor = await demo_school.visitor()
    status, body = await visitor.api(
        "POST", "/api/v1/login", {"email": f"dewi@{demo.DOMAIN}", "password": demo.PASSWORD}
    )
    assert status == 200
    visitor.csrf = body["csrf_token"]
    status, mine = await visitor.api("GET", "/api/v1/me/classes")
    first = mine[0]["lesson"]
    from tests.helpers import utc

    assert 0 < (utc(first["starts_at"]) - now()).total_seconds() <= 3600
    status, classes = await visitor.api("GET", "/api/v1/classes")
    assert any(c["waiting"] for c in classes)
    assert any(c["tutor_id"] is None for c in classes)


@pytest.mark.parametrize("role", list(PAGES))
async def test_every_page_renders(demo_school: School, role: Role) -> None:
    user = await demo_school.person(role)
    visitor = await demo_school.login(user)
    for path in PAGES[role]:
        status, html = await visitor.page(path)
        assert status == 200, (path, html[-2000:])
        assert "</html>" in html
        assert f'value="{visitor.csrf}"' in html or "<form" not in html


async def test_error_pages_are_pages(demo_school: School) -> None:
    user = await demo_school.person(Role.STUDENT)
    visitor = await demo_school.login(user)
    status, html = await visitor.page("/classes/424242")
    assert status == 404 and "No such class." in html and "</html>" in html
    status, html = await visitor.page("/no/such/page")
    assert status == 404 and "</html>" in html
