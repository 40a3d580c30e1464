"""Every class of bad input a client can send gets a 4xx that names the field: JSON on the
API, the marked field on pages. Never a 500, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import io
import re
from typing import Any

import aiohttp
import pytest

from classroom.models import Role
from tests.conftest import School, Visitor
from tests.helpers import local_in, new_class

MAX_ID = 2**31 - 1
CONTROL = "Please remove the control characters (such as NUL or line breaks) from this text"
CONTROL_MULTILINE = "Please remove the control characters (such as NUL) from this text"
NO_ZONE = "Please enter a local time without a UTC offset or time zone"
NO_DAY = "There is no such date"
DAY_RANGE = "Please enter a date between 1970-01-01 and 2999-12-31"
WHOLE = "Please enter a whole number"


def lesson(**changes: Any) -> dict[str, Any]:
    data = {"topic": "Small talk", "level": "B1", "starts_local": local_in(48),
            "timezone": "Asia/Jakarta", "duration_minutes": 60, "capacity": 4}  # fmt: skip
    return {**data, **changes}


def series(**changes: Any) -> dict[str, Any]:
    data = {"topic": "Weekly", "level": "A2", "weekdays": [0, 2], "local_time": "19:00",
            "timezone": "Asia/Jakarta", "start_date": local_in(72)[:10], "weeks": 2}  # fmt: skip
    return {**data, **changes}


def window(**changes: Any) -> dict[str, Any]:
    return {"weekday": 1, "start_time": "09:00", "end_time": "12:00", **changes}


def absence(**changes: Any) -> dict[str, Any]:
    return {"first_day": local_in(72)[:10], "last_day": local_in(96)[:10], **changes}


def signup(**changes: Any) -> dict[str, Any]:
    return {"name": "Rina", "email": "rina@example.com", "password": "a long password",
            **changes}  # fmt: skip


async def people(school: School) -> dict[Role | None, Visitor]:
    _, coordinator = await school.join(Role.COORDINATOR)
    _, tutor = await school.join(Role.TUTOR)
    _, student = await school.join(Role.STUDENT)
    return {
        None: await school.visitor(),
        Role.COORDINATOR: coordinator,
        Role.TUTOR: tutor,
        Role.STUDENT: student,
    }


async def field_error(
    visitor: Visitor, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, str]]:
    status, answer = await visitor.api(method, path, body)
    assert isinstance(answer, dict) and "error" in answer, (status, answer)
    return status, answer["error"]["fields"]


# -- numbers -------------------------------------------------------------------------------

C, T, S = Role.COORDINATOR, Role.TUTOR, Role.STUDENT
NUMBERS: list[tuple[Role, str, str, Any, str, str]] = [
    # huge
    (C, "POST", "/api/v1/classes", lesson(capacity=10**30), "capacity", "Must be at most 12"),
    (C, "POST", "/api/v1/classes", lesson(tutor_id=MAX_ID + 1), "tutor_id",
     f"Must be at most {MAX_ID}"),
    (C, "POST", "/api/v1/classes", lesson(duration_minutes=2**63), "duration_minutes",
     "Must be at most 240"),
    (C, "POST", "/api/v1/series", series(weeks=10**6), "weeks", "Must be at most 52"),
    (C, "PUT", "/api/v1/classes/1/tutor", {"tutor_id": 2**64}, "tutor_id",
     f"Must be at most {MAX_ID}"),
    (C, "GET", f"/api/v1/classes?tutor_id={MAX_ID + 1}", None, "tutor_id",
     f"Must be at most {MAX_ID}"),
    (C, "GET", f"/api/v1/classes/{MAX_ID + 1}", None, "lesson_id", f"Must be at most {MAX_ID}"),
    (S, "POST", "/api/v1/classes/99999999999999999999/booking", None, "lesson_id",
     f"Must be at most {MAX_ID}"),
    (T, "DELETE", f"/api/v1/availability/windows/{'9' * 5000}", None, "item_id", WHOLE),
    # negative and zero
    (C, "POST", "/api/v1/classes", lesson(capacity=-1), "capacity", "Must be at least 1"),
    (C, "POST", "/api/v1/series", series(weekdays=[-1]), "weekdays", "Must be at least 0"),
    (T, "POST", "/api/v1/availability/windows", window(weekday=7), "weekday",
     "Must be at most 6"),
    (C, "GET", "/api/v1/classes?tutor_id=-5", None, "tutor_id", "Must be at least 1"),
    (C, "GET", "/api/v1/classes/0", None, "lesson_id", "Must be at least 1"),
    (T, "DELETE", "/api/v1/availability/absences/0", None, "item_id", "Must be at least 1"),
    # not whole numbers
    (C, "POST", "/api/v1/classes", lesson(capacity="four"), "capacity", WHOLE),
    (C, "POST", "/api/v1/classes", lesson(capacity=2.5), "capacity", WHOLE),
    (C, "POST", "/api/v1/classes", lesson(capacity=float("nan")), "capacity", WHOLE),
    (C, "GET", "/api/v1/classes?tutor_id=abc", None, "tutor_id", WHOLE),
    (C, "GET", "/api/v1/classes?tutor_id=1.5", None, "tutor_id", WHOLE),
    (C, "GET", f"/api/v1/classes?tutor_id={'7' * 5000}", None, "tutor_id", WHOLE),
]  # fmt: skip


async def test_out_of_range_and_non_integer_numbers_are_field_errors(school: School) -> None:
    by_role = await people(school)
    for role, method, path, body, field, message in NUMBERS:
        status, fields = await field_error(by_role[role], method, path, body)
        assert (status, fields.get(field)) == (422, message), (method, path, fields)


async def test_non_numeric_path_ids_are_not_routes(school: School) -> None:
    by_role = await people(school)
    for path in ("/api/v1/classes/abc", "/api/v1/classes/-1", "/api/v1/classes/1e3"):
        status, body = await by_role[Role.STUDENT].api("GET", path)
        assert status == 404 and body["error"]["code"] == "http_error"


async def test_forms_mark_the_number_field_at_fault(school: School) -> None:
    coordinator = (await people(school))[Role.COORDINATOR]
    form = {**lesson(), "capacity": "99999999999999999999999", "duration_minutes": "-3"}
    status, _, html = await coordinator.form("/planning/classes/new", form)
    assert status == 422
    assert marked(html, "capacity") == "Must be at most 12"
    assert marked(html, "duration_minutes") == "Must be at least 15"
    status, html = await coordinator.page(f"/classes/{MAX_ID + 1}")
    assert status == 422 and f"Class: Must be at most {MAX_ID}" in html


def marked(html: str, name: str) -> str:
    """The error text a page shows for field ``name``, checking the input is marked."""
    assert re.search(rf'name="{name}"[^>]*\s+aria-invalid="true"', html, re.S), name
    found = re.search(rf'<div class="field-error" id="e-{name}">([^<]*)</div>', html)
    assert found, name
    return found.group(1)


# -- text ----------------------------------------------------------------------------------

BAD_TEXT = ["\x00", "a\x00b", "\x1b[31m", "\x7f", "\x85", "\ud800", "line\nbreak", "\r"]
# (role, method, path, valid body, text fields checked)
TEXTS: list[tuple[Role | None, str, str, dict[str, Any], tuple[str, ...]]] = [
    (None, "POST", "/api/v1/signup", signup(), ("name", "email", "password", "timezone")),
    (None, "POST", "/api/v1/login", {"email": "a@b.example", "password": "x"},
     ("email", "password")),
    (S, "PATCH", "/api/v1/me", {"name": "A", "timezone": "Asia/Jakarta", "language": "en"},
     ("name", "timezone")),
    (S, "POST", "/api/v1/me/password",
     {"current_password": "correct horse battery", "new_password": "another long one"},
     ("current_password", "new_password")),
    (C, "POST", "/api/v1/classes", lesson(), ("topic", "timezone")),
    (C, "POST", "/api/v1/series", series(), ("topic",)),
    (C, "POST", "/api/v1/tutors", {"name": "T", "email": "t@school.example.com"},
     ("name", "email")),
    (T, "POST", "/api/v1/availability/absences", absence(), ("reason",)),
]  # fmt: skip


async def test_control_characters_are_refused_in_every_text_field(school: School) -> None:
    by_role = await people(school)
    for role, method, path, valid, names in TEXTS:
        for name in names:
            for bad in BAD_TEXT:
                body = {**valid, name: f"Ab{bad}cd"}
                status, fields = await field_error(by_role[role], method, path, body)
                assert (status, fields.get(name)) == (422, CONTROL), (path, name, repr(bad))


async def test_descriptions_keep_line_breaks_and_tabs_but_not_other_controls(
    school: School,
) -> None:
    coordinator = (await people(school))[Role.COORDINATOR]
    text = "First line\r\nSecond line\n\tindented"
    made = await new_class(coordinator, description=text)
    assert made["lessons"][0]["description"] == text
    for bad in ("\x00", "\x1b", "\x0b", "\ud800", "\x9f"):
        status, fields = await field_error(
            coordinator, "POST", "/api/v1/classes", lesson(description=f"a{bad}b")
        )
        assert (status, fields.get("description")) == (422, CONTROL_MULTILINE), repr(bad)


async def test_control_characters_in_query_strings_and_forms(school: School) -> None:
    by_role = await people(school)
    student, coordinator = by_role[Role.STUDENT], by_role[Role.COORDINATOR]
    status, fields = await field_error(student, "GET", "/api/v1/classes?topic=a%00b")
    assert (status, fields.get("topic")) == (422, CONTROL)
    status, html = await student.page("/classes?topic=a%00b")
    assert status == 422 and "topic" in html and CONTROL in html
    visitor = by_role[None]
    status, _, html = await visitor.form("/signup", {**signup(), "name": "Ri\x00na"})
    assert status == 422 and marked(html, "name") == CONTROL
    status, _, html = await visitor.form("/login", {"email": "a\x00@b.example", "password": "x"})
    assert status == 422 and CONTROL in html
    form = {**lesson(), "description": "ok\x00"}
    status, _, html = await coordinator.form("/planning/classes/new", form)
    assert status == 422 and marked(html, "description") == CONTROL_MULTILINE


# -- times and dates -----------------------------------------------------------------------

ZONED_TIMES = ["09:00+07:00", "09:00Z", "09:00:00-05:30", "09:00 WIB", "09:00[Asia/Jakarta]"]
NOT_TIMES = ["9am", "25:00", "09:60", "09", 3600, None, "", "09:00:00.5"]


async def test_availability_times_with_an_offset_are_refused(school: School) -> None:
    tutor = (await people(school))[Role.TUTOR]
    for value in ZONED_TIMES:
        for name in ("start_time", "end_time"):
            body = window(**{name: value})
            status, fields = await field_error(tutor, "POST", "/api/v1/availability/windows", body)
            assert (status, fields.get(name)) == (422, NO_ZONE), value
    for value in NOT_TIMES:
        body = window(start_time=value)
        status, fields = await field_error(tutor, "POST", "/api/v1/availability/windows", body)
        assert status == 422 and "start_time" in fields, value
    status, _, html = await tutor.form("/availability/windows", window(start_time="09:00Z"))
    assert status == 422 and marked(html, "start_time") == NO_ZONE
    status, body = await tutor.api("POST", "/api/v1/availability/windows", window())
    assert status == 201 and body["start_time"] == "09:00:00"


async def test_wall_clock_starts_with_an_offset_are_refused(school: School) -> None:
    coordinator = (await people(school))[Role.COORDINATOR]
    starts = local_in(48)
    cases = [
        ("/api/v1/classes", lesson(starts_local=f"{starts}+07:00"), "starts_local"),
        ("/api/v1/classes", lesson(starts_local=f"{starts}Z"), "starts_local"),
        ("/api/v1/series", series(local_time="19:00+07:00"), "local_time"),
    ]
    for path, body, name in cases:
        status, fields = await field_error(coordinator, "POST", path, body)
        assert (status, fields.get(name)) == (422, NO_ZONE), body[name]


ENTER_DAY = "Please enter a date"
IMPOSSIBLE_DAYS = [("0", ENTER_DAY), ("2026-13-01", NO_DAY), ("2026-02-30", NO_DAY),
                   ("2026-00-10", NO_DAY), ("2026-01-32", NO_DAY), ("20260101", ENTER_DAY),
                   ("2026-01-01T00:00", ENTER_DAY), ("0001-01-01", DAY_RANGE),
                   ("9999-12-31", DAY_RANGE), ("２０２６-01-01", ENTER_DAY)]  # fmt: skip


async def test_impossible_dates_are_field_errors_everywhere(school: School) -> None:
    by_role = await people(school)
    coordinator, tutor = by_role[Role.COORDINATOR], by_role[Role.TUTOR]
    for raw, message in IMPOSSIBLE_DAYS:
        queries = [
            (coordinator, f"/api/v1/classes?day={raw}", "day"),
            (coordinator, f"/api/v1/planning?week={raw}", "week"),
            (tutor, f"/api/v1/teaching?week={raw}", "week"),
        ]
        for visitor, path, name in queries:
            status, fields = await field_error(visitor, "GET", path)
            assert (status, fields.get(name)) == (422, message), path
        bodies = [
            (tutor, "/api/v1/availability/absences", absence(first_day=raw), "first_day"),
            (coordinator, "/api/v1/series", series(start_date=raw), "start_date"),
            (coordinator, "/api/v1/classes", lesson(starts_local=f"{raw}T10:00"), "starts_local"),
        ]
        for visitor, path, body, name in bodies:
            status, fields = await field_error(visitor, "POST", path, body)
            assert status == 422 and name in fields, (path, raw, fields)
    status, html = await coordinator.page("/planning?week=2026-02-30")
    assert status == 422 and f"Week: {NO_DAY}" in html
    status, html = await coordinator.page("/classes?day=0")
    assert status == 422 and 'id="day"' in html and "Please enter a date" in html
    status, _, html = await tutor.form("/availability/absences", absence(last_day="2026-02-30"))
    assert status == 422 and marked(html, "last_day") == NO_DAY


# -- the HTTP envelope ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/session", {"GET"}),
        ("PUT", "/api/v1/login", {"POST"}),
        ("GET", "/api/v1/availability/windows/1", {"DELETE"}),
        ("DELETE", "/login", {"GET", "HEAD", "POST"}),
        ("PUT", "/classes/1/book", {"POST"}),
    ],
)
async def test_405_names_the_allowed_methods(
    school: School, method: str, path: str, allowed: set[str]
) -> None:
    visitor = await school.visitor()
    for headers in ({}, {"X-CSRF-Token": visitor.csrf}):
        async with visitor.client.request(method, path, headers=headers) as resp:
            assert resp.status == 405
            assert set(resp.headers["Allow"].split(",")) == allowed
            api = path.startswith("/api/")
            assert resp.content_type == ("application/json" if api else "text/html")
            if api:
                assert (await resp.json())["error"]["code"] == "http_error"


async def test_errors_are_json_on_the_api_and_pages_elsewhere(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    csrf = {"X-CSRF-Token": coordinator.csrf}
    huge = b'{"topic": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    cases: list[tuple[str, str, dict[str, Any], int]] = [
        ("GET", "/api/v1/nothing", {}, 404),
        ("GET", "/nothing", {}, 404),
        ("POST", "/api/v1/classes", {"data": b"{not json", "headers": {
            **csrf, "Content-Type": "application/json"}}, 422),
        ("POST", "/api/v1/classes", {"data": b"[" * 100_000, "headers": {
            **csrf, "Content-Type": "application/json"}}, 422),
        ("POST", "/api/v1/classes", {"data": b"1" * 5000, "headers": {
            **csrf, "Content-Type": "application/json"}}, 422),
        ("POST", "/api/v1/classes", {"data": b"{}", "headers": {
            **csrf, "Content-Type": "application/json; charset=no-such-charset"}}, 422),
        ("POST", "/api/v1/classes", {"data": b"topic=x", "headers": {
            **csrf, "Content-Type": "text/plain"}}, 422),
        ("POST", "/api/v1/classes", {"data": b"{}", "headers": {
            **csrf, "Content-Type": "multipart/form-data"}}, 422),
        ("POST", "/planning/classes/new", {"data": b"a=1", "headers": {
            "Content-Type": "multipart/form-data"}}, 422),
        ("POST", "/api/v1/classes", {"data": huge, "headers": {
            **csrf, "Content-Type": "application/json"}}, 413),
        ("POST", "/planning/classes/new", {"data": b"topic=" + b"x" * (2 * 1024 * 1024),
         "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 413),
        ("POST", "/api/v1/classes", {"json": lesson(), "headers": {
            "X-CSRF-Token": "ünïcode"}}, 403),
        ("POST", "/classes/1/book", {"data": {"csrf_token": "ünïcode"}}, 403),
    ]  # fmt: skip
    for method, path, kwargs, expected in cases:
        if isinstance(kwargs.get("data"), bytes):
            kwargs = {**kwargs, "data": _Body(kwargs["data"])}
        async with coordinator.client.request(method, path, **kwargs) as resp:
            assert resp.status == expected, (method, path)
            if path.startswith("/api/"):
                assert resp.content_type == "application/json", path
                body = await resp.json()
                assert set(body["error"]) == {"code", "message", "fields"}
            else:
                assert resp.content_type == "text/html", path
                assert "</html>" in await resp.text()


def _Body(data: bytes) -> Any:
    """A raw body, streamed (aiohttp warns about big bytes bodies)."""
    return io.BytesIO(data)


async def test_login_redirects_only_to_local_paths(school: School) -> None:
    user = await school.person(Role.STUDENT)
    for target, expected in [
        ("/my", "/my"),
        ("//evil.example", "/my"),
        ("/\\evil.example", "/my"),
        ("/\t/evil.example", "/my"),
        ("/x\r\nSet-Cookie: a=b", "/my"),
        ("https://evil.example", "/my"),
    ]:
        visitor = await school.visitor()
        form = {"email": user.email, "password": "correct horse battery", "next": target}
        status, location, _ = await visitor.form("/login", form)
        assert (status, location) == (303, expected), target


async def test_a_file_where_text_belongs_is_a_field_error(school: School) -> None:
    visitor = await school.visitor()
    form = aiohttp.FormData()
    form.add_field("csrf_token", visitor.csrf)
    form.add_field("name", b"\x00\x01binary", filename="name.bin")
    async with visitor.client.post("/signup", data=form) as resp:
        assert resp.status == 422
        html = await resp.text()
    assert "Name: Please enter text" in html
