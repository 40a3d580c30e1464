"""The coordinator's side: planning week, classes and series, assignment, tutors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import accounts, assignment, grid, scheduling, schemas, timetable
from classroom.clock import to_local, week_range
from classroom.errors import InvalidInput, Notice
from classroom.models import Lesson, Level, Role, User
from web import i18n
from web.forms import form_data, int_param, query_data
from web.keys import CLOCK, DB, PASSWORDS
from web.middlewares import current_user
from web.pages import render
from web.routes.lessons import LESSON


def setup(app: web.Application) -> None:
    app.router.add_get("/planning", planning_week)
    app.router.add_get("/planning/classes/new", new_lesson)
    app.router.add_post("/planning/classes/new", new_lesson)
    app.router.add_get("/planning/series/new", new_series)
    app.router.add_post("/planning/series/new", new_series)
    app.router.add_get(LESSON + "/edit", edit_lesson)
    app.router.add_post(LESSON + "/edit", edit_lesson)
    app.router.add_post(LESSON + "/cancel", cancel_lesson)
    app.router.add_post(LESSON + "/assign", assign)
    app.router.add_get("/tutors", tutors)
    app.router.add_post("/tutors", tutors)


QUERY_FIELDS = tuple(schemas.TimetableQuery.model_fields)


async def planning_week(request: web.Request) -> web.StreamResponse:
    """The timetable: lecturers or levels by days, a page of rows at a time."""
    user = current_user(request, Role.COORDINATOR)
    query = schemas.parse(schemas.TimetableQuery, query_data(request, *QUERY_FIELDS))
    today = to_local(request.app[CLOCK](), user.timezone).date()
    async with request.app[DB].begin() as db:
        found = await grid.timetable(db, query, user.timezone, today)
    context = {
        "grid": found,
        "query": query,
        "href": partial(_href, query, found),
        "levels": [lvl.value for lvl in Level],
        "week_days": [found.monday + timedelta(days=i) for i in range(7)],
        "earlier": _step(found, -1),
        "later": _step(found, 1),
    }
    return render("planning.html", request, context)


def _step(found: grid.Grid, direction: int) -> dict[str, date]:
    """The link's change for the previous or next day (one-day view) or week."""
    if found.query.day is not None:
        return {"day": found.query.day + timedelta(days=direction)}
    return {"week": found.monday + timedelta(weeks=direction)}


def _href(query: schemas.TimetableQuery, found: grid.Grid, **changes: Any) -> str:
    """This view's address with some choices changed; a new filter starts at page 1."""
    values: dict[str, Any] = query.model_dump(exclude_defaults=True)
    values["week"] = found.monday
    if "page" not in changes:
        values.pop("page", None)
    values.update(changes)
    if values.get("day"):
        values.pop("week")
    kept = {k: _text(v) for k, v in values.items() if v not in (None, False, "")}
    return "?" + urlencode(kept)


def _text(value: Any) -> str:
    if value is True:
        return "1"
    return str(value.value if isinstance(value, Level) else value)


def _saved(
    request: web.Request, lessons: list[Lesson], warnings: list[Notice]
) -> web.StreamResponse:
    """Straight to the class, or first a page with what the coordinator should know."""
    if not warnings:
        raise web.HTTPSeeOther(f"/classes/{lessons[0].id}?done=saved")
    context = {"lessons": lessons, "warnings": [i18n.notice(w) for w in warnings]}
    return render("saved.html", request, context)


async def _lesson_form(
    request: web.Request,
    template: str,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> web.StreamResponse:
    async with request.app[DB].begin() as db:
        tutor_list = await accounts.list_users(db, Role.TUTOR)
    context = {
        "form": form,
        "errors": errors,
        "tutor_options": [(t.id, t.name) for t in tutor_list],
        "levels": [(lvl.value, lvl.value) for lvl in Level],
        "zones": schemas.TIME_ZONES,
        "weekdays": list(range(7)),
    }
    return render(template, request, context, status=status)


async def _create(
    request: web.Request,
    user: User,
    template: str,
    model: type[Any],
    create: Callable[[AsyncSession, User, Any, datetime], Awaitable[scheduling.Scheduled]],
) -> web.StreamResponse:
    """Validate the posted form, create the class or series, or show the form's errors."""
    data = await form_data(request)
    try:
        async with request.app[DB].begin() as db:
            result = await create(db, user, schemas.parse(model, data), request.app[CLOCK]())
    except InvalidInput as exc:
        return await _lesson_form(request, template, data, i18n.field_errors(exc.fields), 422)
    return _saved(request, result.lessons, result.warnings)


async def new_lesson(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.COORDINATOR)
    if request.method != "POST":
        form = {"timezone": user.timezone, "duration_minutes": 60, "capacity": 8}
        return await _lesson_form(request, "lesson_new.html", form, {})
    return await _create(
        request, user, "lesson_new.html", schemas.NewLesson, scheduling.create_lesson
    )


async def new_series(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.COORDINATOR)
    if request.method != "POST":
        today = to_local(request.app[CLOCK](), user.timezone).date()
        form = {
            "timezone": user.timezone,
            "duration_minutes": 60,
            "capacity": 8,
            "weeks": 8,
            "start_date": today.isoformat(),
            "weekdays": [],
        }
        return await _lesson_form(request, "series_new.html", form, {})
    return await _create(
        request, user, "series_new.html", schemas.NewSeries, scheduling.create_series
    )


async def edit_lesson(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.COORDINATOR)
    lesson_id = int_param(request, "lesson_id")
    async with request.app[DB].begin() as db:
        lesson = await scheduling.get_lesson(db, lesson_id)
    if request.method != "POST":
        local: datetime = to_local(lesson.starts_at, user.timezone).replace(tzinfo=None)
        form = {
            "topic": lesson.topic,
            "level": lesson.level.value,
            "description": lesson.description,
            "starts_local": local.strftime("%Y-%m-%dT%H:%M"),
            "timezone": user.timezone,
            "duration_minutes": lesson.duration_minutes,
            "capacity": lesson.capacity,
            "scope": "one",
        }
        return await _edit_form(request, lesson, form, {})
    data = await form_data(request)
    try:
        async with request.app[DB].begin() as db:
            result = await scheduling.edit_lesson(
                db, user, lesson_id, schemas.parse(schemas.LessonEdit, data), request.app[CLOCK]()
            )
    except InvalidInput as exc:
        return await _edit_form(request, lesson, data, i18n.field_errors(exc.fields), 422)
    return _saved(request, result.lessons, result.warnings)


async def _edit_form(
    request: web.Request,
    lesson: Lesson,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> web.StreamResponse:
    context = {
        "lesson": lesson,
        "form": form,
        "errors": errors,
        "levels": [(lvl.value, lvl.value) for lvl in Level],
        "zones": schemas.TIME_ZONES,
    }
    return render("lesson_edit.html", request, context, status=status)


async def cancel_lesson(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.COORDINATOR)
    lesson_id = int_param(request, "lesson_id")
    scope = schemas.parse(schemas.Cancel, await form_data(request)).scope
    async with request.app[DB].begin() as db:
        await scheduling.cancel_lesson(db, user, lesson_id, scope, request.app[CLOCK]())
    raise web.HTTPSeeOther(f"/classes/{lesson_id}?done=cancelled_class")


async def assign(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.COORDINATOR)
    lesson_id = int_param(request, "lesson_id")
    data = await form_data(request)
    data.setdefault("tutor_id", None)
    choice = schemas.parse(schemas.Assign, data)
    async with request.app[DB].begin() as db:
        lessons, warnings = await assignment.assign(
            db, user, lesson_id, choice, request.app[CLOCK]()
        )
    return _saved(request, lessons, warnings)


async def tutors(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.COORDINATOR)
    context: dict[str, Any] = {"errors": {}, "form": {"timezone": user.timezone}, "created": None}
    status = 200
    if request.method == "POST":
        data = await form_data(request)
        try:
            async with request.app[DB].begin() as db:
                tutor, temporary = await accounts.create_tutor(
                    db,
                    request.app[PASSWORDS],
                    user,
                    schemas.parse(schemas.NewTutor, data),
                    request.app[CLOCK](),
                )
            context["created"] = {"tutor": tutor, "password": temporary}
        except InvalidInput as exc:
            context.update(errors=i18n.field_errors(exc.fields), form=data)
            status = 422
    now = request.app[CLOCK]()
    start, end = week_range(to_local(now, user.timezone).date(), user.timezone)
    async with request.app[DB].begin() as db:
        context["loads"] = await timetable.loads(db, start, end)
    context["zones"] = schemas.TIME_ZONES
    return render("tutors.html", request, context, status=status)
