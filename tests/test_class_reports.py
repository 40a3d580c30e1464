"""After class, over HTTP: the tutor's class report (pre-filled from the live notes, checked,
filed in one transaction, correctable), the reports not filed yet, each student's recap and
who may read it, and ratings (once, by students who attended). On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from classroom import attendance, live, notes, ratings, speaking
from classroom.models import LessonRating, Message, NoteKind, OutboxMail, Role, User
from tests.conftest import School, SchoolFactory, Visitor
from tests.helpers import Clock, utc
from tests.live import LiveClass, live_class

WINDOW = live.JoinWindow()


@dataclass
class Over:
    """A class that is over: Ana and Ben came, Cici booked and never did; the tutor noted a
    correction for Ana and a word for everyone."""

    school: School
    clock: Clock
    setup: LiveClass
    lesson_id: int
    start: datetime
    end: datetime
    ana: tuple[User, Visitor]
    ben: tuple[User, Visitor]
    cici: tuple[User, Visitor]

    @property
    def tutor(self) -> Visitor:
        return self.setup.tutor[1]

    def path(self, tail: str = "") -> str:
        return f"/api/v1/classes/{self.lesson_id}{tail}"

    async def close(self) -> None:
        """The class ends, and its attendance is closed (as the autopilot does)."""
        self.clock.move_to(self.end + timedelta(minutes=1))
        async with self.school.maker.begin() as db:
            await attendance.close_classes(db, self.clock(), attendance.Policy())


async def over_class(school_with: SchoolFactory, **settings: Any) -> Over:
    clock = Clock()
    school = await school_with(clock=clock, **settings)
    setup = await live_class(school, students=3)
    lesson_id = setup.lesson["id"]
    start, end = utc(setup.lesson["starts_at"]), utc(setup.lesson["ends_at"])
    ana, ben, cici = setup.students
    tutor_id = setup.tutor[0].id
    async with school.maker.begin() as db:
        await live.record_join(db, lesson_id, tutor_id, start)
        await live.record_join(db, lesson_id, ana[0].id, start)
        await live.record_join(db, lesson_id, ben[0].id, start + timedelta(minutes=1))
        await notes.add(
            db, lesson_id, tutor_id, kind=NoteKind.CORRECTION, student_id=ana[0].id,
            text="I go to home", better="I go home", now=start + timedelta(minutes=5),
            window=WINDOW,
        )  # fmt: skip
        await notes.add(
            db, lesson_id, tutor_id, kind=NoteKind.WORD, student_id=None,
            text="a piece of cake", better=None, now=start + timedelta(minutes=6), window=WINDOW,
        )  # fmt: skip
    clock.move_to(start + timedelta(minutes=30))
    return Over(school, clock, setup, lesson_id, start, end, ana, ben, cici)


def filing(c: Over, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "summary": "We practised small talk at work.",
        "students": [
            {"student_id": c.ana[0].id, "level": "B1", "comment": "Watch “go home”."},
            {"student_id": c.ben[0].id, "level": None, "comment": "Speak up more!"},
        ],
    }
    body.update(changes)
    return body


async def test_the_report_is_prefilled_checked_filed_and_completes_the_class(
    school_with: SchoolFactory,
) -> None:
    c = await over_class(school_with)
    coordinator = c.setup.coordinator
    status, body = await c.tutor.api("PUT", c.path("/report"), filing(c))
    assert status == 409 and body["error"]["code"] == "too_late", body  # not over yet
    assert (await coordinator.api("GET", "/api/v1/reports/missing"))[1] == []
    await c.close()

    # Missing: for coordinators every class, for a tutor their own.
    status, missing = await coordinator.api("GET", "/api/v1/reports/missing")
    assert status == 200 and [(m["lesson_id"], m["tutor_name"]) for m in missing] == [
        (c.lesson_id, "Tutor")
    ], missing
    assert [m["lesson_id"] for m in (await c.tutor.api("GET", "/api/v1/reports/missing"))[1]] == [
        c.lesson_id
    ]
    _, other_tutor = await c.school.join(Role.TUTOR, "Other tutor")
    assert (await other_tutor.api("GET", "/api/v1/reports/missing"))[1] == []
    assert (await c.ana[1].api("GET", "/api/v1/reports/missing"))[0] == 403
    status, page = await c.tutor.page("/teaching")
    assert status == 200 and f'href="/classes/{c.lesson_id}/report"' in page
    status, page = await coordinator.page("/reports/attendance")
    assert status == 200 and 'id="missing-reports"' in page and "Tutor" in page
    assert f'href="/classes/{c.lesson_id}/report"' in page

    # The draft: the students who came, their notes in the comment.
    status, draft = await c.tutor.api("GET", c.path("/report"))
    assert status == 200 and draft["filed_at"] is None, draft
    assert [(s["name"], s["comment"]) for s in draft["students"]] == [
        ("Student 1", "“I go to home” → “I go home”"),
        ("Student 2", ""),
    ]
    assert [n["text"] for n in draft["shared_notes"]] == ["a piece of cake"]
    assert (await coordinator.api("GET", c.path("/report")))[0] == 200
    assert (await c.ana[1].api("GET", c.path("/report")))[0] == 403
    assert (await other_tutor.api("GET", c.path("/report")))[0] == 404
    assert (await coordinator.api("PUT", c.path("/report"), filing(c)))[0] == 403
    assert (await other_tutor.api("PUT", c.path("/report"), filing(c)))[0] == 404
    assert (await c.tutor.api("PUT", "/api/v1/classes/999999/report", filing(c)))[0] == 404

    ana, ben, cici = c.ana[0].id, c.ben[0].id, c.cici[0].id
    bad: list[tuple[Any, str]] = [
        ({}, "summary"),
        (filing(c, summary=""), "summary"),
        (filing(c, summary="x" * 2001), "summary"),
        (filing(c, summary="nul\x00"), "summary"),
        (filing(c, students=[{"student_id": ana, "comment": ""}]), "students.0.comment"),
        (filing(c, students=[{"student_id": ana, "comment": "x" * 1001}]), "students.0.comment"),
        (filing(c, students=[{"student_id": ana, "level": "D9", "comment": "ok"}]),
         "students.0.level"),
        (filing(c, students=[{"student_id": ana, "comment": "ok", "extra": 1}]),
         "students.0.extra"),
        (filing(c, students=["x"]), "students.0"),
        (filing(c, students="everyone"), "students"),
        (filing(c, students=[{"student_id": ana, "comment": "ok"}]), "students"),  # Ben?
        (filing(c, students=[{"student_id": cici, "comment": "Never came"}]),
         "students.0.student_id"),
        (filing(c, students=[{"student_id": ana, "comment": "a"}, {"student_id": ana,
                                                                    "comment": "b"}]),
         "students.1.student_id"),
        ([], "__all__"),
    ]  # fmt: skip
    for sent, field in bad:
        status, body = await c.tutor.api("PUT", c.path("/report"), sent)
        assert status == 422 and field in body["error"]["fields"], (sent, body)
    assert (await coordinator.api("GET", "/api/v1/reports/missing"))[1] != []

    status, filed = await c.tutor.api("PUT", c.path("/report"), filing(c))
    assert status == 200 and filed["filed_at"] is not None, filed
    assert [(s["level"], s["comment"]) for s in filed["students"]] == [
        ("B1", "Watch “go home”."),
        (None, "Speak up more!"),
    ]
    assert (await coordinator.api("GET", "/api/v1/reports/missing"))[1] == []
    assert await _told(c) == {ana: 1, ben: 1}  # Cici did not come: no recap
    # A correction is kept; the students are not told twice.
    status, again = await c.tutor.api("PUT", c.path("/report"), filing(c, summary="Better."))
    assert (
        status == 200 and again["summary"] == "Better." and again["filed_at"] == filed["filed_at"]
    )
    assert await _told(c) == {ana: 1, ben: 1}
    async with c.school.maker() as db:
        mails = await db.scalars(
            select(OutboxMail.user_id).where(OutboxMail.kind == "lesson_recap")
        )
        assert sorted(mails) == sorted([ana, ben])


async def _told(c: Over) -> dict[int, int]:
    async with c.school.maker() as db:
        rows = await db.execute(
            select(Message.user_id, func.count())
            .where(Message.kind == "lesson_recap", Message.lesson_id == c.lesson_id)
            .group_by(Message.user_id)
        )
        return {user_id: count for user_id, count in rows.all()}


async def test_the_report_form_marks_the_field_at_fault(school_with: SchoolFactory) -> None:
    c = await over_class(school_with)
    await c.close()
    status, page = await c.tutor.page(f"/classes/{c.lesson_id}/report")
    assert status == 200 and "“I go to home” → “I go home”</textarea>" in page
    assert "The comments start from your notes in class." in page
    status, page = await c.setup.coordinator.page(f"/classes/{c.lesson_id}")
    assert status == 200 and "data-standing" not in page  # setup checks matter no more
    ana, ben = c.ana[0].id, c.ben[0].id
    form = [
        ("summary", "Small talk."), ("student", str(ana)), ("student", str(ben)),
        ("level_" + str(ana), "B2"), ("comment_" + str(ana), "Good."),
        ("level_" + str(ben), ""), ("comment_" + str(ben), ""),
    ]  # fmt: skip
    status, _, page = await c.tutor.form(f"/classes/{c.lesson_id}/report", form)
    assert status == 422
    assert (
        f'id="comment_{ben}" name="comment_{ben}" rows="3" maxlength="1000" aria-invalid="true"'
        in page
    )
    assert "Please write a short comment" in page
    assert '<option value="B2" selected>' in page  # what was typed stays
    form[-1] = ("comment_" + str(ben), "Speak up.")
    status, location, _ = await c.tutor.form(f"/classes/{c.lesson_id}/report", form)
    assert status == 303 and location.endswith("/report?done=report_filed"), location
    status, page = await c.tutor.page(location)
    assert 'id="report-filed"' in page and "Speak up.</textarea>" in page
    assert "The comments start from your notes" not in page  # they are the tutor's now
    status, page = await c.setup.coordinator.page(f"/classes/{c.lesson_id}/report")
    assert status == 200 and "Speak up." in page and "<textarea" not in page
    assert (await c.ana[1].page(f"/classes/{c.lesson_id}/report"))[0] == 403


async def test_a_recap_shows_the_students_own_speaking_time_once_measured(
    school_with: SchoolFactory,
) -> None:
    c = await over_class(school_with)
    await c.close()
    ana, ben, tutor = c.ana[0].id, c.ben[0].id, c.setup.tutor[0].id
    async with c.school.maker.begin() as db:  # what the live room keeps (signaling/speaking.py)
        await speaking.save(
            db,
            c.lesson_id,
            [
                speaking.Spoken(tutor, True, 600.0, 20),
                speaking.Spoken(ana, False, 150.4, 9, 120.0),
                speaking.Spoken(ben, False, 50.0, 4, 300.0),
            ],
            datetime.now(UTC),
        )
    status, recap = await c.ana[1].api("GET", c.path("/recap"))
    assert status == 200 and recap["speaking"] == {"seconds": 150, "share": 150.4 / 200.4}
    status, page = await c.ana[1].page(f"/classes/{c.lesson_id}/recap")
    assert status == 200 and "2 min 30 s" in page and "75 % of the students" in page
    assert (await c.ben[1].api("GET", c.path("/recap")))[1]["speaking"]["seconds"] == 50


async def test_a_recap_is_for_its_student_their_tutor_and_coordinators(
    school_with: SchoolFactory,
) -> None:
    c = await over_class(school_with)
    ana, ben = c.ana[0].id, c.ben[0].id
    status, body = await c.ana[1].api("GET", c.path("/recap"))
    assert status == 409 and body["error"]["code"] == "too_late", body
    await c.close()
    status, recap = await c.ana[1].api("GET", c.path("/recap"))
    assert status == 200, recap
    assert [(n["text"], n["better"]) for n in recap["notes"]] == [("I go to home", "I go home")]
    assert [n["text"] for n in recap["shared_notes"]] == ["a piece of cake"]
    assert recap["feedback"] is None and recap["speaking"] is None and recap["may_rate"]
    status, ben_recap = await c.ben[1].api("GET", c.path("/recap"))
    assert status == 200 and ben_recap["notes"] == [] and len(ben_recap["shared_notes"]) == 1
    assert (await c.ben[1].api("GET", c.path(f"/recap/{ana}")))[0] == 404  # never another's
    assert (await c.tutor.api("GET", c.path(f"/recap/{ana}")))[1]["notes"] == recap["notes"]
    coordinator = c.setup.coordinator
    assert (await coordinator.api("GET", c.path(f"/recap/{ana}")))[1]["may_rate"] is False
    status, page = await coordinator.page(f"/classes/{c.lesson_id}/recap/{ana}")
    assert "has not written the feedback yet." in page and "you get an e-mail" not in page
    status, page = await c.ana[1].page(f"/classes/{c.lesson_id}/recap")
    assert "you get an e-mail" in page  # only the student is told so
    _, other_tutor = await c.school.join(Role.TUTOR, "Other tutor")
    assert (await other_tutor.api("GET", c.path(f"/recap/{ana}")))[0] == 404
    _, stranger = await c.school.join(Role.STUDENT, "Not booked")
    assert (await stranger.api("GET", c.path("/recap")))[0] == 404
    assert (await c.tutor.api("GET", c.path("/recap")))[0] == 403  # the own-recap path
    assert (await c.tutor.api("GET", c.path(f"/recap/{c.setup.tutor[0].id}")))[0] == 404
    status, cici = await c.cici[1].api("GET", c.path("/recap"))  # booked, never came
    assert status == 200 and cici["may_rate"] is False

    await c.tutor.api("PUT", c.path("/report"), filing(c))
    status, recap = await c.ana[1].api("GET", c.path("/recap"))
    assert recap["feedback"]["level"] == "B1" and recap["feedback"]["comment"] == "Watch “go home”."
    assert recap["feedback"]["summary"] == "We practised small talk at work."
    status, page = await c.ana[1].page(f"/classes/{c.lesson_id}/recap")
    assert status == 200 and "I go home" in page and "Watch “go home”." in page
    assert 'id="rate"' in page
    assert (await c.ben[1].page(f"/classes/{c.lesson_id}/recap/{ana}"))[0] == 404
    status, page = await c.tutor.page(f"/classes/{c.lesson_id}/recap/{ben}")
    assert status == 200 and "Speak up more!" in page and 'id="rate"' not in page
    status, page = await c.ana[1].page(f"/classes/{c.lesson_id}")
    assert f'href="/classes/{c.lesson_id}/recap"' in page


async def test_students_who_came_rate_a_class_once(school_with: SchoolFactory) -> None:
    c = await over_class(school_with)
    good = {"stars": 5, "comment": "Great class"}
    status, body = await c.ana[1].api("POST", c.path("/rating"), good)
    assert status == 409 and body["error"]["code"] == "too_late", body
    await c.close()
    for bad, field in [
        ({}, "stars"), ({"stars": 0}, "stars"), ({"stars": 6}, "stars"),
        ({"stars": 2.5}, "stars"), ({"stars": 4, "comment": "x" * 1001}, "comment"),
        ({"stars": 4, "comment": "nul\x00"}, "comment"), ({"stars": 4, "x": 1}, "x"),
    ]:  # fmt: skip
        status, body = await c.ana[1].api("POST", c.path("/rating"), bad)
        assert status == 422 and field in body["error"]["fields"], (bad, body)
    status, rating = await c.ana[1].api("POST", c.path("/rating"), good)
    assert status == 201 and rating["stars"] == 5 and rating["comment"] == "Great class", rating
    status, body = await c.ana[1].api("POST", c.path("/rating"), {"stars": 1})
    assert status == 409 and "already rated" in body["error"]["message"], body
    assert (await c.cici[1].api("POST", c.path("/rating"), good))[0] == 403  # never came
    assert (await c.tutor.api("POST", c.path("/rating"), good))[0] == 403
    assert (await c.setup.coordinator.api("POST", c.path("/rating"), good))[0] == 403
    _, stranger = await c.school.join(Role.STUDENT, "Not booked")
    assert (await stranger.api("POST", c.path("/rating"), good))[0] == 403
    assert (await stranger.api("POST", "/api/v1/classes/999999/rating", good))[0] == 404
    status, recap = await c.ana[1].api("GET", c.path("/recap"))
    assert recap["rating"]["stars"] == 5 and recap["may_rate"] is False

    # The form: no stars is marked; a rating is shown once given.
    path = f"/classes/{c.lesson_id}/rating"
    status, _, page = await c.ben[1].form(path, {"comment": "ok"})
    assert status == 422 and "Please choose from 1 to 5 stars" in page and 'id="e-stars"' in page
    status, location, _ = await c.ben[1].form(path, {"stars": "3", "comment": "ok"})
    assert status == 303, location
    status, page = await c.ben[1].page(location)
    assert "★★★☆☆" in page and 'id="rate"' not in page
    status, _, page = await c.ben[1].form(path, {"stars": "4"})
    assert status == 409 and "already rated" in page

    async with c.school.maker() as db:
        assert await db.scalar(select(func.count()).select_from(LessonRating)) == 2
        coordinator = await db.get(User, c.setup.coordinator.user["id"])
        assert coordinator is not None
        found = await ratings.by_tutor(db, coordinator, c.start, c.end)
    assert [(r.name, r.average, r.count) for r in found] == [("Tutor", 4.0, 2)]
