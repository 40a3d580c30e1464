"""Assigning tutors: double booking, availability, suggestions, substitutions."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from classroom.models import Role
from tests.conftest import School, Visitor, now
from tests.helpers import new_class, utc


async def all_week(tutor: Visitor, start: str = "00:00", end: str = "23:59") -> None:
    for weekday in range(7):
        status, body = await tutor.api(
            "POST",
            "/api/v1/availability/windows",
            {"weekday": weekday, "start_time": start, "end_time": end},
        )
        assert status == 201, body


async def test_tutor_is_never_double_booked(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor_user, tutor = await school.join(Role.TUTOR)
    await all_week(tutor)
    first = (await new_class(coordinator, hours=30, tutor_id=tutor_user.id))["lessons"][0]
    assert first["tutor_id"] == tutor_user.id
    other = (await new_class(coordinator, hours=30.5))["lessons"][0]
    status, body = await coordinator.api(
        "PUT", f"/api/v1/classes/{other['id']}/tutor", {"tutor_id": tutor_user.id}
    )
    assert status == 409
    assert body["error"]["code"] == "double_booked"
    assert "already teaches" in body["error"]["message"]
    body = await new_class(coordinator, hours=30.25, tutor_id=tutor_user.id, expect=409)
    status, plan = await coordinator.api("GET", "/api/v1/classes")
    assert len(plan) == 2  # the refused class was not half-created


async def test_assigning_outside_availability_warns_but_saves(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor_user, tutor = await school.join(Role.TUTOR)
    lesson = (await new_class(coordinator, hours=50))["lessons"][0]
    status, body = await coordinator.api(
        "PUT", f"/api/v1/classes/{lesson['id']}/tutor", {"tutor_id": tutor_user.id}
    )
    assert status == 200
    assert len(body["warnings"]) == 1 and "outside the availability" in body["warnings"][0]
    assert body["lessons"][0]["tutor_id"] == tutor_user.id
    other = (await new_class(coordinator, hours=80))["lessons"][0]
    status, location, html = await coordinator.form(
        f"/classes/{other['id']}/assign", {"tutor_id": str(tutor_user.id)}
    )
    assert status == 200 and "outside the availability" in html


async def test_suggestions_are_free_available_and_least_loaded_first(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    busy_user, busy = await school.join(Role.TUTOR, "Busy")
    loaded_user, loaded = await school.join(Role.TUTOR, "Loaded")
    idle_user, idle = await school.join(Role.TUTOR, "Idle", timezone="Asia/Makassar")
    away_user, away = await school.join(Role.TUTOR, "Away")
    _, never = await school.join(Role.TUTOR, "Never available")
    for tutor in (busy, loaded, idle, away):
        await all_week(tutor)
    # At 10:00 in Jakarta three days on, whatever the time now: "now + 72 h" ran past the
    # windows' 23:59 when the suite ran in the Jakarta evening, and nobody was available.
    at = (now() + timedelta(days=3)).astimezone(ZoneInfo("Asia/Jakarta"))
    at = at.replace(hour=10, minute=0, second=0, microsecond=0, tzinfo=None)
    lesson = (await new_class(coordinator, starts_local=at.isoformat()))["lessons"][0]
    overlapping, earlier = at + timedelta(minutes=30), at - timedelta(hours=12)
    await new_class(coordinator, starts_local=overlapping.isoformat(), tutor_id=busy_user.id)
    await new_class(coordinator, starts_local=earlier.isoformat(), tutor_id=loaded_user.id)
    day = utc(lesson["starts_at"]).astimezone(ZoneInfo("Asia/Jakarta")).date()
    status, _ = await away.api(
        "POST", "/api/v1/availability/absences",
        {"first_day": day.isoformat(), "last_day": day.isoformat(), "reason": "Leave"},
    )  # fmt: skip
    assert status == 201
    status, found = await coordinator.api("GET", f"/api/v1/classes/{lesson['id']}/suggestions")
    assert [(s["tutor"]["name"], s["load"]) for s in found] == [("Idle", 0), ("Loaded", 1)]
    status, html = await coordinator.page(f"/classes/{lesson['id']}")
    assert "Free and available" in html and "Idle" in html


async def test_window_checks_use_the_tutors_own_zone(school: School) -> None:
    """A Makassar tutor free 09:00-12:00 local is free for a 08:00 Jakarta class (09:00 WITA)."""
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor_user, tutor = await school.join(Role.TUTOR, "Wita", timezone="Asia/Makassar")
    target = (
        (now() + timedelta(days=3))
        .astimezone(ZoneInfo("Asia/Jakarta"))
        .replace(hour=8, minute=0, second=0, microsecond=0)
    )
    weekday = target.astimezone(ZoneInfo("Asia/Makassar")).weekday()
    status, _ = await tutor.api(
        "POST", "/api/v1/availability/windows",
        {"weekday": weekday, "start_time": "09:00", "end_time": "12:00"},
    )  # fmt: skip
    assert status == 201
    ok = await new_class(
        coordinator, starts_local=target.replace(tzinfo=None).isoformat(), tutor_id=tutor_user.id
    )
    assert ok["warnings"] == []
    later = target.replace(hour=11, minute=30)  # 12:30 in Makassar: outside the window
    warned = await new_class(
        coordinator, starts_local=later.replace(tzinfo=None).isoformat(), tutor_id=tutor_user.id
    )
    assert len(warned["warnings"]) == 1


async def test_substitution_keeps_bookings_and_tells_both_tutors(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    first_user, first = await school.join(Role.TUTOR, "First")
    second_user, second = await school.join(Role.TUTOR, "Second")
    lesson = (await new_class(coordinator, tutor_id=first_user.id))["lessons"][0]
    _, student = await school.join(Role.STUDENT)
    assert (await student.api("POST", f"/api/v1/classes/{lesson['id']}/booking"))[0] == 201
    status, body = await coordinator.api(
        "PUT", f"/api/v1/classes/{lesson['id']}/tutor", {"tutor_id": second_user.id}
    )
    assert status == 200 and body["lessons"][0]["tutor_name"] == "Second"
    status, mine = await student.api("GET", "/api/v1/me/classes")
    assert [(m["lesson"]["id"], m["status"]) for m in mine] == [(lesson["id"], "confirmed")]
    status, old_messages = await first.api("GET", "/api/v1/me/messages")
    status, new_messages = await second.api("GET", "/api/v1/me/messages")
    assert [m["kind"] for m in old_messages] == ["substitution_removed", "lesson_assigned"]
    assert [m["kind"] for m in new_messages] == ["substitution_assigned"]
    status, roster = await second.api("GET", f"/api/v1/classes/{lesson['id']}")
    assert [r["student"]["id"] for r in roster["roster"]] == [student.user["id"]]
    status, roster = await first.api("GET", f"/api/v1/classes/{lesson['id']}")
    assert roster["roster"] is None  # no longer their class, no longer their students


async def test_assigning_a_whole_series(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor_user, tutor = await school.join(Role.TUTOR)
    start = (now() + timedelta(days=1)).date()
    status, body = await coordinator.api(
        "POST", "/api/v1/series",
        {"topic": "Series", "level": "A1", "weekdays": [0, 3], "local_time": "08:00",
         "timezone": "Asia/Jakarta", "start_date": start.isoformat(), "weeks": 3},
    )  # fmt: skip
    assert status == 201
    ids = [item["id"] for item in body["lessons"]]
    status, body = await coordinator.api(
        "PUT", f"/api/v1/classes/{ids[0]}/tutor", {"tutor_id": tutor_user.id, "scope": "series"}
    )
    assert status == 200 and sorted(item["id"] for item in body["lessons"]) == sorted(ids)
    status, week = await tutor.api("GET", f"/api/v1/teaching?week={start.isoformat()}")
    assert week["lessons"] and all(item["tutor_id"] == tutor_user.id for item in week["lessons"])
    status, html = await tutor.page(f"/teaching?week={start.isoformat()}")
    assert status == 200 and "Series" in html


async def test_tutor_sees_only_own_students(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    mine_user, mine = await school.join(Role.TUTOR)
    other_user, _ = await school.join(Role.TUTOR)
    own = (await new_class(coordinator, hours=30, tutor_id=mine_user.id))["lessons"][0]
    theirs = (await new_class(coordinator, hours=40, tutor_id=other_user.id))["lessons"][0]
    student_user, student = await school.join(Role.STUDENT, "Visible Student")
    other_student_user, other_student = await school.join(Role.STUDENT, "Hidden Student")
    await student.api("POST", f"/api/v1/classes/{own['id']}/booking")
    await other_student.api("POST", f"/api/v1/classes/{theirs['id']}/booking")
    status, html = await mine.page(f"/classes/{own['id']}")
    assert "Visible Student" in html
    status, html = await mine.page(f"/classes/{theirs['id']}")
    assert status == 200 and "Hidden Student" not in html
    status, body = await mine.api("GET", f"/api/v1/classes/{theirs['id']}")
    assert body["roster"] is None
    status, body = await student.api("GET", f"/api/v1/classes/{own['id']}")
    assert body["roster"] is None  # students never see each other's bookings
