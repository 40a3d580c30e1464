"""Coordinators' reports: attendance and no-shows over a period they choose, and the class
reports that tutors have not filed yet."""

from __future__ import annotations

from aiohttp import web

from classroom import schemas
from classroom.errors import InvalidInput
from classroom.models import Role
from web import i18n
from web.forms import query_data
from web.keys import CLOCK
from web.middlewares import current_user
from web.pages import render
from web.routes.api import no_shows
from web.routes.recap import missing_reports


def setup(app: web.Application) -> None:
    app.router.add_get("/reports/attendance", attendance_report)


async def attendance_report(request: web.Request) -> web.StreamResponse:
    """No-show rates by student and by class, for the chosen days (default: the last 30)."""
    user = current_user(request, Role.COORDINATOR)
    raw = query_data(request, "since", "until")
    try:
        query = schemas.parse(schemas.NoShowQuery, raw)
        errors: dict[str, str] = {}
    except InvalidInput as exc:
        query, errors = schemas.NoShowQuery(), i18n.field_errors(exc.fields)
    found = await no_shows(request, user, query)
    context = {
        "found": found,
        "form": raw,
        "errors": errors,
        "missing": await missing_reports(request, user),
        "now": request.app[CLOCK](),
    }
    return render("attendance_report.html", request, context, status=422 if errors else 200)
