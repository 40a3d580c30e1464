"""Coordinators' reports (the school's figures, attendance and no-shows, the class reports
that tutors have not filed yet, pay) with a CSV of every table, lecturers' rates, and each
person's progress page."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import accounts, pay, schemas
from classroom.clock import to_local
from classroom.errors import InvalidInput, NotFound
from classroom.models import Role, User
from web import api_models as out
from web import i18n
from web.charts import Bar, bar_chart
from web.forms import form_data, int_param, query_data
from web.keys import CLOCK, DB, SETTINGS
from web.middlewares import current_user
from web.pages import render
from web.routes.api import (
    days_of,
    no_shows,
    progress_of,
    rate_out,
    school_report,
)
from web.routes.recap import missing_reports


def setup(app: web.Application) -> None:
    app.router.add_get("/reports", school_page)
    app.router.add_get(r"/reports/{table:[a-z-]+}.csv", school_csv)
    app.router.add_get("/reports/attendance", attendance_report)
    app.router.add_get("/rates", rates_page)
    app.router.add_post("/rates", rates_page)
    app.router.add_get("/progress", my_progress)
    app.router.add_get(r"/people/{user_id:\d+}/progress", progress_page)


def _chosen(request: web.Request) -> tuple[schemas.Period, dict[str, str], dict[str, str]]:
    """The period a page was asked for, the form as sent, and its errors (with errors, the
    page shows the default period and marks the fields)."""
    raw = query_data(request, "since", "until")
    try:
        return schemas.parse(schemas.Period, raw), raw, {}
    except InvalidInput as exc:
        return schemas.Period(), raw, i18n.field_errors(exc.fields)


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


# -- the school's report -------------------------------------------------------------------


def _hours(value: Any) -> str:
    return i18n.gettext("%(n)s h") % {"n": i18n.number(value)}


def _charts(report: out.SchoolReport) -> dict[str, Any]:
    weeks = [(i18n.short_day(w.week), w) for w in report.weeks]
    return {
        "held": bar_chart(
            "chart-held",
            i18n.gettext("Classes held per week"),
            [Bar(label, w.held, i18n.number(w.held)) for label, w in weeks],
        ),
        "attendance": bar_chart(
            "chart-attendance",
            i18n.gettext("Attendance rate per week"),
            [
                Bar(label, w.attendance_rate, i18n.percent(w.attendance_rate))
                for label, w in weeks
                if w.expected
            ],
            maximum=1.0,
        ),  # fmt: skip
        "hours": bar_chart(
            "chart-hours",
            i18n.gettext("Teaching hours per lecturer"),
            [Bar(x.name, float(x.hours), _hours(x.hours)) for x in report.lecturers],
        ),
    }


def _share(value: float | None) -> str:
    return "–" if value is None else i18n.percent(value)


def _target(target: float) -> tuple[float, str]:
    return target, i18n.gettext("The meter prompts the tutor at %(share)s") % {
        "share": i18n.percent(target)
    }


def _balance_chart(spoken: out.SpeakingBalanceOut) -> Any:
    """The tutors' average share of speaking time, with the line where the meter prompts."""
    return bar_chart(
        "chart-balance",
        i18n.gettext("Tutor's share of speaking time, per tutor"),
        [Bar(t.name, t.tutor_share, _share(t.tutor_share))
         for t in spoken.tutors if t.tutor_share is not None],
        maximum=1.0,
        marker=_target(spoken.target),
    )  # fmt: skip


async def school_page(request: web.Request) -> web.StreamResponse:
    """The school's figures for the chosen days (default: the last 30), in sections."""
    user = current_user(request, Role.COORDINATOR)
    query, raw, errors = _chosen(request)
    days = days_of(request, user, query)
    report, payroll = await school_report(request, user, days)
    context = {
        "report": report,
        "payroll": payroll,
        "charts": _charts(report),
        "balance_chart": _balance_chart(report.speaking),
        "form": raw,
        "errors": errors,
        "query": f"since={days.since}&until={days.until}",
    }
    return render("school_report.html", request, context, status=422 if errors else 200)


Row = Sequence[object]


def _weeks(report: out.SchoolReport, payroll: out.PayReport) -> tuple[list[str], list[Row]]:
    head = ["week", "held", "cancelled", "not_held", "unrecorded", "upcoming", "expected",
            "attended", "no_shows", "late", "attendance_rate", "no_show_rate", "seats",
            "booked", "came", "booked_fill", "attended_fill"]  # fmt: skip
    rows: list[Row] = [[getattr(w, name) for name in head] for w in report.weeks]
    return head, rows


def _lecturers(report: out.SchoolReport, payroll: out.PayReport) -> tuple[list[str], list[Row]]:
    head = ["tutor_id", "name", "classes", "hours", "late_starts", "minutes_late", "missed",
            "substitutions_given", "substitutions_received"]  # fmt: skip
    return head, [[getattr(x, name) for name in head] for x in report.lecturers]


def _pay(report: out.SchoolReport, payroll: out.PayReport) -> tuple[list[str], list[Row]]:
    head = ["tutor_id", "name", "email", "classes", "hours", "amount", "currency"]
    return head, [[getattr(x, name) for name in head] for x in payroll.lines]


def _pay_classes(report: out.SchoolReport, payroll: out.PayReport) -> tuple[list[str], list[Row]]:
    head = ["lesson_id", "tutor_id", "topic", "starts_at", "day", "minutes", "unit", "rate",
            "currency", "amount"]  # fmt: skip
    return head, [[getattr(x, name) for name in head] for x in payroll.classes]


def _students(report: out.SchoolReport, payroll: out.PayReport) -> tuple[list[str], list[Row]]:
    head = ["student_id", "name", "late_cancellations", "no_shows", "total"]
    return head, [[getattr(x, name) for name in head] for x in report.students]


def _speaking_classes(
    report: out.SchoolReport, payroll: out.PayReport
) -> tuple[list[str], list[Row]]:
    head = ["lesson_id", "topic", "starts_at", "level", "tutor_id", "tutor_name",
            "tutor_seconds", "student_seconds", "tutor_share", "students", "turns"]  # fmt: skip
    return head, [[getattr(x, name) for name in head] for x in report.speaking.classes]


def _speaking_tutors(
    report: out.SchoolReport, payroll: out.PayReport
) -> tuple[list[str], list[Row]]:
    head = ["tutor_id", "name", "classes", "tutor_share", "student_minutes", "turns"]
    return head, [[getattr(x, name) for name in head] for x in report.speaking.tutors]


def _speaking_levels(
    report: out.SchoolReport, payroll: out.PayReport
) -> tuple[list[str], list[Row]]:
    head = ["level", "classes", "tutor_share", "student_minutes", "turns"]
    return head, [[getattr(x, name) for name in head] for x in report.speaking.levels]


def _ratings(report: out.SchoolReport, payroll: out.PayReport) -> tuple[list[str], list[Row]]:
    head = ["tutor_id", "name", "average", "count", "recent_comments"]
    rows: list[Row] = [
        [x.tutor_id, x.name, x.average, x.count, " | ".join(c.comment for c in x.comments)]
        for x in report.ratings
    ]
    return head, rows


TABLES: dict[str, Callable[[out.SchoolReport, out.PayReport], tuple[list[str], list[Row]]]] = {
    "weeks": _weeks,
    "lecturers": _lecturers,
    "pay": _pay,
    "pay-classes": _pay_classes,
    "students": _students,
    "speaking-classes": _speaking_classes,
    "speaking-tutors": _speaking_tutors,
    "speaking-levels": _speaking_levels,
    "ratings": _ratings,
}


def csv_response(name: str, head: list[str], rows: Iterable[Row]) -> web.Response:
    """A CSV file in UTF-8 with a byte-order mark (spreadsheets then read names right), a
    header row, empty cells for nothing."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(head)
    for row in rows:
        writer.writerow(["" if cell is None else _cell(cell) for cell in row])
    response = web.Response(
        body=buffer.getvalue().encode("utf-8-sig"), content_type="text/csv", charset="utf-8"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# What a spreadsheet reads as the start of a formula or a DDE call (OWASP, "CSV
# Injection"): a name such as "=HYPERLINK(...)" that a student gave themselves must reach the
# coordinator's spreadsheet as text, so such a cell is led by a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, float):
        return round(value, 4)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


async def school_csv(request: web.Request) -> web.StreamResponse:
    """One table of the school's report as CSV, for the days the page showed."""
    user = current_user(request, Role.COORDINATOR)
    table = TABLES.get(request.match_info["table"])
    if table is None:
        raise NotFound("No such report.")
    query = schemas.parse(schemas.Period, query_data(request, "since", "until"))
    days = days_of(request, user, query)
    report, payroll = await school_report(request, user, days)
    head, rows = table(report, payroll)
    name = f"kelas-{request.match_info['table']}-{days.since}-{days.until}"
    return csv_response(name, head, rows)


# -- rates ---------------------------------------------------------------------------------


async def rates_page(request: web.Request) -> web.StreamResponse:
    """Every lecturer's rate today and before, and a form to set a new one."""
    user = current_user(request, Role.COORDINATOR)
    zone = request.app[SETTINGS].default_timezone
    today = to_local(request.app[CLOCK](), zone).date()
    form: dict[str, Any] = {"effective_from": today.isoformat(), "unit": "hour"}
    errors: dict[str, str] = {}
    saved = None
    if request.method == "POST":
        data = await form_data(request)
        try:
            parsed = schemas.parse(schemas.RateIn, data)
            async with request.app[DB].begin() as db:
                saved = rate_out(
                    await pay.set_rate(
                        db, user, parsed, request.app[SETTINGS].currency, request.app[CLOCK]()
                    )
                )
        except InvalidInput as exc:
            errors, form = i18n.field_errors(exc.fields), {**form, **data}
        except NotFound:
            errors, form = {"tutor_id": i18n.gettext("Please choose a tutor")}, {**form, **data}
    async with request.app[DB].begin() as db:
        history = await pay.rates(db, user)
        tutors = await _tutors(db)
    current: dict[int, pay.RateRow | None] = {}
    for tutor in tutors:
        current[tutor.id] = pay.rate_on([r for r in history if r.tutor_id == tutor.id], today)
    context = {
        "tutors": tutors,
        "tutor_options": [(t.id, t.name) for t in tutors],
        "current": current,
        "history": [rate_out(r) for r in history],
        "form": form,
        "errors": errors,
        "saved": saved,
        "currency": request.app[SETTINGS].currency,
        "today": today,
    }
    return render("rates.html", request, context, status=422 if errors else 200)


async def _tutors(db: AsyncSession) -> list[User]:
    return list(await accounts.list_users(db, Role.TUTOR))


# -- progress ------------------------------------------------------------------------------


async def my_progress(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.STUDENT, Role.TUTOR)
    return await _progress(request, user, user.id)


async def progress_page(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    return await _progress(request, user, int_param(request, "user_id"))


async def _progress(request: web.Request, viewer: User, user_id: int) -> web.StreamResponse:
    query, raw, errors = _chosen(request)
    found = await progress_of(request, viewer, user_id, query)
    if isinstance(found, out.StudentProgressOut):
        over = [c for c in reversed(found.classes) if c.status in PRESENT]
        chart = bar_chart(
            "chart-minutes",
            i18n.gettext("Minutes in class, class by class"),
            [Bar(i18n.short_day(_day(c.starts_at, viewer)), c.minutes_present,
                 i18n.gettext("%(n)s min") % {"n": c.minutes_present}) for c in over],
        )  # fmt: skip
    else:
        by_week: dict[date, int] = {}
        for c in found.classes:
            if c.status in PRESENT:
                monday = _day(c.starts_at, viewer)
                monday = date.fromordinal(monday.toordinal() - monday.weekday())
                by_week[monday] = by_week.get(monday, 0) + c.minutes
        chart = bar_chart(
            "chart-teaching",
            i18n.gettext("Teaching hours per week"),
            [
                Bar(i18n.short_day(w), m / 60, _hours(out.hours(m)))
                for w, m in sorted(by_week.items())
            ],
        )
    context = {
        "found": found,
        "chart": chart,
        "form": raw,
        "errors": errors,
        "own": viewer.id == found.user_id,
        "action": request.path,
        **_trend_charts(found, viewer),
    }
    return render("progress.html", request, context, status=422 if errors else 200)


PRESENT = ("present", "late", "left_early")
LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


def _teaching_balance(found: out.TutorProgressOut, viewer: User) -> Any:
    """A tutor's share of speaking time in each of their classes, the prompt line beside."""
    return bar_chart(
        "chart-balance",
        i18n.gettext("Your share of speaking time, class by class")
        if viewer.id == found.user_id
        else i18n.gettext("Tutor's share of speaking time, class by class"),
        [Bar(i18n.short_day(_day(c.starts_at, viewer)), c.tutor_share, _share(c.tutor_share))
         for c in found.speaking if c.tutor_share is not None],
        maximum=1.0,
        marker=_target(found.speaking_target),
    )  # fmt: skip


def _trend_charts(
    found: out.StudentProgressOut | out.TutorProgressOut, viewer: User
) -> dict[str, Any]:
    """The progress page's trend charts: a student's speaking and level class by class."""
    if isinstance(found, out.TutorProgressOut):
        return {"balance_chart": _teaching_balance(found, viewer)}

    def day(instant: Any) -> str:
        return i18n.short_day(_day(instant, viewer))

    spoken = [
        Bar(day(p.starts_at), p.seconds / 60,
            i18n.gettext("%(n)s min, %(share)s") % {"n": i18n.number(round(p.seconds / 60, 1)),
                                                    "share": i18n.percent(p.share)})
        for p in found.speaking
    ]  # fmt: skip
    levels = [Bar(day(p.starts_at), LEVELS.index(p.level) + 1, p.level) for p in found.levels]
    return {
        "speaking_chart": bar_chart(
            "chart-speaking",
            i18n.gettext("Minutes spoken and share of the students' time, class by class"),
            spoken,
            # Room after the longest bar for its two figures.
            maximum=max((b.value for b in spoken), default=0.0) * 1.45,
        ),
        "level_chart": bar_chart(
            "chart-levels",
            i18n.gettext("Level estimated by the tutor, class by class"),
            levels,
            maximum=6,
        ),
    }


def _day(instant: Any, viewer: User) -> date:
    return to_local(instant, viewer.timezone).date()
