"""The JSON API: every scheduling operation, with the same checks as the pages.

Each endpoint is declared once in ENDPOINTS; the router and the OpenAPI document are both
built from that list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import (
    accounts,
    assignment,
    attendance,
    availability,
    balance,
    booking,
    grid,
    notifications,
    outbox,
    pay,
    progress,
    ratings,
    reports,
    review,
    scheduling,
    schemas,
    speaking,
    timetable,
)
from classroom.clock import day_range, to_local, to_utc, week_range
from classroom.models import BookingStatus, Level, Role, User
from web import api_models as out
from web import i18n
from web.forms import int_param, json_data, query_data
from web.keys import CLOCK, DB, PASSWORDS, SESSION_TOKEN, SETTINGS, USER
from web.middlewares import current_user
from web.pages import csrf_token
from web.routes.account import log_in, mail_choices_of, set_session_cookie, sign_up
from web.routes.check import (
    get_class_readiness,
    get_my_check,
    post_check,
    post_check_ice_servers,
    post_check_offer,
)
from web.routes.recap import (
    get_missing_reports,
    get_my_recap,
    get_recap,
    get_report,
    post_rating,
    put_report,
)
from web.routes.teaching import chosen_week
from web.settings import Settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COORDINATOR, TUTOR, STUDENT = Role.COORDINATOR, Role.TUTOR, Role.STUDENT
EVERYONE: tuple[Role, ...] = (COORDINATOR, TUTOR, STUDENT)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: tuple[Role, ...] | None  # None: no login needed
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200


def reply(model: BaseModel | list[Any], status: int = 200) -> web.Response:
    if isinstance(model, list):
        text = "[" + ",".join(item.model_dump_json() for item in model) + "]"
    else:
        text = model.model_dump_json()
    return web.Response(text=text, status=status, content_type="application/json")


async def body(request: web.Request, model: type[schemas.M]) -> schemas.M:
    return schemas.parse(model, await json_data(request))


# -- session and account ---------------------------------------------------------------


async def get_session(request: web.Request) -> web.StreamResponse:
    user = request[USER]
    me = out.Me.model_validate(user) if user else None
    return reply(out.SessionInfo(user=me, csrf_token=csrf_token(request)))


def _started(request: web.Request, user: User, token: str, csrf: str, status: int) -> web.Response:
    """The answer to a login or sign-up: who, the new CSRF token, and the session cookie."""
    response = reply(out.SessionInfo(user=out.Me.model_validate(user), csrf_token=csrf), status)
    set_session_cookie(request, response, token)
    return response


async def post_login(request: web.Request) -> web.StreamResponse:
    return _started(request, *await log_in(request, await json_data(request)), 200)


async def post_logout(request: web.Request) -> web.StreamResponse:
    token = request[SESSION_TOKEN]
    if token:
        async with request.app[DB].begin() as db:
            await accounts.end_session(db, token)
    response = web.Response(status=204)
    response.del_cookie("kelas_session", path="/")
    return response


async def post_signup(request: web.Request) -> web.StreamResponse:
    return _started(request, *await sign_up(request, await json_data(request)), 201)


async def patch_me(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    profile = await body(request, schemas.Profile)
    async with request.app[DB].begin() as db:
        me = await accounts.get_user(db, user.id)
        await accounts.update_profile(db, me, profile)
    return reply(out.Me.model_validate(me))


async def post_password(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    change = await body(request, schemas.PasswordChange)
    async with request.app[DB].begin() as db:
        me = await accounts.get_user(db, user.id)
        await accounts.change_password(
            db, request.app[PASSWORDS], me, change, request[SESSION_TOKEN] or ""
        )
    return web.Response(status=204)


async def post_calendar_token(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    async with request.app[DB].begin() as db:
        token = await accounts.rotate_calendar_token(db, await accounts.get_user(db, user.id))
    base = request.app[SETTINGS].base_url
    return reply(out.CalendarFeed(url=f"{base}/calendar/{token}.ics"))


async def get_calendar(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    base = request.app[SETTINGS].base_url
    return reply(out.CalendarFeed(url=f"{base}/calendar/{user.calendar_token}.ics"))


def _mail_choices(request: web.Request, user: User) -> out.MailChoices:
    return out.MailChoices(
        sending=request.app[SETTINGS].smtp is not None,
        choices=[
            out.MailChoice(kind=kind, name=name, by_email=on)
            for kind, name, on in mail_choices_of(user)
        ],
    )


async def get_mail(request: web.Request) -> web.StreamResponse:
    return reply(_mail_choices(request, current_user(request)))


async def put_mail(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    choices = await body(request, schemas.MailChoices)
    async with request.app[DB].begin() as db:
        me = await accounts.get_user(db, user.id)
        await outbox.set_choices(db, me, choices.by_email)
    return reply(_mail_choices(request, me))


async def get_messages(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    async with request.app[DB].begin() as db:
        items = await notifications.inbox(db, user)
    return reply([out.MessageOut.of(m) for m in items])


# -- classes -------------------------------------------------------------------------------


async def get_classes(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    filters = schemas.parse(
        schemas.LessonFilter, query_data(request, "level", "topic", "day", "tutor_id")
    )
    async with request.app[DB].begin() as db:
        rows = await timetable.upcoming(db, user, filters, request.app[CLOCK]())
    return reply([out.LessonOut.of(r) for r in rows])


async def get_class(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    lesson_id = int_param(request, "lesson_id")
    async with request.app[DB].begin() as db:
        row = await timetable.lesson_row(db, lesson_id)
        mine = await timetable.booking_of(db, user, lesson_id)
        my_booking = None
        if mine is not None and mine.status in booking.ACTIVE:
            position = None
            if mine.status == BookingStatus.WAITLISTED:
                position = await booking.waitlist_position(db, mine)
            my_booking = out.BookingOut(
                lesson_id=lesson_id, status=mine.status, waitlist_position=position
            )
        roster = None
        if timetable.may_see_roster(user, row.lesson):
            roster = [
                out.RosterEntry(student=out.person(u), status=b.status)
                for u, b in await timetable.roster(db, user, row.lesson)
            ]
    return reply(
        out.LessonDetail(lesson=out.LessonOut.of(row), my_booking=my_booking, roster=roster)
    )


async def _scheduled(
    request: web.Request, result: scheduling.Scheduled, status: int
) -> web.Response:
    async with request.app[DB].begin() as db:
        rows = [await timetable.lesson_row(db, lesson.id) for lesson in result.lessons]
    warnings = [i18n.notice(w) for w in result.warnings]
    return reply(
        out.Scheduled(lessons=[out.LessonOut.of(r) for r in rows], warnings=warnings), status
    )


async def post_class(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    data = await body(request, schemas.NewLesson)
    async with request.app[DB].begin() as db:
        result = await scheduling.create_lesson(db, user, data, request.app[CLOCK]())
    return await _scheduled(request, result, 201)


async def post_series(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    data = await body(request, schemas.NewSeries)
    async with request.app[DB].begin() as db:
        result = await scheduling.create_series(db, user, data, request.app[CLOCK]())
    return await _scheduled(request, result, 201)


async def patch_class(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    data = await body(request, schemas.LessonEdit)
    async with request.app[DB].begin() as db:
        result = await scheduling.edit_lesson(
            db, user, int_param(request, "lesson_id"), data, request.app[CLOCK]()
        )
    return await _scheduled(request, result, 200)


async def post_cancel_class(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    data = await body(request, schemas.Cancel)
    async with request.app[DB].begin() as db:
        result = await scheduling.cancel_lesson(
            db, user, int_param(request, "lesson_id"), data.scope, request.app[CLOCK]()
        )
    return await _scheduled(request, result, 200)


async def put_tutor(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    data = await body(request, schemas.Assign)
    async with request.app[DB].begin() as db:
        lessons, warnings = await assignment.assign(
            db, user, int_param(request, "lesson_id"), data, request.app[CLOCK]()
        )
    return await _scheduled(request, scheduling.Scheduled(lessons, warnings), 200)


async def get_suggestions(request: web.Request) -> web.StreamResponse:
    current_user(request, COORDINATOR)
    async with request.app[DB].begin() as db:
        lesson = await scheduling.get_lesson(db, int_param(request, "lesson_id"))
        found = await assignment.suggest(db, lesson.starts_at, lesson.ends_at)
    return reply([out.SuggestionOut(tutor=out.person(s.tutor), load=s.load) for s in found])


# -- attendance ----------------------------------------------------------------------------


async def get_attendance(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR, TUTOR)
    async with request.app[DB].begin() as db:
        lines = await attendance.of_class(db, user, int_param(request, "lesson_id"))
    return reply([out.AttendanceLineOut.model_validate(line) for line in lines])


async def get_speaking(request: web.Request) -> web.StreamResponse:
    user = current_user(request, *EVERYONE)
    async with request.app[DB].begin() as db:
        figures = await speaking.of_class(db, user, int_param(request, "lesson_id"))
    return reply(speaking_out(figures))


def speaking_out(figures: speaking.ClassSpeaking) -> out.SpeakingOut:
    return out.SpeakingOut(
        lesson_id=figures.lesson_id,
        tutor_seconds=figures.tutor_seconds,
        student_seconds=figures.student_seconds,
        tutor_share=figures.tutor_share,
        people=[
            out.SpeakingLineOut(
                user_id=line.user_id,
                name=line.name,
                role=line.role,
                seconds=round(line.seconds, 1),
                turns=line.turns,
                longest_silence=round(line.longest_silence, 1),
                share=line.share,
                fair_share=line.fair_share,
            )
            for line in figures.lines
        ],
    )


async def put_attendance(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    data = await body(request, schemas.AttendanceFix)
    async with request.app[DB].begin() as db:
        line = await attendance.correct(
            db,
            user,
            int_param(request, "lesson_id"),
            int_param(request, "user_id"),
            data.status,
            data.note,
            request.app[CLOCK](),
        )
    return reply(out.AttendanceLineOut.model_validate(line))


async def get_no_shows(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    query = schemas.parse(schemas.NoShowQuery, query_data(request, "since", "until"))
    found = await no_shows(request, user, query)
    return reply(found)


async def no_shows(request: web.Request, user: User, query: schemas.NoShowQuery) -> out.NoShows:
    """No-show rates for the coordinator's chosen days (default: the last 30), as the page and
    the API show them."""
    days = days_of(request, user, query)
    async with request.app[DB].begin() as db:
        students, classes = await attendance.no_show_rates(db, user, days.starts, days.ends)

    def rates(found: list[attendance.Rate]) -> list[out.RateOut]:
        return [
            out.RateOut(id=r.key, name=r.name, expected=r.expected, no_shows=r.no_shows,
                        late=r.late, no_show_rate=round(r.no_show_rate, 4))
            for r in found
        ]  # fmt: skip

    return out.NoShows(
        since=days.since, until=days.until, students=rates(students), classes=rates(classes)
    )


# -- reports, pay and progress ------------------------------------------------------------


@dataclass(frozen=True)
class Days:
    """A period chosen in days, and the instants that bound it in the viewer's zone."""

    since: date
    until: date
    starts: datetime
    ends: datetime


def chosen_days(request: web.Request, user: User, span: int = 30) -> Days:
    """?since=&until= (dates in the user's zone): by default the ``span`` days to today.
    Bad dates are a 422 with the field at fault."""
    query = schemas.parse(schemas.Period, query_data(request, "since", "until"))
    return days_of(request, user, query, span)


def days_of(request: web.Request, user: User, query: schemas.Period, span: int = 30) -> Days:
    """With one end only, the other is today (or ``span`` days before ``until``), and never
    further than MAX_PERIOD_DAYS away: ``since=1970-01-01`` alone is its first 366 days."""
    today = to_local(request.app[CLOCK](), user.timezone).date()
    most = timedelta(days=schemas.MAX_PERIOD_DAYS - 1)
    if query.since is not None and query.until is None:
        until = min(max(today, query.since), query.since + most)
    else:
        until = query.until or today
    since = query.since or until - timedelta(days=span - 1)
    return Days(
        since, until, day_range(since, user.timezone)[0], day_range(until, user.timezone)[1]
    )


async def school_report(
    request: web.Request, user: User, days: Days
) -> tuple[out.SchoolReport, out.PayReport]:
    """The school's report for the chosen days and the payroll behind its pay, as the page,
    its CSV and the API show them (one transaction)."""
    zone = request.app[SETTINGS].default_timezone
    async with request.app[DB].begin() as db:
        found = await reports.school(
            db, user, days.starts, days.ends, user.timezone, zone, request.app[CLOCK]()
        )
        spoken = await balance.school(db, user, days.starts, days.ends)
        rated = await lecturer_ratings(db, user, days)
    report = _school(found, days, balance_out(spoken, request.app[SETTINGS]), rated)
    return report, _payroll(days, found.payroll, found.taught)


def balance_out(spoken: balance.SpeakingBalance, settings: Settings) -> out.SpeakingBalanceOut:
    return out.SpeakingBalanceOut(
        target=settings.speaking.tutor_share,
        classes=[out.ClassBalanceOut.model_validate(x) for x in spoken.classes],
        tutors=[out.TutorBalanceOut(tutor_id=int(a.key), name=a.name, classes=a.classes,
                                    tutor_share=a.tutor_share, student_minutes=a.student_minutes,
                                    turns=a.turns) for a in spoken.tutors],
        levels=[out.LevelBalanceOut(level=Level(str(a.key)), classes=a.classes,
                                    tutor_share=a.tutor_share, student_minutes=a.student_minutes,
                                    turns=a.turns) for a in spoken.levels],
    )  # fmt: skip


async def lecturer_ratings(db: AsyncSession, user: User, days: Days) -> list[out.LecturerRatingOut]:
    """Each lecturer's ratings in the chosen days, the best rated first (coordinators)."""
    averages = await ratings.by_tutor(db, user, days.starts, days.ends)
    comments = await ratings.recent_comments(db, days.starts, days.ends)
    return [
        out.LecturerRatingOut(
            tutor_id=r.tutor_id, name=r.name, average=r.average, count=r.count,
            comments=[out.RatingCommentOut.model_validate(c) for c in comments.get(r.tutor_id, [])],
        )
        for r in averages
    ]  # fmt: skip


def _school(
    found: reports.SchoolReport,
    days: Days,
    spoken: out.SpeakingBalanceOut,
    rated: list[out.LecturerRatingOut],
) -> out.SchoolReport:
    return out.SchoolReport(
        since=days.since,
        speaking=spoken,
        ratings=rated,
        until=days.until,
        totals=out.TallyOut.of(found.totals),
        weeks=[out.WeekOut(week=w.monday, **out.TallyOut.of(w.tally).model_dump())
               for w in found.weeks],
        lecturers=[
            out.LecturerOut(
                tutor_id=x.tutor_id, name=x.name, classes=x.classes, hours=out.hours(x.minutes),
                late_starts=x.late_starts, minutes_late=x.minutes_late, missed=x.missed,
                substitutions_given=x.substitutions_given,
                substitutions_received=x.substitutions_received,
                pay=[out.PayLineOut.of(line) for line in x.pay],
            )
            for x in found.lecturers
        ],
        students=[
            out.StrikesOut(student_id=s.student_id, name=s.name, total=s.total,
                           late_cancellations=s.late_cancellations, no_shows=s.no_shows)
            for s in found.strikes
        ],
    )  # fmt: skip


async def get_school_report(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    report, _ = await school_report(request, user, chosen_days(request, user))
    return reply(report)


async def pay_report(
    request: web.Request, user: User, days: Days, tutor_id: int | None = None
) -> out.PayReport:
    zone = request.app[SETTINGS].default_timezone
    async with request.app[DB].begin() as db:
        lines, taught = await pay.pay(db, user, days.starts, days.ends, zone, tutor_id)
    return _payroll(days, lines, taught)


def _payroll(days: Days, lines: list[pay.PayLine], taught: list[pay.Taught]) -> out.PayReport:
    return out.PayReport(
        since=days.since,
        until=days.until,
        lines=[out.PayLineOut.of(line) for line in lines],
        classes=[out.TaughtOut.of(item) for item in taught],
    )


async def get_pay_report(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR, TUTOR)
    query = schemas.parse(schemas.PayQuery, query_data(request, "since", "until", "tutor_id"))
    days = days_of(request, user, query)
    return reply(await pay_report(request, user, days, query.tutor_id))


def rate_out(row: pay.RateRow) -> out.LecturerRateOut:
    return out.LecturerRateOut.model_validate(row)


async def get_rates(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR, TUTOR)
    async with request.app[DB].begin() as db:
        found = await pay.rates(db, user)
    return reply([rate_out(r) for r in found])


async def post_rate(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    data = await body(request, schemas.RateIn)
    currency = request.app[SETTINGS].currency
    async with request.app[DB].begin() as db:
        made = await pay.set_rate(db, user, data, currency, request.app[CLOCK]())
    return reply(rate_out(made), 201)


async def progress_of(
    request: web.Request, viewer: User, user_id: int, query: schemas.Period
) -> out.StudentProgressOut | out.TutorProgressOut:
    """A person's progress for the chosen days (default: the last 90), if ``viewer`` may
    see it; a tutor's includes their pay for this month so far."""
    days = days_of(request, viewer, query, span=90)
    now = request.app[CLOCK]()
    async with request.app[DB].begin() as db:
        person = await progress.person(db, viewer, user_id)
        if person.role == Role.STUDENT:
            found = await progress.student(db, person, days.starts, days.ends)
            return out.StudentProgressOut(
                user_id=person.id, name=person.name, since=days.since, until=days.until,
                attended=found.attended, no_shows=found.count(progress.NO_SHOW),
                late=found.count("late"), late_cancellations=found.count(progress.LATE_CANCELLED),
                minutes_present=found.minutes_present,
                classes=[out.ProgressClassOut.model_validate(c) for c in found.classes],
                **await _takeaways(db, viewer, person, days),
            )  # fmt: skip
        zone = request.app[SETTINGS].default_timezone
        first = to_local(now, zone).date().replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        month = (to_utc(datetime.combine(first, datetime.min.time()), zone),
                 to_utc(datetime.combine(following, datetime.min.time()), zone))  # fmt: skip
        taught = await progress.tutor(db, viewer, person, days.starts, days.ends, month, zone, now)
        spoken = await balance.classes(db, days.starts, days.ends, tutor_id=person.id)
        rated = await _own_ratings(db, person, days)
    return out.TutorProgressOut(
        user_id=person.id, name=person.name, since=days.since, until=days.until,
        classes_taught=len(taught.taught), hours=out.hours(taught.minutes),
        late_starts=taught.late_starts, missed=taught.missed,
        classes=[out.TeachingClassOut.model_validate(c) for c in taught.classes],
        month=first, pay=[out.PayLineOut.of(line) for line in taught.pay],
        speaking=[out.ClassBalanceOut.model_validate(x) for x in spoken],
        speaking_target=request.app[SETTINGS].speaking.tutor_share, ratings=rated,
    )  # fmt: skip


async def _own_ratings(db: AsyncSession, tutor: User, days: Days) -> out.LecturerRatingOut:
    """A tutor's ratings in the chosen days (the caller checked who may see them)."""
    average, count = await ratings.average_of(db, tutor.id, days.starts, days.ends)
    comments = await ratings.recent_comments(db, days.starts, days.ends, tutor.id, each=5)
    return out.LecturerRatingOut(
        tutor_id=tutor.id, name=tutor.name, average=average, count=count,
        comments=[out.RatingCommentOut.model_validate(c) for c in comments.get(tutor.id, [])],
    )  # fmt: skip


async def _takeaways(db: AsyncSession, viewer: User, student: User, days: Days) -> dict[str, Any]:
    """A student's speaking, levels and notes to review in the chosen days: a tutor who looks
    sees only what came from the classes they taught."""
    only = viewer.id if viewer.role == Role.TUTOR else None
    spoken = await speaking.totals(db, days.starts, days.ends, user_id=student.id,
                                   role="student", tutor_id=only)  # fmt: skip
    return {
        "speaking": [out.SpeakingPointOut(lesson_id=t.lesson_id, topic=t.topic,
                                          starts_at=t.starts_at, seconds=t.seconds, turns=t.turns,
                                          share=t.share, fair_share=t.fair_share)
                     for t in spoken],
        "levels": [out.LevelPointOut.model_validate(x)
                   for x in await review.levels(db, student.id, days.starts, days.ends, only)],
        "to_review": [out.ReviewNoteOut.model_validate(x)
                      for x in await review.notes(db, student.id, days.starts, days.ends, only)],
    }  # fmt: skip


def _period(request: web.Request) -> schemas.Period:
    return schemas.parse(schemas.Period, query_data(request, "since", "until"))


async def get_my_progress(request: web.Request) -> web.StreamResponse:
    user = current_user(request, TUTOR, STUDENT)
    return reply(await progress_of(request, user, user.id, _period(request)))


async def get_progress(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    return reply(await progress_of(request, user, int_param(request, "user_id"), _period(request)))


# -- bookings ------------------------------------------------------------------------------


async def _booking_reply(request: web.Request, lesson_id: int, status: int) -> web.Response:
    user = current_user(request)
    async with request.app[DB].begin() as db:
        mine = await timetable.booking_of(db, user, lesson_id)
        assert mine is not None
        position = None
        if mine.status == BookingStatus.WAITLISTED:
            position = await booking.waitlist_position(db, mine)
    return reply(
        out.BookingOut(lesson_id=lesson_id, status=mine.status, waitlist_position=position), status
    )


async def post_booking(request: web.Request) -> web.StreamResponse:
    student = current_user(request, STUDENT)
    lesson_id = int_param(request, "lesson_id")
    async with request.app[DB].begin() as db:
        await booking.book(
            db, student, lesson_id, request.app[CLOCK](), request.app[SETTINGS].strikes
        )
    return await _booking_reply(request, lesson_id, 201)


async def post_waitlist(request: web.Request) -> web.StreamResponse:
    student = current_user(request, STUDENT)
    lesson_id = int_param(request, "lesson_id")
    async with request.app[DB].begin() as db:
        await booking.join_waitlist(
            db, student, lesson_id, request.app[CLOCK](), request.app[SETTINGS].strikes
        )
    return await _booking_reply(request, lesson_id, 201)


async def delete_booking(request: web.Request) -> web.StreamResponse:
    student = current_user(request, STUDENT)
    lesson_id = int_param(request, "lesson_id")
    window = request.app[SETTINGS].cancellation_window
    async with request.app[DB].begin() as db:
        await booking.cancel(db, student, lesson_id, request.app[CLOCK](), window)
    return await _booking_reply(request, lesson_id, 200)


async def get_my_classes(request: web.Request) -> web.StreamResponse:
    student = current_user(request, STUDENT)
    async with request.app[DB].begin() as db:
        items = await timetable.my_lessons(db, student, request.app[CLOCK]())
    return reply(
        [
            out.MyLessonOut(
                lesson=out.LessonOut.of(i.row),
                status=i.status,
                waitlist_position=i.waitlist_position,
            )
            for i in items
        ]
    )


# -- weeks ---------------------------------------------------------------------------------


async def get_teaching(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, TUTOR)
    monday = chosen_week(request, tutor.timezone)
    start, end = week_range(monday, tutor.timezone)
    async with request.app[DB].begin() as db:
        rows = await timetable.teaching(db, tutor, start, end)
    return reply(out.Week(week=monday, lessons=[out.LessonOut.of(r) for r in rows]))


async def get_planning(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    monday = chosen_week(request, user.timezone)
    start, end = week_range(monday, user.timezone)
    unassigned = request.query.get("unassigned") in ("1", "true")
    async with request.app[DB].begin() as db:
        rows = await timetable.planning(db, start, end, unassigned_only=unassigned)
        loads = await timetable.loads(db, start, end, None if unassigned else rows)
    return reply(
        out.PlanningWeek(
            week=monday,
            lessons=[out.LessonOut.of(r) for r in rows],
            loads=[out.LoadOut.of(load) for load in loads],
        )
    )


async def get_timetable(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    fields = tuple(schemas.TimetableQuery.model_fields)
    query = schemas.parse(schemas.TimetableQuery, query_data(request, *fields))
    today = to_local(request.app[CLOCK](), user.timezone).date()
    async with request.app[DB].begin() as db:
        found = await grid.timetable(db, query, user.timezone, today)
    return reply(out.Timetable.of(found))


# -- availability and tutors ---------------------------------------------------------------


async def get_availability(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, TUTOR)
    async with request.app[DB].begin() as db:
        windows = await availability.windows(db, tutor)
        absences = await availability.exceptions(
            db, tutor, request.app[CLOCK]() - timedelta(days=1)
        )
    return reply(out.Availability.of(windows, absences))


async def post_window(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, TUTOR)
    data = await body(request, schemas.AvailabilityWindowIn)
    async with request.app[DB].begin() as db:
        window = await availability.add_window(db, tutor, data)
    return reply(out.WindowOut.model_validate(window), 201)


async def delete_window(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, TUTOR)
    async with request.app[DB].begin() as db:
        await availability.remove_window(db, tutor, int_param(request, "item_id"))
    return web.Response(status=204)


async def post_absence(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, TUTOR)
    data = await body(request, schemas.AvailabilityExceptionIn)
    async with request.app[DB].begin() as db:
        absence = await availability.add_exception(db, tutor, data)
    return reply(out.AbsenceOut.model_validate(absence), 201)


async def delete_absence(request: web.Request) -> web.StreamResponse:
    tutor = current_user(request, TUTOR)
    async with request.app[DB].begin() as db:
        await availability.remove_exception(db, tutor, int_param(request, "item_id"))
    return web.Response(status=204)


async def get_tutors(request: web.Request) -> web.StreamResponse:
    current_user(request, COORDINATOR)
    async with request.app[DB].begin() as db:
        found = await accounts.list_users(db, Role.TUTOR)
    return reply([out.person(t) for t in found])


async def post_tutor(request: web.Request) -> web.StreamResponse:
    user = current_user(request, COORDINATOR)
    data = await body(request, schemas.NewTutor)
    async with request.app[DB].begin() as db:
        tutor, temporary = await accounts.create_tutor(
            db, request.app[PASSWORDS], user, data, request.app[CLOCK]()
        )
    return reply(
        out.TutorCreated(tutor=out.Me.model_validate(tutor), temporary_password=temporary), 201
    )


CLASS = r"/api/v1/classes/{lesson_id:\d+}"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v1/session", get_session, "The current user and CSRF token", None,
             response=out.SessionInfo),
    Endpoint("POST", "/api/v1/login", post_login, "Log in; starts a new session", None,
             body=schemas.Login, response=out.SessionInfo),
    Endpoint("POST", "/api/v1/logout", post_logout, "Log out", None, status=204),
    Endpoint("POST", "/api/v1/signup", post_signup, "Sign up as a student", None,
             body=schemas.Signup, response=out.SessionInfo, status=201),
    Endpoint("PATCH", "/api/v1/me", patch_me, "Change name, time zone or language", EVERYONE,
             body=schemas.Profile, response=out.Me),
    Endpoint("POST", "/api/v1/me/password", post_password, "Change password", EVERYONE,
             body=schemas.PasswordChange, status=204),
    Endpoint("GET", "/api/v1/me/calendar", get_calendar, "Private calendar feed URL", EVERYONE,
             response=out.CalendarFeed),
    Endpoint("POST", "/api/v1/me/calendar", post_calendar_token,
             "Revoke the calendar feed URL and issue a new one", EVERYONE,
             response=out.CalendarFeed),
    Endpoint("GET", "/api/v1/me/messages", get_messages, "In-app messages", EVERYONE,
             response=list[out.MessageOut]),
    Endpoint("POST", "/api/v1/check/ice-servers", post_check_ice_servers,
             "ICE servers for the setup check, as a class's (TURN credentials minted)",
             EVERYONE, response=out.CheckIce),
    Endpoint("POST", "/api/v1/check/offer", post_check_offer,
             "A short-lived peer connection of this server for the setup check "
             "(data channels only)", EVERYONE, body=schemas.CheckOffer,
             response=out.CheckAnswer),
    Endpoint("POST", "/api/v1/me/checks", post_check,
             "Keep the result of the user's setup check", EVERYONE, body=schemas.CheckReport,
             response=out.CheckOut, status=201),
    Endpoint("GET", "/api/v1/me/checks/latest", get_my_check,
             "The user's newest setup check (null if never)", EVERYONE,
             response=out.MyCheck),
    Endpoint("GET", "/api/v1/me/mail", get_mail,
             "Which kinds of message also come by e-mail", EVERYONE,
             response=out.MailChoices),
    Endpoint("PUT", "/api/v1/me/mail", put_mail,
             "Choose the kinds of message that also come by e-mail (the others: in the app "
             "only)", EVERYONE, body=schemas.MailChoices, response=out.MailChoices),
    Endpoint("GET", "/api/v1/me/classes", get_my_classes,
             "The student's booked and waitlisted classes", (STUDENT,),
             response=list[out.MyLessonOut]),
    Endpoint("GET", "/api/v1/classes", get_classes, "Upcoming classes, filtered", EVERYONE,
             query=schemas.LessonFilter, response=list[out.LessonOut]),
    Endpoint("POST", "/api/v1/classes", post_class, "Create a single class", (COORDINATOR,),
             body=schemas.NewLesson, response=out.Scheduled, status=201),
    Endpoint("POST", "/api/v1/series", post_series, "Create a weekly series", (COORDINATOR,),
             body=schemas.NewSeries, response=out.Scheduled, status=201),
    Endpoint("GET", CLASS, get_class, "One class; the roster for its tutor and coordinators",
             EVERYONE, response=out.LessonDetail),
    Endpoint("PATCH", CLASS, patch_class, "Edit one occurrence, or it and all following",
             (COORDINATOR,), body=schemas.LessonEdit, response=out.Scheduled),
    Endpoint("POST", CLASS + "/cancel", post_cancel_class,
             "Cancel one occurrence, or it and all following", (COORDINATOR,),
             body=schemas.Cancel, response=out.Scheduled),
    Endpoint("PUT", CLASS + "/tutor", put_tutor, "Assign or substitute the tutor",
             (COORDINATOR,), body=schemas.Assign, response=out.Scheduled),
    Endpoint("GET", CLASS + "/suggestions", get_suggestions,
             "Free and available tutors, least loaded first", (COORDINATOR,),
             response=list[out.SuggestionOut]),
    Endpoint("GET", CLASS + "/readiness", get_class_readiness,
             "The class's tutor and booked students with their setup checks: failed, "
             "stale (older than KELAS_CHECK_MAX_AGE_DAYS), never, warn or ready",
             (COORDINATOR,), response=list[out.PersonReadinessOut]),
    Endpoint("POST", CLASS + "/booking", post_booking, "Book a seat", (STUDENT,),
             response=out.BookingOut, status=201),
    Endpoint("DELETE", CLASS + "/booking", delete_booking,
             "Cancel a seat or leave the waitlist", (STUDENT,), response=out.BookingOut),
    Endpoint("POST", CLASS + "/waitlist", post_waitlist, "Join the waitlist of a full class",
             (STUDENT,), response=out.BookingOut, status=201),
    Endpoint("GET", CLASS + "/attendance", get_attendance,
             "Attendance of a class that is over: its tutor and coordinators",
             (COORDINATOR, TUTOR), response=list[out.AttendanceLineOut]),
    Endpoint("GET", CLASS + "/speaking", get_speaking,
             "How much each person spoke in a class: its tutor and coordinators see everyone, "
             "a student who booked it only their own line",
             EVERYONE, response=out.SpeakingOut),
    Endpoint("PUT", CLASS + r"/attendance/{user_id:\d+}", put_attendance,
             "Correct one person's attendance (kept with who corrected it)", (COORDINATOR,),
             body=schemas.AttendanceFix, response=out.AttendanceLineOut),
    Endpoint("GET", "/api/v1/attendance/no-shows", get_no_shows,
             "No-show rates by student and by class (?since=date&until=date)",
             (COORDINATOR,), query=schemas.NoShowQuery, response=out.NoShows),
    Endpoint("GET", "/api/v1/reports/school", get_school_report,
             "The school's report: classes held and cancelled, attendance, no-shows and fill "
             "(in all and by week), each lecturer's hours, punctuality, substitutions and pay, "
             "students' late cancellations and no-shows (?since=date&until=date; default: the "
             "last 30 days)", (COORDINATOR,), query=schemas.Period, response=out.SchoolReport),
    Endpoint("GET", "/api/v1/reports/pay", get_pay_report,
             "What each lecturer is owed for the period, and every class taught with its rate "
             "(?since=date&until=date&tutor_id=id); a tutor gets their own",
             (COORDINATOR, TUTOR), query=schemas.PayQuery, response=out.PayReport),
    Endpoint("GET", "/api/v1/rates", get_rates,
             "Every lecturer's rates, newest first per lecturer (a tutor: their own)",
             (COORDINATOR, TUTOR), response=list[out.LecturerRateOut]),
    Endpoint("POST", "/api/v1/rates", post_rate,
             "Set a lecturer's rate from a day on (per hour or per class, in the school's "
             "currency); it supersedes earlier rates from that day, which are kept",
             (COORDINATOR,), body=schemas.RateIn, response=out.LecturerRateOut, status=201),
    Endpoint("GET", "/api/v1/me/progress", get_my_progress,
             "The user's own progress (?since=date&until=date; default: the last 90 days): "
             "a student's classes and attendance, a tutor's teaching and this month's pay",
             (TUTOR, STUDENT), query=schemas.Period,
             response=out.StudentProgressOut | out.TutorProgressOut),
    Endpoint("GET", r"/api/v1/people/{user_id:\d+}/progress", get_progress,
             "A student's progress (the student, coordinators and the student's tutors) or a "
             "tutor's (the tutor and coordinators)", EVERYONE, query=schemas.Period,
             response=out.StudentProgressOut | out.TutorProgressOut),
    Endpoint("GET", CLASS + "/report", get_report,
             "The tutor's report of a class that is over: as filed, or pre-filled from the "
             "live notes (filed_at null)", (COORDINATOR, TUTOR), response=out.ReportOut),
    Endpoint("PUT", CLASS + "/report", put_report,
             "File (or correct) the report: a summary, and a CEFR level (optional) and a "
             "comment for each student who attended; the class is then complete and the "
             "students get their recap", (TUTOR,), body=schemas.ReportIn,
             response=out.ReportOut),
    Endpoint("GET", "/api/v1/reports/missing", get_missing_reports,
             "Classes over whose report is not filed, longest overdue first (a tutor: their "
             "own)", (COORDINATOR, TUTOR), response=list[out.MissingReportOut]),
    Endpoint("GET", CLASS + "/recap", get_my_recap,
             "The student's own recap of a class that is over", (STUDENT,),
             response=out.RecapOut),
    Endpoint("GET", CLASS + r"/recap/{user_id:\d+}", get_recap,
             "A student's recap: for the student, the class's tutor and coordinators",
             EVERYONE, response=out.RecapOut),
    Endpoint("POST", CLASS + "/rating", post_rating,
             "Rate a class one attended, once: 1 to 5 and a comment", (STUDENT,),
             body=schemas.RatingIn, response=out.RatingOut, status=201),
    Endpoint("GET", "/api/v1/teaching", get_teaching, "The tutor's teaching week (?week=date)",
             (TUTOR,), response=out.Week),
    Endpoint("GET", "/api/v1/planning", get_planning,
             "All classes of a week and each tutor's load (?week=date&unassigned=1)",
             (COORDINATOR,), response=out.PlanningWeek),
    Endpoint("GET", "/api/v1/planning/timetable", get_timetable,
             "One page of the timetable: tutors or levels by days, filtered; the "
             "no-tutor row first", (COORDINATOR,), query=schemas.TimetableQuery,
             response=out.Timetable),
    Endpoint("GET", "/api/v1/availability", get_availability, "The tutor's availability",
             (TUTOR,), response=out.Availability),
    Endpoint("POST", "/api/v1/availability/windows", post_window, "Add a weekly window",
             (TUTOR,), body=schemas.AvailabilityWindowIn, response=out.WindowOut, status=201),
    Endpoint("DELETE", r"/api/v1/availability/windows/{item_id:\d+}", delete_window,
             "Remove a weekly window", (TUTOR,), status=204),
    Endpoint("POST", "/api/v1/availability/absences", post_absence, "Add days off", (TUTOR,),
             body=schemas.AvailabilityExceptionIn, response=out.AbsenceOut, status=201),
    Endpoint("DELETE", r"/api/v1/availability/absences/{item_id:\d+}", delete_absence,
             "Remove days off", (TUTOR,), status=204),
    Endpoint("GET", "/api/v1/tutors", get_tutors, "All tutors", (COORDINATOR,),
             response=list[out.Person]),
    Endpoint("POST", "/api/v1/tutors", post_tutor,
             "Create a tutor with a temporary password", (COORDINATOR,),
             body=schemas.NewTutor, response=out.TutorCreated, status=201),
)  # fmt: skip


def setup(app: web.Application) -> None:
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
