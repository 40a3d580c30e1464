"""Browsing, booking and the class page; the student's own classes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from classroom import (
    accounts,
    assignment,
    attendance,
    booking,
    live,
    readiness,
    schemas,
    speaking,
    timetable,
)
from classroom.errors import N_, ClassFull, InvalidInput
from classroom.models import Booking, BookingStatus, LessonStatus, Level, Role, User
from classroom.timetable import LessonView
from web import i18n
from web.forms import form_data, int_param, query_data
from web.keys import CLOCK, DB, SETTINGS
from web.live import join_window
from web.middlewares import current_user
from web.pages import render

LESSON = r"/classes/{lesson_id:\d+}"
ATTENDANCE_LABELS = {
    "present": N_("present"),
    "late": N_("late"),
    "left_early": N_("left early"),
    "no_show": N_("no-show"),
}


def setup(app: web.Application) -> None:
    app.router.add_get("/classes", browse)
    app.router.add_get(LESSON, detail)
    app.router.add_post(LESSON + "/book", book)
    app.router.add_post(LESSON + "/waitlist", waitlist)
    app.router.add_post(LESSON + "/cancel-booking", cancel_booking)
    app.router.add_get("/my", my_classes)
    app.router.add_post(LESSON + r"/attendance/{user_id:\d+}", correct_attendance)


async def browse(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    try:
        filters = schemas.parse(
            schemas.LessonFilter, query_data(request, "level", "topic", "day", "tutor_id")
        )
        errors: dict[str, str] = {}
    except InvalidInput as exc:
        filters, errors = schemas.LessonFilter(), i18n.field_errors(exc.fields)
    async with request.app[DB].begin() as db:
        rows = await timetable.upcoming(db, user, filters, request.app[CLOCK]())
        tutors = await accounts.list_users(db, Role.TUTOR)
        mine = {}
        if user.role == Role.STUDENT:
            booked = await timetable.my_lessons(db, user, request.app[CLOCK]())
            mine = {item.row.lesson.id: item.status for item in booked}
    context = {
        "rows": rows,
        "tutors": tutors,
        "filters": filters,
        "errors": errors,
        "levels": [lvl.value for lvl in Level],
        "mine": mine,
    }
    return render("browse.html", request, context, status=422 if errors else 200)


async def detail(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    lesson_id = int_param(request, "lesson_id")
    now = request.app[CLOCK]()
    async with request.app[DB].begin() as db:
        row = await timetable.lesson_row(db, lesson_id)
        context: dict[str, Any] = {
            "row": row,
            "lesson": row.lesson,
            "now": now,
            "roster": await timetable.roster(db, user, row.lesson),
            "may_see_roster": timetable.may_see_roster(user, row.lesson),
            "my_booking": await timetable.booking_of(db, user, lesson_id),
            "position": None,
            "warnings": [],
            "tutors": [],
            "suggestions": [],
            "readiness": {},
            "cancellation_window": request.app[SETTINGS].cancellation_window,
            "strikes": request.app[SETTINGS].strikes,
            "BookingStatus": BookingStatus,
            "attendance_labels": {k: i18n.gettext(v) for k, v in ATTENDANCE_LABELS.items()},
            "request_done": request.query.get("done"),
            "done_text": i18n.done_text(request.query.get("done")),
        }
        mine = context["my_booking"]
        if mine is not None and mine.status == BookingStatus.WAITLISTED:
            context["position"] = await booking.waitlist_position(db, mine)
        window = join_window(request.app)
        context["joinable"] = await live.joinable(db, user, lesson_id, now, window)
        whole = user.role == Role.COORDINATOR or row.lesson.tutor_id == user.id
        context["attendance"] = await attendance.of_class(db, user, lesson_id) if whole else []
        # How much each person spoke (classroom/speaking.py), beside the attendance.
        context["speaking"] = await speaking.of_class(db, user, lesson_id) if whole else None
        context["suggest_check"] = _takes_part(user, row.lesson, mine, now) and (
            await readiness.before_first_class(db, user, now, request.app[SETTINGS].check_max_age)
        )
        if user.role == Role.COORDINATOR and row.lesson.ends_at > now:
            # Who has not shown that their setup works (classroom/readiness.py): only
            # worth saying while the class is still to be taught.
            found = await readiness.of_class(
                db, user, lesson_id, now, request.app[SETTINGS].check_max_age
            )
            context["readiness"] = {p.user_id: p for p in found}
        if user.role == Role.COORDINATOR:
            context["tutors"] = await accounts.list_users(db, Role.TUTOR)
            # Also for a class that has a tutor: a substitute is chosen from the same list
            # (its own tutor is busy teaching it, so never suggested).
            context["suggestions"] = await assignment.suggest(
                db, row.lesson.starts_at, row.lesson.ends_at
            )
    return render("lesson.html", request, context)


async def correct_attendance(request: web.Request) -> web.StreamResponse:
    """A coordinator corrects one person's attendance from the class page."""
    user = current_user(request, Role.COORDINATOR)
    lesson_id = int_param(request, "lesson_id")
    form = await form_data(request)
    data = schemas.parse(schemas.AttendanceFix, {k: form.get(k, "") for k in ("status", "note")})
    async with request.app[DB].begin() as db:
        await attendance.correct(
            db, user, lesson_id, int_param(request, "user_id"), data.status, data.note,
            request.app[CLOCK](),
        )  # fmt: skip
    raise _back(lesson_id, "saved")


def _takes_part(user: User, lesson: LessonView, mine: Booking | None, now: datetime) -> bool:
    """The class's own tutor, or a student with a seat or a place on its waitlist, in a
    class not over yet."""
    if lesson.status != LessonStatus.SCHEDULED or lesson.ends_at <= now:
        return False
    if user.role == Role.TUTOR:
        return lesson.tutor_id == user.id
    return mine is not None and mine.status in booking.ACTIVE


def _back(lesson_id: int, flash: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/classes/{lesson_id}?done={flash}")


async def book(request: web.Request) -> web.StreamResponse:
    student = current_user(request, Role.STUDENT)
    lesson_id = int_param(request, "lesson_id")
    try:
        async with request.app[DB].begin() as db:
            await booking.book(
                db, student, lesson_id, request.app[CLOCK](), request.app[SETTINGS].strikes
            )
    except ClassFull:
        raise _back(lesson_id, "full") from None
    raise _back(lesson_id, "booked")


async def waitlist(request: web.Request) -> web.StreamResponse:
    student = current_user(request, Role.STUDENT)
    lesson_id = int_param(request, "lesson_id")
    async with request.app[DB].begin() as db:
        await booking.join_waitlist(
            db, student, lesson_id, request.app[CLOCK](), request.app[SETTINGS].strikes
        )
    raise _back(lesson_id, "waitlisted")


async def cancel_booking(request: web.Request) -> web.StreamResponse:
    student = current_user(request, Role.STUDENT)
    lesson_id = int_param(request, "lesson_id")
    window = request.app[SETTINGS].cancellation_window
    async with request.app[DB].begin() as db:
        result = await booking.cancel(db, student, lesson_id, request.app[CLOCK](), window)
    late = result.status == BookingStatus.LATE_CANCELLED
    raise _back(lesson_id, "late_cancelled" if late else "cancelled")


async def my_classes(request: web.Request) -> web.StreamResponse:
    student = current_user(request, Role.STUDENT)
    async with request.app[DB].begin() as db:
        items = await timetable.my_lessons(db, student, request.app[CLOCK]())
    return render("my.html", request, {"items": items})
