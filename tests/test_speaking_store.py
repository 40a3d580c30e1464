"""Speaking times kept per class and person (classroom/speaking.py), on SQLite and PostgreSQL:
writes of totals that a failover home continues from without counting twice, a class's
figures as each person may see them, and the trends over a period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import speaking
from classroom.errors import NotFound
from classroom.models import Lesson, Role, SpeakingTime
from classroom.speaking import Spoken
from signaling.speaking import Meter
from tests.conftest import School, now
from tests.live import live_class


async def test_totals_are_kept_once_and_a_new_home_continues_from_them(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor, one, two = setup.tutor[0], setup.students[0][0], setup.students[1][0]
    first = [
        Spoken(tutor.id, True, 120.0, 5),
        Spoken(one.id, False, 30.5, 3, 95.0),
        Spoken(two.id, False, 0.0, 0, 200.0),
    ]
    async with school.maker.begin() as db:
        await speaking.save(db, lesson_id, first, now())
    async with school.maker.begin() as db:  # the same figures again: nothing changes
        await speaking.save(db, lesson_id, first, now())
    # A home that lost its lease writes older, smaller figures: they take nothing back.
    async with school.maker.begin() as db:
        await speaking.save(db, lesson_id, [Spoken(one.id, False, 10.0, 1, 20.0)], now())
    async with school.maker() as db:
        kept = await speaking.load(db, lesson_id)
        assert sorted(kept, key=lambda s: s.user_id) == sorted(first, key=lambda s: s.user_id)
        assert len((await db.scalars(SpeakingTime.__table__.select())).all()) == 3
    # The next home goes on from what was kept.
    meter = Meter()
    meter.restore(kept)
    meter.arrive(one.id, False, 0.0)
    for n in range(100):  # two seconds of speech
        meter.loud(one.id, 10.0 + n * 0.02, n * 960)
    async with school.maker.begin() as db:
        await speaking.save(db, lesson_id, meter.spoken(20.0), now())
    async with school.maker() as db:
        figures = await speaking.for_lesson(db, lesson_id)
    lines = {line.user_id: line for line in figures.lines}
    assert lines[one.id].seconds == pytest.approx(32.5) and lines[one.id].turns == 4
    assert lines[two.id].longest_silence == 200.0
    assert [line.role for line in figures.lines] == ["tutor", "student", "student"]
    assert figures.tutor_seconds == 120 and figures.student_seconds == pytest.approx(32.5)
    assert figures.tutor_share == pytest.approx(120 / 152.5)
    assert lines[one.id].share == 1.0 and lines[one.id].fair_share == 0.5
    assert lines[tutor.id].share == pytest.approx(120 / 152.5)
    assert lines[tutor.id].fair_share is None


async def test_who_sees_a_class_figures(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor, one, two = setup.tutor[0], setup.students[0][0], setup.students[1][0]
    other_tutor = await school.person(Role.TUTOR)
    stranger = await school.person(Role.STUDENT)
    coordinator = await school.person(Role.COORDINATOR)
    spoken = [Spoken(tutor.id, True, 60, 2), Spoken(one.id, False, 20, 2, 30)]
    async with school.maker.begin() as db:
        await speaking.save(db, lesson_id, spoken, now())
    async with school.maker() as db:
        for viewer in (tutor, coordinator):
            whole = await speaking.of_class(db, viewer, lesson_id)
            assert {line.user_id for line in whole.lines} == {tutor.id, one.id}
        mine = await speaking.of_class(db, one, lesson_id)
        assert [line.user_id for line in mine.lines] == [one.id]
        assert mine.tutor_seconds is None and mine.tutor_share is None
        booked_silent = await speaking.of_class(db, two, lesson_id)  # booked, not measured
        assert booked_silent.lines == ()
        for viewer in (other_tutor, stranger):
            with pytest.raises(NotFound):
                await speaking.of_class(db, viewer, lesson_id)
        with pytest.raises(NotFound):
            await speaking.of_class(db, coordinator, 2**31 - 1)


async def _at(maker: async_sessionmaker[AsyncSession], lesson_id: int, days: int) -> None:
    async with maker.begin() as db:
        lesson = await db.get(Lesson, lesson_id)
        assert lesson is not None
        length = lesson.ends_at - lesson.starts_at
        lesson.starts_at = now() - timedelta(days=days)
        lesson.ends_at = lesson.starts_at + length


async def test_trends_per_student_and_per_tutor(school: School) -> None:
    first = await live_class(school, students=2)
    tutor, one, two = first.tutor[0], first.students[0][0], first.students[1][0]
    second = first.lesson["id"]
    async with school.maker.begin() as db:
        await speaking.save(
            db,
            second,
            [
                Spoken(tutor.id, True, 300, 9),
                Spoken(one.id, False, 90, 6),
                Spoken(two.id, False, 30, 2),
            ],
            now(),
        )
    await _at(school.maker, second, 2)
    async with school.maker() as db:
        since, until = now() - timedelta(days=30), now()
        everyone = await speaking.totals(db, since, until)
        assert [(t.user_id, t.role) for t in everyone] == [
            (tutor.id, "tutor"),
            (one.id, "student"),
            (two.id, "student"),
        ]
        student = await speaking.totals(db, since, until, user_id=one.id, role="student")
        assert len(student) == 1
        assert student[0].share == pytest.approx(0.75) and student[0].fair_share == 0.5
        assert student[0].class_tutor_seconds == 300 and student[0].students == 2
        taught = await speaking.totals(db, since, until, tutor_id=tutor.id, role="tutor")
        assert [t.share for t in taught] == [pytest.approx(300 / 420)]
        assert await speaking.totals(db, since - timedelta(days=60), since) == []


async def test_the_api_and_the_class_page(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    (tutor, tutor_visit), (one, one_visit), (_, two_visit) = setup.tutor, *setup.students
    async with school.maker.begin() as db:
        await speaking.save(
            db, lesson_id, [Spoken(tutor.id, True, 90, 4), Spoken(one.id, False, 30, 3, 61)], now()
        )
    path = f"/api/v1/classes/{lesson_id}/speaking"
    for visitor in (setup.coordinator, tutor_visit):
        status, body = await visitor.api("GET", path)
        assert status == 200, body
        assert body["tutor_seconds"] == 90 and body["tutor_share"] == 0.75
        assert [p["user_id"] for p in body["people"]] == [tutor.id, one.id]
        assert body["people"][1] == {
            "user_id": one.id,
            "name": "Student 1",
            "role": "student",
            "seconds": 30.0,
            "turns": 3,
            "longest_silence": 61.0,
            "share": 1.0,
            "fair_share": 1.0,
        }
    status, mine = await one_visit.api("GET", path)
    assert status == 200 and [p["user_id"] for p in mine["people"]] == [one.id]
    assert mine["tutor_seconds"] is None and mine["student_seconds"] is None
    status, nothing = await two_visit.api("GET", path)  # booked, never measured
    assert status == 200 and nothing["people"] == []
    _, stranger = await school.join(Role.STUDENT)
    _, other_tutor = await school.join(Role.TUTOR)
    for visitor in (stranger, other_tutor):
        status, body = await visitor.api("GET", path)
        assert status == 404 and body["error"]["code"] == "not_found"
    anonymous = await school.visitor()
    status, body = await anonymous.api("GET", path)
    assert status == 401
    for bad in ("0", str(2**31)):
        status, body = await setup.coordinator.api("GET", f"/api/v1/classes/{bad}/speaking")
        assert status == 422 and body["error"]["code"] == "invalid_input", body
    status, body = await setup.coordinator.api("GET", f"/api/v1/classes/{2**31 - 1}/speaking")
    assert status == 404
    status, body = await setup.coordinator.api("POST", path, {})
    assert status == 405
    # The class page shows the figures to its tutor and the coordinators, beside attendance.
    status, page = await tutor_visit.page(f"/classes/{lesson_id}")
    assert status == 200 and 'id="speaking"' in page and "Tutor 75% · students 25%" in page
    assert "1:30" in page and "100% (fair 100%)" in page
    status, page = await one_visit.page(f"/classes/{lesson_id}")
    assert status == 200 and 'id="speaking"' not in page
