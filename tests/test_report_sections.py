"""The school report's speaking balance (by class, tutor and level) and ratings per
lecturer: a seeded school's figures against answers worked out by hand, the page, its CSV
tables parsed back, the JSON API, who may see them, and the empty states; on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from classroom import balance, scheduling, schemas, speaking
from classroom.clock import day_range, to_local
from classroom.speaking import Spoken
from tests.conftest import School
from tests.report_school import ZONE, at, seed
from tests.report_sections import B1_SHARE, TUTOR_SHARES, add_sections
from tests.test_reports import _csv


async def test_the_speaking_balance_of_a_seeded_school(school: School) -> None:
    seeded = await seed(school)
    await add_sections(school, seeded)
    since, _ = day_range(seeded.since, ZONE)
    _, until = day_range(seeded.until, ZONE)
    async with school.maker() as db:
        found = await balance.school(db, seeded.coordinator, since, until)
    by_class = {x.topic: x for x in found.classes}
    assert list(by_class) == ["Topic L1", "Topic L3", "Topic L2"]  # in time order; L6, L5 kept none
    assert by_class["Topic L1"].tutor_share == pytest.approx(0.6)
    assert (by_class["Topic L3"].students, by_class["Topic L3"].turns) == (3, 14)
    assert by_class["Topic L3"].student_minutes == pytest.approx(10.0)
    assert {a.name: a.tutor_share for a in found.tutors} == pytest.approx(TUTOR_SHARES)
    assert [(a.key, a.classes) for a in found.levels] == [("B1", 3)]
    assert found.levels[0].tutor_share == pytest.approx(B1_SHARE)


async def test_the_page_csv_and_api_of_speaking_and_ratings(school: School) -> None:
    seeded = await seed(school)
    query = f"since={seeded.since}&until={seeded.until}"
    coordinator = await school.login(seeded.coordinator)
    # Nothing measured nor rated yet: the sections say so and draw no chart.
    status, html = await coordinator.page(f"/reports?{query}")
    assert status == 200
    assert "No speaking was measured in this period yet." in html
    assert "No class of this period has been rated yet." in html
    assert 'id="chart-balance' not in html
    status, body = await coordinator.api("GET", f"/api/v1/reports/school?{query}")
    assert status == 200 and body["speaking"]["classes"] == [] and body["ratings"] == []

    await add_sections(school, seeded)
    status, html = await coordinator.page(f"/reports?{query}")
    assert status == 200
    for section in ("speaking", "ratings"):
        assert f'<section id="{section}"' in html
    assert 'id="chart-balance-title"' in html and 'class="chart-marker"' in html
    assert "Great class, I spoke a lot" in html

    async def table(name: str) -> list[dict[str, str]]:
        async with coordinator.client.get(f"/reports/{name}.csv?{query}") as resp:
            assert resp.status == 200, await resp.text()
            return _csv(await resp.read())

    classes = await table("speaking-classes")
    assert [(r["topic"], r["tutor_name"], r["tutor_share"], r["turns"]) for r in classes] == [
        ("Topic L1", "Ayu", "0.6", "14"),
        ("Topic L3", "Budi", "0.6667", "14"),
        ("Topic L2", "Ayu", "0.4", "10"),
    ]
    tutors = await table("speaking-tutors")
    assert [(r["name"], r["classes"], r["tutor_share"]) for r in tutors] == [
        ("Ayu", "2", "0.5"), ("Budi", "1", "0.6667")
    ]  # fmt: skip
    levels = await table("speaking-levels")
    assert [(r["level"], r["classes"], r["tutor_share"]) for r in levels] == [
        ("B1", "3", str(round(B1_SHARE, 4)))
    ]
    rated = await table("ratings")
    assert [(r["name"], r["average"], r["count"]) for r in rated] == [
        ("Ayu", "4.67", "3"), ("Budi", "2.0", "1")
    ]  # fmt: skip
    assert rated[0]["recent_comments"] == "Useful corrections | Great class, I spoke a lot"

    status, body = await coordinator.api("GET", f"/api/v1/reports/school?{query}")
    assert status == 200, body
    assert body["speaking"]["target"] == 0.7
    assert [t["name"] for t in body["speaking"]["tutors"]] == ["Ayu", "Budi"]
    assert body["speaking"]["levels"][0]["level"] == "B1"
    ayu = body["ratings"][0]
    assert (ayu["name"], ayu["average"], ayu["count"]) == ("Ayu", 4.67, 3)
    assert [c["comment"] for c in ayu["comments"]] == [
        "Useful corrections", "Great class, I spoke a lot"
    ]  # fmt: skip
    assert "student_id" not in ayu["comments"][0]  # who wrote it is not shown

    for user in (seeded.ayu, seeded.students[0]):
        visitor = await school.login(user)
        for name in ("speaking-classes", "speaking-tutors", "speaking-levels", "ratings"):
            assert (await visitor.page(f"/reports/{name}.csv?{query}"))[0] == 403


async def test_levels_in_cefr_order_and_a_silent_class_has_no_share(school: School) -> None:
    seeded = await seed(school)
    await add_sections(school, seeded)
    student = seeded.students[3]
    for day, level, tutor_seconds, student_seconds in (
        (5, "C1", 100.0, 300.0),
        (6, "A2", 0.0, 0.0),
    ):
        starts = at(seeded.monday + timedelta(days=day))
        data = schemas.NewLesson(
            topic=f"Weekend {level}", level=level, duration_minutes=60, capacity=4,  # type: ignore[arg-type]
            tutor_id=seeded.citra.id, timezone=ZONE,
            starts_local=to_local(starts, ZONE).replace(tzinfo=None),
        )  # fmt: skip
        async with school.maker.begin() as db:
            made = await scheduling.create_lesson(
                db, seeded.coordinator, data, starts - timedelta(days=30)
            )
            spoken = [Spoken(seeded.citra.id, True, tutor_seconds, 1),
                      Spoken(student.id, False, student_seconds, 2)]  # fmt: skip
            await speaking.save(db, made.lessons[0].id, spoken, starts + timedelta(minutes=30))
    since, _ = day_range(seeded.since, ZONE)
    _, until = day_range(seeded.until, ZONE)
    async with school.maker() as db:
        found = await balance.school(db, seeded.coordinator, since, until)
    assert [(a.key, a.classes) for a in found.levels] == [("A2", 1), ("B1", 3), ("C1", 1)]
    assert found.levels[0].tutor_share is None  # nobody spoke: no share, not 0 %
    assert found.levels[2].tutor_share == pytest.approx(0.25)
    citra = next(a for a in found.tutors if a.name == "Citra")
    assert (citra.classes, citra.tutor_share) == (2, pytest.approx(0.25))

    coordinator = await school.login(seeded.coordinator)
    query = f"since={seeded.since}&until={seeded.until}"
    status, html = await coordinator.page(f"/reports?{query}")
    assert status == 200 and "Weekend A2" in html
    status, body = await coordinator.api("GET", f"/api/v1/reports/school?{query}")
    assert [x["level"] for x in body["speaking"]["levels"]] == ["A2", "B1", "C1"]
    assert body["speaking"]["levels"][0]["tutor_share"] is None
    # A bad period is a 422 naming the field, for the new tables too.
    async with coordinator.client.get("/reports/speaking-levels.csv?since=nonsense") as resp:
        assert resp.status == 422
