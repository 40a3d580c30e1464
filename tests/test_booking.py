"""Booking, cancelling, waitlists and capacity, through the API and the pages."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from classroom.models import Booking, BookingStatus, Role
from tests.conftest import School
from tests.helpers import new_class


async def test_student_books_and_sees_it_in_my_classes(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator))["lessons"][0]
    _, student = await school.join(Role.STUDENT)
    status, body = await student.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    assert (status, body["status"]) == (201, "confirmed")
    status, mine = await student.api("GET", "/api/v1/me/classes")
    assert [m["lesson"]["id"] for m in mine] == [lesson["id"]]
    assert mine[0]["lesson"]["seats_left"] == 3
    status, html = await student.page("/my")
    assert status == 200 and "Small talk" in html and "Booked" in html
    status, body = await student.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    assert status == 409 and body["error"]["message"] == "You have already booked this class."


async def test_booking_with_the_form(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator))["lessons"][0]
    _, student = await school.join(Role.STUDENT)
    status, html = await student.page(f"/classes/{lesson['id']}")
    assert status == 200 and "Book a seat" in html
    status, location, _ = await student.form(f"/classes/{lesson['id']}/book")
    assert (status, location) == (303, f"/classes/{lesson['id']}?done=booked")
    status, html = await student.page(location)
    assert "You are booked" in html and "Cancel my booking" in html


async def test_cancel_is_free_before_the_window_and_late_after(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    early = (await new_class(coordinator, hours=48))["lessons"][0]
    soon = (await new_class(coordinator, hours=3))["lessons"][0]
    _, student = await school.join(Role.STUDENT)
    for lesson in (early, soon):
        assert (await student.api("POST", f"/api/v1/classes/{lesson['id']}/booking"))[0] == 201
    status, body = await student.api("DELETE", f"/api/v1/classes/{early['id']}/booking")
    assert (status, body["status"]) == (200, "cancelled")
    status, location, _ = await student.form(f"/classes/{soon['id']}/cancel-booking")
    assert location.endswith("done=late_cancelled")
    status, html = await student.page(location)
    assert "late cancellation" in html
    status, mine = await student.api("GET", "/api/v1/me/classes")
    assert mine == []
    # Booking again after a cancellation works.
    assert (await student.api("POST", f"/api/v1/classes/{early['id']}/booking"))[0] == 201


async def test_full_class_offers_the_waitlist_and_a_freed_seat_goes_to_the_first(
    school: School,
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, capacity=1))["lessons"][0]
    path = f"/api/v1/classes/{lesson['id']}"
    _, first = await school.join(Role.STUDENT)
    second_user, second = await school.join(Role.STUDENT)
    _, third = await school.join(Role.STUDENT)
    assert (await first.api("POST", path + "/booking"))[0] == 201
    status, body = await second.api("POST", path + "/booking")
    assert (status, body["error"]["code"]) == (409, "class_full")
    status, html = await second.page(f"/classes/{lesson['id']}")
    assert "Join the waitlist" in html
    status, body = await second.api("POST", path + "/waitlist")
    assert (status, body["status"], body["waitlist_position"]) == (201, "waitlisted", 1)
    status, body = await third.api("POST", path + "/waitlist")
    assert body["waitlist_position"] == 2
    assert (await first.api("DELETE", path + "/booking"))[0] == 200
    status, body = await second.api("GET", path)
    assert body["my_booking"]["status"] == "confirmed"
    status, body = await third.api("GET", path)
    assert body["my_booking"] == {
        "lesson_id": lesson["id"],
        "status": "waitlisted",
        "waitlist_position": 1,
    }
    status, messages = await second.api("GET", "/api/v1/me/messages")
    assert [m["kind"] for m in messages] == ["waitlist_promoted"]
    status, html = await second.page("/messages")
    assert "A seat became free" in html


async def test_waitlist_is_refused_while_seats_are_free(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator))["lessons"][0]
    _, student = await school.join(Role.STUDENT)
    status, body = await student.api("POST", f"/api/v1/classes/{lesson['id']}/waitlist")
    assert status == 409 and "free seats" in body["error"]["message"]


async def test_student_cannot_book_two_overlapping_classes(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    one = (await new_class(coordinator, hours=30))["lessons"][0]
    other = (await new_class(coordinator, hours=30.5, topic="Travel"))["lessons"][0]
    _, student = await school.join(Role.STUDENT)
    assert (await student.api("POST", f"/api/v1/classes/{one['id']}/booking"))[0] == 201
    status, body = await student.api("POST", f"/api/v1/classes/{other['id']}/booking")
    assert (status, body["error"]["code"]) == (409, "double_booked")


async def test_only_students_book_and_nobody_books_a_past_or_cancelled_class(
    school: School,
) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator))["lessons"][0]
    _, tutor = await school.join(Role.TUTOR)
    status, _ = await tutor.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    assert status == 403
    assert (
        await coordinator.api("POST", f"/api/v1/classes/{lesson['id']}/cancel", {"scope": "one"})
    )[0] == 200
    _, student = await school.join(Role.STUDENT)
    status, body = await student.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    assert (status, body["error"]["code"]) == (409, "too_late")
    status, body = await student.api("POST", "/api/v1/classes/999999/booking")
    assert status == 404


async def test_capacity_holds_when_many_students_book_the_last_seats_at_once(
    school: School,
) -> None:
    """Thirty students press "Book" at the same moment for five seats: exactly five get in."""
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, capacity=5))["lessons"][0]
    students = [await school.join(Role.STUDENT) for _ in range(30)]
    path = f"/api/v1/classes/{lesson['id']}/booking"
    results = await asyncio.gather(*(visitor.api("POST", path) for _, visitor in students))
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 5
    assert statuses.count(409) == 25
    assert all(body["error"]["code"] == "class_full" for status, body in results if status == 409)
    async with school.maker() as session:
        confirmed = await session.scalar(
            select(func.count()).where(
                Booking.lesson_id == lesson["id"], Booking.status == BookingStatus.CONFIRMED
            )
        )
    assert confirmed == 5
    status, body = await coordinator.api("GET", f"/api/v1/classes/{lesson['id']}")
    assert (body["lesson"]["booked"], body["lesson"]["seats_left"]) == (5, 0)
