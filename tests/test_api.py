"""The JSON API's contract: OpenAPI document, error shape, bad input."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from classroom.models import Role
from tests.conftest import School
from tests.helpers import new_class, utc
from web.routes.api import ENDPOINTS


async def test_openapi_documents_every_api_route(school: School) -> None:
    visitor = await school.visitor()
    status, document = await visitor.api("GET", "/api/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    app: web.Application = school.server.app
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path", "")
        if path.startswith("/api/v1/"):
            served.add((route.method, path))
    assert served == documented
    assert len(documented) == len(ENDPOINTS)
    post_class = document["paths"]["/api/v1/classes"]["post"]
    schema_ref = post_class["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.split("/")[-1] in document["components"]["schemas"]


async def test_bad_json_and_bad_fields_get_4xx_with_messages(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    async with coordinator.client.post(
        "/api/v1/classes",
        data=b"{not json",
        headers={"X-CSRF-Token": coordinator.csrf, "Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 422
        assert (await resp.json())["error"]["message"] == "The request body is not valid JSON."
    status, body = await coordinator.api("POST", "/api/v1/classes", [1, 2, 3])
    assert status == 422 and body["error"]["code"] == "invalid_input"
    status, body = await coordinator.api(
        "POST", "/api/v1/classes",
        {"topic": "x" * 500, "level": "Z9", "starts_local": "tomorrow", "timezone": "UTC",
         "capacity": 0, "surprise": True},
    )  # fmt: skip
    assert status == 422
    fields = body["error"]["fields"]
    assert fields["topic"] == "Please enter at most 120 characters"
    assert fields["level"] == "Please choose one of the options"
    assert fields["starts_local"] == "Please enter a date and time"
    assert fields["capacity"] == "Must be at least 1"
    assert fields["surprise"] == "Unknown field"


async def test_unknown_routes_and_methods_answer_json_in_the_api(school: School) -> None:
    visitor = await school.visitor()
    status, body = await visitor.api("GET", "/api/v1/nothing-here")
    assert status == 404 and body["error"]["code"] == "http_error"
    status, body = await visitor.api("DELETE", "/api/v1/session")
    assert status == 405


async def test_classes_filter_by_level_topic_day_and_tutor(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor_user, _ = await school.join(Role.TUTOR)
    a = (await new_class(coordinator, hours=30, topic="Travel talk", level="A2"))["lessons"][0]
    b = (await new_class(coordinator, hours=54, topic="Business", tutor_id=tutor_user.id))[
        "lessons"
    ][0]
    _, student = await school.join(Role.STUDENT)

    async def ids(query: str) -> list[int]:
        status, rows = await student.api("GET", f"/api/v1/classes?{query}")
        assert status == 200, rows
        return [row["id"] for row in rows]

    assert await ids("") == [a["id"], b["id"]]
    assert await ids("level=A2") == [a["id"]]
    assert await ids("topic=travel") == [a["id"]]
    assert await ids(f"tutor_id={tutor_user.id}") == [b["id"]]
    day = utc(a["starts_at"]).astimezone(ZoneInfo("Asia/Jakarta")).date().isoformat()
    assert a["id"] in await ids(f"day={day}")
    status, body = await student.api("GET", "/api/v1/classes?day=someday")
    assert status == 422 and body["error"]["fields"]["day"] == "Please enter a date"
    status, html = await student.page("/classes?level=A2")
    assert "Travel talk" in html and "Business" not in html
