"""Private iCalendar feeds and single-class downloads, parsed with the icalendar library."""

from __future__ import annotations

from icalendar import Calendar

from classroom.models import Role
from tests.conftest import School
from tests.helpers import new_class, utc


async def test_feed_lists_booked_classes_and_parses(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    booked = (await new_class(coordinator, topic="Booked one"))["lessons"][0]
    await new_class(coordinator, hours=72, topic="Not booked")
    _, student = await school.join(Role.STUDENT)
    await student.api("POST", f"/api/v1/classes/{booked['id']}/booking")
    status, feed = await student.api("GET", "/api/v1/me/calendar")
    assert status == 200
    path = feed["url"].removeprefix("http://127.0.0.1")
    anonymous = await school.visitor()  # calendar apps have no cookies
    async with anonymous.client.get(path) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/calendar"
        calendar = Calendar.from_ical(await resp.read())
    events = calendar.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Booked one (B1)"]
    assert events[0].decoded("DTSTART") == utc(booked["starts_at"])
    assert str(events[0]["UID"]).startswith(f"lesson-{booked['id']}@")


async def test_rotating_the_feed_revokes_the_old_address(school: School) -> None:
    _, student = await school.join(Role.STUDENT)
    _, feed = await student.api("GET", "/api/v1/me/calendar")
    old = feed["url"].removeprefix("http://127.0.0.1")
    status, location, _ = await student.form("/account/calendar")
    assert status == 303
    _, feed = await student.api("GET", "/api/v1/me/calendar")
    new = feed["url"].removeprefix("http://127.0.0.1")
    assert new != old
    anonymous = await school.visitor()
    async with anonymous.client.get(old) as resp:
        assert resp.status == 404
    async with anonymous.client.get(new) as resp:
        assert resp.status == 200


async def test_tutor_feed_has_taught_classes_and_class_download_works(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    tutor_user, tutor = await school.join(Role.TUTOR)
    lesson = (await new_class(coordinator, tutor_id=tutor_user.id, topic="Taught"))["lessons"][0]
    await coordinator.api("POST", f"/api/v1/classes/{lesson['id']}/cancel", {"scope": "one"})
    _, feed = await tutor.api("GET", "/api/v1/me/calendar")
    async with tutor.client.get(feed["url"].removeprefix("http://127.0.0.1")) as resp:
        events = Calendar.from_ical(await resp.read()).walk("VEVENT")
    assert [(str(e["SUMMARY"]), str(e["STATUS"])) for e in events] == [("Taught (B1)", "CANCELLED")]
    async with tutor.client.get(f"/classes/{lesson['id']}.ics") as resp:
        assert resp.status == 200
        single = Calendar.from_ical(await resp.read()).walk("VEVENT")
    assert len(single) == 1
