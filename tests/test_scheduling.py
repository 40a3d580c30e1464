"""Classes and weekly series: creation across DST, editing and cancelling occurrences."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from classroom.models import Role
from tests.conftest import School, now
from tests.helpers import new_class, utc


def next_weekday(weekday: int, after: date) -> date:
    return after + timedelta(days=(weekday - after.weekday()) % 7 or 7)


async def test_weekly_series_mon_and_wed_for_eight_weeks(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    start = next_weekday(0, now().date() + timedelta(days=1))
    status, body = await coordinator.api(
        "POST",
        "/api/v1/series",
        {
            "topic": "Everyday English",
            "level": "A2",
            "weekdays": [0, 2],
            "local_time": "19:00",
            "timezone": "Asia/Jakarta",
            "start_date": start.isoformat(),
            "weeks": 8,
            "duration_minutes": 60,
            "capacity": 8,
        },
    )
    assert status == 201, body
    starts = [utc(item["starts_at"]) for item in body["lessons"]]
    assert len(starts) == 16
    jakarta = [s.astimezone(ZoneInfo("Asia/Jakarta")) for s in starts]
    assert {d.strftime("%a %H:%M") for d in jakarta} == {"Mon 19:00", "Wed 19:00"}
    assert {s.strftime("%H:%M") for s in starts} == {"12:00"}
    assert len({item["series_id"] for item in body["lessons"]}) == 1


async def test_series_keeps_local_time_across_a_dst_change(school: School) -> None:
    """London moves its clocks on the last Sunday of March and October."""
    _, coordinator = await school.join(Role.COORDINATOR)
    year = now().year + 1
    status, body = await coordinator.api(
        "POST",
        "/api/v1/series",
        {
            "topic": "Tea and talk",
            "level": "B2",
            "weekdays": [1],
            "local_time": "19:00",
            "timezone": "Europe/London",
            "start_date": f"{year}-03-10",
            "weeks": 4,
        },
    )
    assert status == 201, body
    starts = [utc(item["starts_at"]) for item in body["lessons"]]
    london = [s.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M") for s in starts]
    assert london == ["19:00"] * 4
    assert [s.strftime("%H:%M") for s in starts] == ["19:00", "19:00", "18:00", "18:00"]


async def test_series_form_shows_errors_then_creates(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    status, html = await coordinator.page("/planning/series/new")
    assert status == 200
    fields = [("topic", ""), ("level", "B1"), ("local_time", "19:00"), ("timezone", "Asia/Jakarta"),
              ("start_date", "2020-01-01"), ("weeks", "99"), ("duration_minutes", "60"),
              ("capacity", "13")]  # fmt: skip
    status, _, html = await coordinator.form("/planning/series/new", fields)
    assert status == 422
    for message in ("This field is required", "Must be at most 52", "Must be at most 12"):
        assert message in html
    assert "weekdays" in html
    start = next_weekday(0, now().date() + timedelta(days=1)).isoformat()
    fields = [("topic", "Debate"), ("level", "C1"), ("weekdays", "0"), ("weekdays", "2"),
              ("local_time", "19:00"), ("timezone", "Asia/Jakarta"), ("start_date", start),
              ("weeks", "2"), ("duration_minutes", "60"), ("capacity", "6")]  # fmt: skip
    status, location, _ = await coordinator.form("/planning/series/new", fields)
    assert status == 303 and location.endswith("?done=saved")
    status, plan = await coordinator.api("GET", f"/api/v1/planning?week={start}")
    assert [lesson["topic"] for lesson in plan["lessons"]] == ["Debate", "Debate"]


async def test_a_class_cannot_start_in_the_past(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    body = await new_class(coordinator, hours=-2, expect=422)
    assert body["error"]["fields"] == {"starts_local": "The class must start in the future"}


async def _series(coordinator, weeks: int = 3) -> list[dict]:  # type: ignore[no-untyped-def]
    start = next_weekday(3, now().date() + timedelta(days=1))
    status, body = await coordinator.api(
        "POST",
        "/api/v1/series",
        {"topic": "Weekly", "level": "B1", "weekdays": [3], "local_time": "10:00",
         "timezone": "Asia/Jakarta", "start_date": start.isoformat(), "weeks": weeks},
    )  # fmt: skip
    assert status == 201, body
    return body["lessons"]  # type: ignore[no-any-return]


async def test_edit_one_occurrence_or_this_and_following(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lessons = await _series(coordinator, weeks=3)
    second = lessons[1]
    local = utc(second["starts_at"]).astimezone(ZoneInfo("Asia/Jakarta"))
    edit = {
        "topic": "Weekly (moved)",
        "level": "B2",
        "starts_local": local.replace(hour=11, tzinfo=None).isoformat(),
        "timezone": "Asia/Jakarta",
        "duration_minutes": 90,
        "capacity": 6,
        "scope": "one",
    }
    status, body = await coordinator.api("PATCH", f"/api/v1/classes/{second['id']}", edit)
    assert status == 200, body
    assert [item["id"] for item in body["lessons"]] == [second["id"]]
    assert body["lessons"][0]["duration_minutes"] == 90
    status, body = await coordinator.api(
        "PATCH", f"/api/v1/classes/{second['id']}", {**edit, "topic": "Later", "scope": "following",
        "starts_local": local.replace(hour=12, tzinfo=None).isoformat()},
    )  # fmt: skip
    assert status == 200, body
    assert [item["id"] for item in body["lessons"]] == [second["id"], lessons[2]["id"]]
    status, first = await coordinator.api("GET", f"/api/v1/classes/{lessons[0]['id']}")
    assert first["lesson"]["topic"] == "Weekly"
    status, third = await coordinator.api("GET", f"/api/v1/classes/{lessons[2]['id']}")
    third_local = utc(third["lesson"]["starts_at"]).astimezone(ZoneInfo("Asia/Jakarta"))
    assert (third["lesson"]["topic"], third_local.hour) == ("Later", 12)  # moved from 10:00 by +2 h


async def test_capacity_cannot_drop_below_bookings(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, capacity=2))["lessons"][0]
    for _ in range(2):
        _, student = await school.join(Role.STUDENT)
        assert (await student.api("POST", f"/api/v1/classes/{lesson['id']}/booking"))[0] == 201
    local = utc(lesson["starts_at"]).astimezone(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None)
    status, body = await coordinator.api(
        "PATCH",
        f"/api/v1/classes/{lesson['id']}",
        {"topic": "x", "level": "B1", "starts_local": local.isoformat(), "timezone": "Asia/Jakarta",
         "duration_minutes": 60, "capacity": 1},
    )  # fmt: skip
    assert status == 422 and "capacity" in body["error"]["fields"]


async def test_cancelling_following_occurrences_tells_everyone_who_booked(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor_user, tutor = await school.join(Role.TUTOR)
    lessons = await _series(coordinator, weeks=3)
    _, student = await school.join(Role.STUDENT)
    for lesson in lessons:
        assert (await student.api("POST", f"/api/v1/classes/{lesson['id']}/booking"))[0] == 201
    assign = {"tutor_id": tutor_user.id, "scope": "series"}
    status, _ = await coordinator.api("PUT", f"/api/v1/classes/{lessons[0]['id']}/tutor", assign)
    assert status == 200
    status, location, _ = await coordinator.form(
        f"/classes/{lessons[1]['id']}/cancel", {"scope": "following"}
    )
    assert status == 303
    status, mine = await student.api("GET", "/api/v1/me/classes")
    statuses = {m["lesson"]["id"]: m["lesson"]["status"] for m in mine}
    assert statuses == {lessons[0]["id"]: "scheduled", lessons[1]["id"]: "cancelled",
                        lessons[2]["id"]: "cancelled"}  # fmt: skip
    for visitor in (student, tutor):
        status, messages = await visitor.api("GET", "/api/v1/me/messages")
        assert sorted(m["lesson_id"] for m in messages if m["kind"] == "lesson_cancelled") == [
            lessons[1]["id"], lessons[2]["id"]]  # fmt: skip
    status, html = await student.page("/messages")
    assert "was cancelled" in html
    status, body = await coordinator.api(
        "POST", f"/api/v1/classes/{lessons[1]['id']}/cancel", {"scope": "one"}
    )
    assert status == 409
