"""Progress pages: a student's classes and attendance, a tutor's teaching and this month's
pay; who may see whose; and the rates page and API with their bad input; on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from classroom import attendance, live
from classroom.clock import to_local
from classroom.models import Role
from tests.conftest import School, SchoolFactory, now
from tests.helpers import JAKARTA, Clock, new_class, utc
from tests.report_school import seed


async def test_a_students_progress_is_theirs_their_tutors_and_the_coordinators(
    school: School,
) -> None:
    seeded = await seed(school)
    s1, s2, s3, s4 = seeded.students
    query = f"since={seeded.since}&until={seeded.until}"
    me = await school.login(s4)
    status, body = await me.api("GET", f"/api/v1/me/progress?{query}")
    assert status == 200, body
    assert (body["kind"], body["attended"], body["no_shows"], body["late_cancellations"]) == (
        "student", 0, 1, 1
    )  # fmt: skip
    assert [c["status"] for c in body["classes"]] == ["late_cancelled", "no_show"]
    status, html = await me.page(f"/progress?{query}")
    assert status == 200 and '<section id="attendance"' in html and "late cancellation" in html
    assert "A no-show counts like a late cancellation." in html

    path = f"/api/v1/people/{s1.id}/progress?{query}"
    # S1: L1 present, L3 present, L2 present, L5 present; L7 cancelled.
    status, body = await (await school.login(seeded.coordinator)).api("GET", path)
    assert status == 200 and body["attended"] == 4, body
    statuses = [c["status"] for c in body["classes"]]
    assert statuses.count("class_cancelled") == 1 and statuses.count("present") == 4, statuses
    # Citra taught S1 (as a substitute in L5): she may look; Ayu too (L1, L2).
    for tutor in (seeded.citra, seeded.ayu):
        assert (await (await school.login(tutor)).api("GET", path))[0] == 200
    # A tutor who never taught S1, another student: no such person for them.
    stranger = await school.person(Role.TUTOR, "Stranger")
    for viewer in (stranger, s2):
        visitor = await school.login(viewer)
        assert (await visitor.api("GET", path))[0] == 404
        assert (await visitor.page(f"/people/{s1.id}/progress"))[0] == 404
    status, html = await (await school.login(seeded.ayu)).page(f"/people/{s1.id}/progress?{query}")
    assert status == 200 and "Progress: S1" in html and '<svg class="chart"' in html
    coordinator = await school.login(seeded.coordinator)
    assert (await coordinator.api("GET", f"/api/v1/people/{seeded.coordinator.id}/progress"))[
        0
    ] == 404
    assert (await coordinator.api("GET", "/api/v1/people/999999/progress"))[0] == 404
    assert (await coordinator.api("GET", "/api/v1/me/progress"))[0] == 403
    assert (await (await school.visitor()).api("GET", path))[0] == 401


async def test_a_tutors_own_view_has_their_teaching_and_pay(school: School) -> None:
    seeded = await seed(school)
    query = f"since={seeded.since}&until={seeded.until}"
    budi = await school.login(seeded.budi)
    status, body = await budi.api("GET", f"/api/v1/me/progress?{query}")
    assert status == 200, body
    assert (body["kind"], body["classes_taught"], body["hours"], body["missed"]) == (
        "tutor", 1, "1.50", 1
    )  # fmt: skip
    # L5 was given to Citra: not on Budi's list; L4 he missed.
    assert [c["status"] for c in body["classes"]] == ["no_show", "present"]
    status, html = await budi.page(f"/progress?{query}")
    assert status == 200 and '<section id="teaching"' in html and '<section id="pay"' in html
    # Another tutor's view: the coordinators only.
    path = f"/api/v1/people/{seeded.budi.id}/progress"
    assert (await (await school.login(seeded.ayu)).api("GET", path))[0] == 404
    assert (await (await school.login(seeded.students[0])).api("GET", path))[0] == 404
    assert (await (await school.login(seeded.coordinator)).api("GET", path))[0] == 200


async def test_this_months_pay_on_the_tutors_page(school_with: SchoolFactory) -> None:
    """A class taught tomorrow is in that month's pay at the rate of its day."""
    clock = Clock()
    school = await school_with(clock=clock)
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor, tutor_visitor = await school.join(Role.TUTOR, "Dewi")
    status, body = await coordinator.api(
        "POST", "/api/v1/rates",
        {"tutor_id": tutor.id, "unit": "class", "amount": "75000", "effective_from": "2020-01-01"},
    )  # fmt: skip
    assert status == 201 and body["amount"] == "75000.00" and body["currency"] == "IDR", body
    status, body = await tutor_visitor.api("GET", "/api/v1/me/progress")
    assert status == 200 and body["pay"] == [], body
    tomorrow = to_local(now(), JAKARTA).date() + timedelta(days=1)
    lesson = (
        await new_class(
            coordinator, tutor_id=tutor.id, starts_local=f"{tomorrow}T10:00", duration_minutes=45
        )
    )["lessons"][0]
    status, body = await tutor_visitor.api("GET", "/api/v1/me/progress")
    assert [c["status"] for c in body["classes"]] == [], body  # tomorrow is not in the period
    starts = utc(lesson["starts_at"])
    async with school.maker.begin() as db:
        await live.record_join(db, lesson["id"], tutor.id, starts)
    async with school.maker.begin() as db:
        await attendance.close_classes(db, starts + timedelta(minutes=46), attendance.Policy())
    clock.move_to(starts + timedelta(hours=1))
    status, body = await tutor_visitor.api("GET", "/api/v1/me/progress")
    assert [c["status"] for c in body["classes"]] == ["present"], body
    assert body["month"] == str(tomorrow.replace(day=1))
    assert [(p["classes"], p["hours"], p["amount"]) for p in body["pay"]] == [
        (1, "0.75", "75000.00")
    ]
    status, html = await tutor_visitor.page("/progress")
    assert status == 200 and "IDR75,000" in html and '<svg class="chart"' in html


RATE = {"unit": "hour", "amount": "80000", "effective_from": "2026-01-01"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "150.000"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": ""}, "amount"),
        ({"unit": "month"}, "unit"),
        ({"effective_from": "2026-02-30"}, "effective_from"),
        ({"effective_from": "soon"}, "effective_from"),
        ({"tutor_id": "x"}, "tutor_id"),
    ],
)
async def test_bad_rates_are_refused_with_the_field_at_fault(
    school: School, change: dict[str, Any], field: str
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor = await school.person(Role.TUTOR, "Eka")
    data = {"tutor_id": tutor.id, **RATE, **change}
    status, body = await coordinator.api("POST", "/api/v1/rates", data)
    assert status == 422 and field in body["error"]["fields"], body
    status, _, html = await coordinator.form("/rates", {k: str(v) for k, v in data.items()})
    assert status == 422 and f'id="f-{field}"' in html
    marked = html.split(f'id="f-{field}"')[1].split(">")[0]
    assert 'aria-invalid="true"' in marked, marked


async def test_the_rates_page_sets_a_rate_and_only_coordinators_may(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor, tutor_visitor = await school.join(Role.TUTOR, "Fajar")
    student, student_visitor = await school.join(Role.STUDENT)
    status, _, html = await coordinator.form("/rates", {"tutor_id": str(tutor.id), **RATE})
    assert status == 200 and "Fajar is paid IDR80,000 from" in html, html[-3000:]
    status, html = await coordinator.page("/rates")
    assert status == 200 and "IDR80,000" in html and "per hour" in html
    # Not a tutor: the tutor field is at fault.
    status, _, html = await coordinator.form("/rates", {"tutor_id": str(student.id), **RATE})
    assert status == 422 and 'aria-invalid="true" aria-describedby="e-tutor_id"' in html
    status, body = await coordinator.api("POST", "/api/v1/rates", {"tutor_id": student.id, **RATE})
    assert status == 404, body
    for visitor in (tutor_visitor, student_visitor):
        assert (await visitor.page("/rates"))[0] == 403
        assert (await visitor.form("/rates", {"tutor_id": str(tutor.id), **RATE}))[0] == 403
        status, body = await visitor.api("POST", "/api/v1/rates", {"tutor_id": tutor.id, **RATE})
        assert status == 403, body
    status, body = await tutor_visitor.api("GET", "/api/v1/rates")
    assert status == 200 and [r["tutor_name"] for r in body] == ["Fajar"], body
    assert (await student_visitor.api("GET", "/api/v1/rates"))[0] == 403
    for bad in [[1], "x", {}, {**RATE, "tutor_id": tutor.id, "extra": 1}]:
        status, body = await coordinator.api("POST", "/api/v1/rates", bad)
        assert status == 422, (bad, body)
