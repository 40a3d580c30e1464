"""The school report: a seeded school's figures against answers worked out by hand, the
page, its CSV tables parsed back, its charts, the JSON API, who may see it, and bad periods;
on SQLite and PostgreSQL."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from classroom import booking, reports
from classroom.clock import day_range
from classroom.models import Role
from tests.conftest import School, SchoolFactory, Visitor, now
from tests.helpers import new_class
from tests.report_school import ANSWERS, ZONE, seed


async def test_the_figures_of_a_seeded_school(school: School) -> None:
    seeded = await seed(school)
    since, _ = day_range(seeded.since, ZONE)
    _, until = day_range(seeded.until, ZONE)
    async with school.maker() as db:
        found = await reports.school(db, seeded.coordinator, since, until, ZONE, ZONE, now())
    totals = found.totals
    for name in ("held", "cancelled", "not_held", "expected", "attended", "no_shows", "seats",
                 "booked", "came"):  # fmt: skip
        assert getattr(totals, name) == ANSWERS[name], name
    assert (totals.upcoming, totals.unrecorded) == (0, 0)
    assert round(totals.attendance_rate, 4) == round(10 / 12, 4)
    assert round(totals.booked_fill, 4) == round(11 / 24, 4)
    assert [w.monday for w in found.weeks] == [seeded.monday, seeded.monday + timedelta(days=7)]
    assert [(w.tally.held, w.tally.cancelled) for w in found.weeks] == [(4, 0), (2, 1)]
    lecturers = {
        x.name: (x.classes, x.minutes, x.late_starts, x.minutes_late, x.missed,
                 x.substitutions_given, x.substitutions_received,
                 [(p.currency, p.classes, p.minutes, p.amount) for p in x.pay])
        for x in found.lecturers
    }  # fmt: skip
    assert lecturers == ANSWERS["lecturers"]
    strikes = {s.name: (s.late_cancellations, s.no_shows) for s in found.strikes}
    assert strikes == ANSWERS["strikes"]
    assert found.strikes[0].name == "S4"  # the most first


async def _seeded_visitors(school: School) -> tuple[Any, dict[str, Visitor]]:
    seeded = await seed(school)
    people = {
        "coordinator": seeded.coordinator,
        "ayu": seeded.ayu,
        "budi": seeded.budi,
        "s1": seeded.students[0],
        "s4": seeded.students[3],
    }
    return seeded, {name: await school.login(user) for name, user in people.items()}


def _csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(codecs.BOM_UTF8)
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_the_report_page_its_csv_tables_and_the_api(school: School) -> None:
    seeded, who = await _seeded_visitors(school)
    coordinator = who["coordinator"]
    query = f"since={seeded.since}&until={seeded.until}"
    status, html = await coordinator.page(f"/reports?{query}")
    assert status == 200, html
    for section in ("classes", "attendance", "weeks", "lecturers", "pay", "students"):
        assert f'<section id="{section}"' in html, section
    assert html.count('<svg class="chart"') == 3 and "<title id=" in html
    assert "Ayu" in html and "IDR340,000" in html and "No rate for these classes" in html

    async def table(name: str) -> list[dict[str, str]]:
        async with coordinator.client.get(f"/reports/{name}.csv?{query}") as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert (
                f"kelas-{name}-{seeded.since}-{seeded.until}.csv"
                in resp.headers["Content-Disposition"]
            )
            return _csv(await resp.read())

    payroll = await table("pay")
    assert [(r["name"], r["classes"], r["hours"], r["amount"], r["currency"]) for r in payroll] == [
        ("Ayu", "3", "3.50", "340000.00", "IDR"),
        ("Budi", "1", "1.50", "120000.00", "IDR"),
        ("Citra", "1", "1.00", "90000.00", "IDR"),
        ("Citra", "1", "1.00", "", ""),
    ]
    classes = await table("pay-classes")
    assert len(classes) == 6 and sum(Decimal(r["amount"] or "0") for r in classes) == Decimal(
        "550000.00"
    )
    weeks = await table("weeks")
    assert [(r["week"], r["held"], r["cancelled"]) for r in weeks] == [
        (str(seeded.monday), "4", "0"),
        (str(seeded.monday + timedelta(days=7)), "2", "1"),
    ]
    lecturers = {r["name"]: r for r in await table("lecturers")}
    assert (lecturers["Budi"]["missed"], lecturers["Citra"]["substitutions_given"]) == ("2", "1")
    students = await table("students")
    assert [(r["name"], r["late_cancellations"], r["no_shows"], r["total"]) for r in students] == [
        ("S4", "1", "1", "2"),
        ("S3", "0", "1", "1"),
    ]
    assert (await coordinator.page(f"/reports/nothing.csv?{query}"))[0] == 404

    status, body = await coordinator.api("GET", f"/api/v1/reports/school?{query}")
    assert status == 200, body
    assert (body["totals"]["held"], body["totals"]["no_shows"]) == (6, 2)
    assert body["lecturers"][0]["pay"][0]["amount"] == "340000.00"
    status, body = await coordinator.api(
        "GET", f"/api/v1/reports/pay?{query}&tutor_id={seeded.ayu.id}"
    )
    assert status == 200 and [x["amount"] for x in body["classes"]] == [
        "100000.00", "120000.00", "120000.00"
    ], body  # fmt: skip

    # A tutor sees their own pay, nobody else's; students and tutors never see the report.
    status, body = await who["ayu"].api("GET", f"/api/v1/reports/pay?{query}")
    assert status == 200 and {x["name"] for x in body["lines"]} == {"Ayu"}, body
    status, body = await who["ayu"].api(
        "GET", f"/api/v1/reports/pay?{query}&tutor_id={seeded.budi.id}"
    )
    assert status == 403, body
    for name in ("ayu", "s1"):
        assert (await who[name].page(f"/reports?{query}"))[0] == 403
        assert (await who[name].page(f"/reports/pay.csv?{query}"))[0] == 403
        assert (await who[name].api("GET", f"/api/v1/reports/school?{query}"))[0] == 403
    assert (await who["s1"].api("GET", f"/api/v1/reports/pay?{query}"))[0] == 403
    anonymous = await school.visitor()
    assert (await anonymous.api("GET", "/api/v1/reports/school"))[0] == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("since=2026-11-02&until=2026-11-01", "until"),  # the last day before the first
        ("since=2025-01-01&until=2026-06-01", "until"),  # more than 366 days
        ("since=0", "since"),
        ("since=1969-12-31", "since"),
    ],
)
async def test_bad_periods_are_refused_with_the_field_at_fault(
    school: School, query: str, field: str
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    status, body = await coordinator.api("GET", f"/api/v1/reports/school?{query}")
    assert status == 422 and field in body["error"]["fields"], body
    status, html = await coordinator.page(f"/reports?{query}")
    assert status == 422 and f'id="{field}" name="{field}" type="date"' in html
    assert f'aria-describedby="e-{field}"' in html, html[-2000:]
    assert (await coordinator.page(f"/reports/pay.csv?{query}"))[0] == 422
    status, body = await coordinator.api("GET", f"/api/v1/reports/pay?{query}&tutor_id=0")
    assert status == 422 and "tutor_id" in body["error"]["fields"], body


async def test_the_default_period_is_the_last_30_days(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    status, body = await coordinator.api("GET", "/api/v1/reports/school")
    assert status == 200, body
    since, until = date.fromisoformat(body["since"]), date.fromisoformat(body["until"])
    assert (until - since).days == 29 and body["lecturers"] == [] and body["weeks"] == []
    status, html = await coordinator.page("/reports")
    assert status == 200 and "No class in this period." in html


async def test_late_cancellations_and_no_shows_together_pause_booking_at_the_limit(
    school_with: SchoolFactory,
) -> None:
    """S4 has a late cancellation and a no-show, S3 a no-show, four to five weeks ago."""
    school = await school_with(strikes=booking.Strikes(limit=2, within=timedelta(days=60)))
    seeded = await seed(school)
    _, s2, s3, s4 = seeded.students
    coordinator = await school.login(seeded.coordinator)
    lessons = [
        (await new_class(coordinator, hours=24 + 3 * n, capacity=1))["lessons"][0]["id"]
        for n in range(3)
    ]
    paused = await school.login(s4)
    status, body = await paused.api("POST", f"/api/v1/classes/{lessons[0]}/booking")
    assert status == 409 and body["error"]["code"] == "booking_paused", body
    assert "2 late cancellations and no-shows in the last 60 days" in body["error"]["message"]
    status, _, html = await paused.form(f"/classes/{lessons[0]}/book")
    assert status == 409 and "booking is paused" in html, html[-1500:]
    # One strike is below the limit: S3 books, and S2 (none) joins the waitlist.
    assert (await (await school.login(s3)).api("POST", f"/api/v1/classes/{lessons[0]}/booking"))[
        0
    ] == 201
    waiting = await school.login(s2)
    assert (await waiting.api("POST", f"/api/v1/classes/{lessons[0]}/waitlist"))[0] == 201
    status, body = await paused.api("POST", f"/api/v1/classes/{lessons[0]}/waitlist")
    assert status == 409 and body["error"]["code"] == "booking_paused", body
    status, html = await paused.page(f"/classes/{lessons[1]}")
    assert "2 of them within 60 days pause your bookings." not in html  # not booked: no hint

    # Within a shorter time, or with no limit, the old strikes no longer count.
    for changes in ({"strikes": booking.Strikes(limit=2, within=timedelta(days=7))}, {}):
        other = await school_with(**changes)
        visitor = await other.login(s4)
        status, body = await visitor.api("POST", f"/api/v1/classes/{lessons.pop()}/booking")
        assert status == 201, body
    status, html = await visitor.page(f"/classes/{body['lesson_id']}")
    assert "Not coming without cancelling counts like a late cancellation." in html
