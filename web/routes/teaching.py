"""The tutor's teaching week and availability."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from classroom import availability, schemas, timetable
from classroom.clock import to_local, week_range, week_start
from classroom.errors import InvalidInput
from classroom.models import Role
from web import i18n
from web.forms import form_data, int_param, query_data
from web.keys import CLOCK, DB
from web.live import SCHOOL
from web.middlewares import current_user
from web.pages import render
from web.routes.recap import missing_reports


def setup(app: web.Application) -> None:
    app.router.add_get("/teaching", teaching_week)
    app.router.add_get("/availability", availability_page)
    app.router.add_post("/availability/windows", add_window)
    app.router.add_post(r"/availability/windows/{item_id:\d+}/delete", remove_window)
    app.router.add_post("/availability/absences", add_absence)
    app.router.add_post(r"/availability/absences/{item_id:\d+}/delete", remove_absence)


def chosen_week(request: web.Request, zone: str) -> date:
    """Monday of the week asked for (?week=YYYY-MM-DD), or of this week in ``zone``."""
    chosen = schemas.parse(schemas.WeekChoice, query_data(request, "week")).week
    return week_start(chosen or to_local(request.app[CLOCK](), zone).date())


def week_context(monday: date) -> dict[str, Any]:
    return {
        "monday": monday,
        "previous": monday - timedelta(days=7),
        "next": monday + timedelta(days=7),
        "days": [monday + timedelta(days=i) for i in range(7)],
    }


async def teaching_week(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, Role.TUTOR)
    monday = chosen_week(request, tutor.timezone)
    start, end = week_range(monday, tutor.timezone)
    async with request.app[DB].begin() as db:
        rows = await timetable.teaching(db, tutor, start, end)
        rosters = {row.lesson.id: await timetable.roster(db, tutor, row.lesson) for row in rows}
    by_day: dict[date, list[timetable.LessonRow]] = {}
    for row in rows:
        by_day.setdefault(to_local(row.lesson.starts_at, tutor.timezone).date(), []).append(row)
    now = request.app[CLOCK]()
    offers = await request.app[SCHOOL].deps.presence.substitutes(now.timestamp())
    until = offers.get(tutor.id)
    context = {
        "missing": await missing_reports(request, tutor),
        "now": now,
        "by_day": by_day,
        "rosters": rosters,
        "substitute_until": datetime.fromtimestamp(until, UTC) if until else None,
        **week_context(monday),
    }
    return render("teaching.html", request, context)


async def _availability(
    request: web.Request, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None
) -> web.StreamResponse:
    tutor = current_user(request, Role.TUTOR)
    async with request.app[DB].begin() as db:
        windows = await availability.windows(db, tutor)
        absences = await availability.exceptions(db, tutor, request.app[CLOCK]())
    context = {
        "windows": windows,
        "absences": absences,
        "errors": errors or {},
        "form": form or {},
        "weekdays": list(range(7)),
    }
    status = 422 if errors else 200
    return render("availability.html", request, context, status=status)


async def availability_page(request: web.Request) -> web.StreamResponse:
    return await _availability(request)


async def add_window(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, Role.TUTOR)
    data = await form_data(request)
    try:
        window = schemas.parse(schemas.AvailabilityWindowIn, data)
    except InvalidInput as exc:
        return await _availability(request, i18n.field_errors(exc.fields), data)
    async with request.app[DB].begin() as db:
        await availability.add_window(db, tutor, window)
    raise web.HTTPSeeOther("/availability")


async def remove_window(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, Role.TUTOR)
    async with request.app[DB].begin() as db:
        await availability.remove_window(db, tutor, int_param(request, "item_id"))
    raise web.HTTPSeeOther("/availability")


async def add_absence(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, Role.TUTOR)
    data = await form_data(request)
    try:
        absence = schemas.parse(schemas.AvailabilityExceptionIn, data)
    except InvalidInput as exc:
        return await _availability(request, i18n.field_errors(exc.fields), data)
    async with request.app[DB].begin() as db:
        await availability.add_exception(db, tutor, absence)
    raise web.HTTPSeeOther("/availability")


async def remove_absence(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, Role.TUTOR)
    async with request.app[DB].begin() as db:
        await availability.remove_exception(db, tutor, int_param(request, "item_id"))
    raise web.HTTPSeeOther("/availability")
