"""Attendance once a class is over: statuses from real joins and leaves (reconnects merged),
closed once, corrected by coordinators only, and no-show rates; through the domain and the
JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from classroom import attendance, live
from classroom.models import (
    Attendance,
    AttendanceCorrection,
    AttendanceRecord,
    AttendanceStatus,
    Lesson,
)
from tests.conftest import School, now
from tests.helpers import new_class, utc
from tests.live import live_class

POLICY = attendance.Policy()


def came(
    start: datetime, joined: int, left: int | None, spent: int = 0, open_at: int | None = None
) -> Attendance:
    """Minutes after ``start``: first joined, last left (None: still in), time present so far."""
    return Attendance(
        first_joined_at=start + timedelta(minutes=joined),
        last_left_at=None if left is None else start + timedelta(minutes=left),
        present_seconds=spent * 60,
        span_started_at=None if open_at is None else start + timedelta(minutes=open_at),
        joins=1,
    )


START = datetime.fromisoformat("2026-11-30T07:00:00+00:00")
LESSON = Lesson(starts_at=START, ends_at=START + timedelta(minutes=60), ended_at=None)


@pytest.mark.parametrize(
    ("attended", "expected"),
    [
        (None, (AttendanceStatus.NO_SHOW, 0, 0)),
        (came(START, -2, None, 0, open_at=-2), (AttendanceStatus.PRESENT, 62, 0)),
        (came(START, 3, 60, 57), (AttendanceStatus.PRESENT, 57, 3)),  # within 5 min: on time
        (came(START, 8, None, 0, open_at=8), (AttendanceStatus.LATE, 52, 8)),
        (came(START, 0, 30, 30), (AttendanceStatus.LEFT_EARLY, 30, 0)),
        (came(START, 0, 56, 56), (AttendanceStatus.PRESENT, 56, 0)),  # the last minutes
        # Left at 10, back at 12 until the end: two spans, one class.
        (came(START, 1, 10, 9, open_at=12), (AttendanceStatus.PRESENT, 57, 1)),
        (came(START, 9, 20, 11), (AttendanceStatus.LATE, 11, 9)),  # late counts first
    ],
)
def test_statuses(attended: Attendance | None, expected: tuple[Any, int, int]) -> None:
    verdict = attendance.judge(LESSON, attended, POLICY)
    assert (verdict.status, verdict.minutes_present, verdict.minutes_late) == expected


async def test_a_class_is_closed_once_with_a_status_for_everyone(school: School) -> None:
    setup = await live_class(school, students=4)
    lesson_id = setup.lesson["id"]
    start = utc(setup.lesson["starts_at"])
    tutor, a, b, c, d = (p[0].id for p in [setup.tutor, *setup.students])

    async def at(minute: float, record: Any, user: int, **kw: Any) -> None:
        async with school.maker.begin() as db:
            await record(db, lesson_id, user, start + timedelta(minutes=minute), **kw)

    await at(-2, live.record_join, tutor)
    await at(1, live.record_join, a)
    await at(5, live.record_join, a)  # a reconnect: the same span goes on
    await at(10, live.record_leave, a)
    await at(12, live.record_join, a)
    await at(8, live.record_join, b)
    await at(0, live.record_join, c)
    await at(30, live.record_leave, c)
    # d never comes.
    async with school.maker.begin() as db:
        assert await attendance.close_classes(db, start + timedelta(minutes=59), POLICY) == []
    over = start + timedelta(minutes=60, seconds=1)
    async with school.maker.begin() as db:
        assert lesson_id in await attendance.close_classes(db, over, POLICY)
    async with school.maker.begin() as db:  # a second process closing it too changes nothing
        assert await attendance.close_classes(db, over, POLICY) == []
        rows = {r.user_id: r for r in await db.scalars(select(AttendanceRecord))}
    assert {u: (r.role, r.status, r.minutes_present, r.minutes_late) for u, r in rows.items()} == {
        tutor: ("tutor", AttendanceStatus.PRESENT, 62, 0),
        a: ("student", AttendanceStatus.PRESENT, 57, 1),
        b: ("student", AttendanceStatus.LATE, 52, 8),
        c: ("student", AttendanceStatus.LEFT_EARLY, 30, 0),
        d: ("student", AttendanceStatus.NO_SHOW, 0, 0),
    }

    # Through the API: the class's tutor and coordinators see it, a student does not.
    status, lines = await setup.coordinator.api("GET", f"/api/v1/classes/{lesson_id}/attendance")
    assert status == 200 and [x["status"] for x in lines][0] == "present", lines
    assert (await setup.tutor[1].api("GET", f"/api/v1/classes/{lesson_id}/attendance"))[0] == 200
    status, body = await setup.students[0][1].api("GET", f"/api/v1/classes/{lesson_id}/attendance")
    assert status == 403, body

    # d phoned: they were there on audio; a coordinator corrects it, and it is kept.
    path = f"/api/v1/classes/{lesson_id}/attendance/{d}"
    status, line = await setup.coordinator.api("PUT", path, {"status": "present", "note": "phone"})
    assert status == 200 and line["status"] == "present" and line["corrected"], line
    assert (await setup.tutor[1].api("PUT", path, {"status": "no_show"}))[0] == 403
    for bad in [{}, {"status": "gone"}, {"status": "present", "note": "x" * 501}, [1], "x"]:
        status, body = await setup.coordinator.api("PUT", path, bad)
        assert status == 422 and body["error"]["code"] == "invalid_input", (bad, body)
    status, body = await setup.coordinator.api(
        "PUT", f"/api/v1/classes/{lesson_id}/attendance/999999", {"status": "present"}
    )
    assert status == 404, body
    async with school.maker() as db:
        (fix,) = await db.scalars(select(AttendanceCorrection))
    assert (fix.before, fix.after, fix.note, fix.corrected_by) == (
        AttendanceStatus.NO_SHOW,
        AttendanceStatus.PRESENT,
        "phone",
        setup.coordinator.user["id"],
    )


async def test_no_show_rates_by_student_and_by_class(school: School) -> None:
    setup = await live_class(school, students=2)
    other = (await new_class(setup.coordinator, hours=2, tutor_id=setup.tutor[0].id))["lessons"][0]
    for lesson in (setup.lesson, other):
        for _, visitor in setup.students:
            await visitor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    first, second = setup.students
    start = utc(setup.lesson["starts_at"])
    async with school.maker.begin() as db:
        await live.record_join(db, setup.lesson["id"], first[0].id, start)
    async with school.maker.begin() as db:
        later = max(utc(other["ends_at"]), utc(setup.lesson["ends_at"])) + timedelta(minutes=1)
        assert len(await attendance.close_classes(db, later, POLICY)) == 2
    # Both classes in the period, whatever the hour: by default it ends today in Jakarta,
    # and "in two hours" is tomorrow there when the suite runs late in the evening.
    today = now().astimezone(ZoneInfo("Asia/Jakarta")).date()
    period = f"since={today - timedelta(days=7)}&until={today + timedelta(days=7)}"
    status, found = await setup.coordinator.api("GET", f"/api/v1/attendance/no-shows?{period}")
    assert status == 200, found
    students = {s["name"]: (s["expected"], s["no_shows"]) for s in found["students"]}
    assert students == {"Student 1": (2, 1), "Student 2": (2, 2)}
    assert found["students"][0]["name"] == "Student 2"  # the highest rate first
    classes = {c["id"]: (c["expected"], c["no_shows"]) for c in found["classes"]}
    assert classes == {setup.lesson["id"]: (2, 1), other["id"]: (2, 2)}
    assert (await first[1].api("GET", "/api/v1/attendance/no-shows"))[0] == 403
    for query in ["since=yesterday", "until=2026-13-01", "since=2026-11-01&until=x"]:
        status, body = await setup.coordinator.api("GET", f"/api/v1/attendance/no-shows?{query}")
        assert status == 422 and body["error"]["fields"], (query, body)


async def test_the_pages_show_attendance_and_coordinators_correct_it(school: School) -> None:
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    (student, student_visitor) = setup.students[0]
    start = utc(setup.lesson["starts_at"])
    async with school.maker.begin() as db:
        await live.record_join(db, lesson_id, setup.tutor[0].id, start)
    async with school.maker.begin() as db:
        await attendance.close_classes(db, start + timedelta(hours=2), POLICY)
    status, html = await setup.coordinator.page(f"/classes/{lesson_id}")
    assert status == 200 and 'id="attendance"' in html and "no-show" in html, html
    status, html = await setup.tutor[1].page(f"/classes/{lesson_id}")
    assert 'id="attendance"' in html and "<select" not in html.split('id="attendance"')[1]
    status, html = await student_visitor.page(f"/classes/{lesson_id}")
    assert 'id="attendance"' not in html  # a student's own record is not shown here

    path = f"/classes/{lesson_id}/attendance/{student.id}"
    status, location, _ = await setup.coordinator.form(path, {"status": "present", "note": ""})
    assert status == 303, location
    async with school.maker() as db:
        (record,) = await db.scalars(
            select(AttendanceRecord).where(AttendanceRecord.user_id == student.id)
        )
    assert record.status == AttendanceStatus.PRESENT
    status, _, _ = await setup.tutor[1].form(path, {"status": "no_show"})
    assert status == 403
    status, _, body = await setup.coordinator.form(path, {"status": "away"})
    assert status == 422, (status, body[-600:])

    status, html = await setup.coordinator.page("/reports/attendance")
    assert status == 200 and "Student 1" in html and "Small talk" in html, html
    assert "<td>0%</td>" in html  # the rate as the viewer's language writes it (Babel)
    status, html = await setup.coordinator.page("/reports/attendance?since=someday")
    assert status == 422 and 'aria-invalid="true"' in html, html
    assert (await student_visitor.page("/reports/attendance"))[0] == 403
