"""After class: the tutor's class report (/classes/{id}/report), each student's recap
(/classes/{id}/recap) with its rating, and the reports not filed yet. The JSON endpoints
are declared in api.py."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from classroom import class_reports, ratings, recaps, schemas
from classroom.errors import N_, InvalidInput
from classroom.models import Level, Role, User
from classroom.notes import Note
from web import api_models as out
from web import i18n
from web.forms import form_data, form_fields, int_param, json_data
from web.keys import CLOCK, DB
from web.middlewares import current_user
from web.pages import render

LESSON = r"/classes/{lesson_id:\d+}"
KIND_LABELS = {
    "correction": N_("Correction"),
    "word": N_("Word or phrase"),
    "pronunciation": N_("Pronunciation"),
}


def setup(app: web.Application) -> None:
    app.router.add_get(LESSON + "/report", report_page)
    app.router.add_post(LESSON + "/report", file_report)
    app.router.add_get(LESSON + "/recap", my_recap_page)
    app.router.add_get(LESSON + r"/recap/{user_id:\d+}", recap_page)
    app.router.add_post(LESSON + "/rating", rate_page)


def _json(model: BaseModel | list[Any], status: int = 200) -> web.Response:
    if isinstance(model, list):
        text = "[" + ",".join(item.model_dump_json() for item in model) + "]"
    else:
        text = model.model_dump_json()
    return web.Response(text=text, status=status, content_type="application/json")


# -- the tutor's class report ----------------------------------------------------------------


def _note_out(note: Note) -> out.NoteOut:
    return out.NoteOut(
        id=note.id, kind=note.kind.value, student_id=note.student_id, text=note.text,
        better=note.better, at=note.at,
    )  # fmt: skip


def _report_out(report: class_reports.Report) -> out.ReportOut:
    return out.ReportOut(
        lesson_id=report.lesson.id,
        filed_at=report.filed_at,
        summary=report.summary,
        students=[
            out.ReportEntryOut(
                student_id=e.student_id,
                name=e.name,
                level=e.level,
                comment=e.comment,
                notes=[_note_out(n) for n in e.notes],
            )  # fmt: skip
            for e in report.entries
        ],
        shared_notes=[_note_out(n) for n in report.shared],
    )


async def get_report(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.COORDINATOR, Role.TUTOR)
    async with request.app[DB].begin() as db:
        report = await class_reports.of_class_report(db, user, int_param(request, "lesson_id"))
    return _json(_report_out(report))


async def put_report(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.TUTOR)
    data = schemas.parse_report(await json_data(request))
    async with request.app[DB].begin() as db:
        report, _ = await class_reports.file(
            db, user, int_param(request, "lesson_id"), data, request.app[CLOCK]()
        )
    return _json(_report_out(report))


async def _report_view(
    request: web.Request,
    user: User,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    lesson_id = int_param(request, "lesson_id")
    now = request.app[CLOCK]()
    async with request.app[DB].begin() as db:
        report = await class_reports.of_class_report(db, user, lesson_id)
    context = {
        "report": report,
        "lesson": report.lesson,
        "over": class_reports.is_over(report.lesson, now),
        "may_file": user.id == report.lesson.tutor_id,
        "levels": [level.value for level in Level],
        # The fields the form marks itself: any other error is said at its top.
        "marked": ["summary"]
        + [f"{name}_{e.student_id}" for e in report.entries for name in ("level", "comment")],
        "kinds": {k: i18n.gettext(v) for k, v in KIND_LABELS.items()},
        "errors": errors or {},
        "form": form,
        "done_text": i18n.done_text(request.query.get("done")),
    }
    return render("class_report.html", request, context, status=422 if errors else 200)


async def report_page(request: web.Request) -> web.StreamResponse:
    return await _report_view(request, current_user(request, Role.COORDINATOR, Role.TUTOR))


async def file_report(request: web.Request) -> web.StreamResponse:
    """The report form: a summary, and a level and a comment per student (``student`` lists
    them in the order of the form's rows)."""
    user = current_user(request, Role.TUTOR)
    lesson_id = int_param(request, "lesson_id")
    posted = await form_fields(request)
    form = {k: str(v) for k, v in (await form_data(request)).items()}
    ids = [str(v) for v in posted.getall("student", [])]
    data = {
        "summary": form.get("summary", ""),
        "students": [
            {"student_id": sid, "level": form.get(f"level_{sid}", ""),
             "comment": form.get(f"comment_{sid}", "")}
            for sid in ids
        ],
    }  # fmt: skip
    try:
        report = schemas.parse_report(data)
        async with request.app[DB].begin() as db:
            await class_reports.file(db, user, lesson_id, report, request.app[CLOCK]())
    except InvalidInput as exc:
        errors = {
            _form_field(name, ids): text for name, text in i18n.field_errors(exc.fields).items()
        }
        return await _report_view(request, user, errors, form)
    raise web.HTTPSeeOther(f"/classes/{lesson_id}/report?done=report_filed")


def _form_field(name: str, ids: list[str]) -> str:
    """``students.<index>.<field>`` as the form names it: ``<field>_<student id>``."""
    parts = name.split(".")
    if (
        parts[0] == "students"
        and len(parts) == 3
        and parts[1].isdigit()
        and int(parts[1]) < len(ids)
    ):
        return f"{parts[2]}_{ids[int(parts[1])]}"
    return name


# -- recaps and ratings ----------------------------------------------------------------------


def _recap_out(recap: recaps.Recap) -> out.RecapOut:
    feedback, speaking, rating = recap.feedback, recap.speaking, recap.rating
    return out.RecapOut(
        lesson_id=recap.lesson.id,
        topic=recap.lesson.topic,
        starts_at=recap.lesson.starts_at,
        tutor_name=recap.tutor_name,
        student_id=recap.student_id,
        student_name=recap.student_name,
        notes=[_note_out(n) for n in recap.mine],
        shared_notes=[_note_out(n) for n in recap.shared],
        feedback=out.FeedbackOut(
            level=feedback.level, comment=feedback.comment, summary=feedback.summary,
            filed_at=feedback.filed_at,
        ) if feedback else None,
        speaking=out.RecapSpeakingOut(seconds=speaking.seconds, share=speaking.share)
        if speaking else None,
        rating=_rating_out(rating) if rating else None,
        may_rate=recap.may_rate,
    )  # fmt: skip


def _rating_out(rating: ratings.Rating) -> out.RatingOut:
    return out.RatingOut(
        lesson_id=rating.lesson_id, stars=rating.stars, comment=rating.comment, at=rating.at
    )


async def _recap(request: web.Request, user: User, student_id: int) -> recaps.Recap:
    async with request.app[DB].begin() as db:
        return await recaps.recap(
            db, user, int_param(request, "lesson_id"), student_id, request.app[CLOCK]()
        )


async def get_my_recap(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.STUDENT)
    return _json(_recap_out(await _recap(request, user, user.id)))


async def get_recap(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    return _json(_recap_out(await _recap(request, user, int_param(request, "user_id"))))


async def post_rating(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.STUDENT)
    data = schemas.parse(schemas.RatingIn, await json_data(request))
    async with request.app[DB].begin() as db:
        rating = await ratings.rate(
            db, user, int_param(request, "lesson_id"), data.stars, data.comment,
            request.app[CLOCK](),
        )  # fmt: skip
    return _json(_rating_out(rating), 201)


async def _recap_view(
    request: web.Request,
    user: User,
    student_id: int,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    recap = await _recap(request, user, student_id)
    context = {
        "recap": recap,
        "lesson": recap.lesson,
        "kinds": {k: i18n.gettext(v) for k, v in KIND_LABELS.items()},
        "errors": errors or {},
        "form": form or {},
        "done_text": i18n.done_text(request.query.get("done")),
    }
    return render("recap.html", request, context, status=422 if errors else 200)


async def my_recap_page(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.STUDENT)
    return await _recap_view(request, user, user.id)


async def recap_page(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    return await _recap_view(request, user, int_param(request, "user_id"))


async def rate_page(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.STUDENT)
    lesson_id = int_param(request, "lesson_id")
    form = {k: str(v) for k, v in (await form_data(request)).items()}
    try:
        data = schemas.parse(schemas.RatingIn, form)
        async with request.app[DB].begin() as db:
            await ratings.rate(db, user, lesson_id, data.stars, data.comment, request.app[CLOCK]())
    except InvalidInput as exc:
        return await _recap_view(request, user, user.id, i18n.field_errors(exc.fields), form)
    raise web.HTTPSeeOther(f"/classes/{lesson_id}/recap?done=rated")


# -- reports not filed -------------------------------------------------------------------------


async def missing_reports(request: web.Request, user: User) -> list[class_reports.Missing]:
    """Every class over without its report (coordinators), or the tutor's own."""
    async with request.app[DB].begin() as db:
        return await class_reports.missing(
            db, request.app[CLOCK](), None if user.role == Role.COORDINATOR else user
        )


async def get_missing_reports(request: web.Request) -> web.StreamResponse:
    user = current_user(request, Role.COORDINATOR, Role.TUTOR)
    found = await missing_reports(request, user)
    return _json(
        [
            out.MissingReportOut(
                lesson_id=m.lesson_id,
                topic=m.topic,
                starts_at=m.starts_at,
                over_at=m.over_at,
                tutor_id=m.tutor_id,
                tutor_name=m.tutor_name,
            )  # fmt: skip
            for m in found
        ]
    )
