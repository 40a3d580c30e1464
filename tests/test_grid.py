"""The coordinators' timetable query: rows, days, filters and pages, on both engines."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import grid
from classroom.models import LessonStatus, Level, Role
from classroom.schemas import TimetableQuery
from tests.conftest import School
from tests.helpers import add_lesson

Maker = async_sessionmaker[AsyncSession]
ZONE = "Asia/Jakarta"  # tests.helpers.add_lesson places classes in this zone
MONDAY = date(2030, 3, 4)


@pytest.fixture
async def week(school: School) -> dict[str, Any]:
    """A week with three lecturers (one idle), unassigned classes and a cancelled one."""
    ayu = await school.person(Role.TUTOR, "Ayu")
    budi = await school.person(Role.TUTOR, "Budi")
    cici = await school.person(Role.TUTOR, "Cici")  # teaches nothing this week
    lessons = [
        # (day offset, hour, tutor, level, topic)
        (0, 9, ayu, Level.B1, "Small talk"),
        (0, 23, ayu, Level.B1, "Late night"),  # 23:00 Jakarta is 16:00 UTC: still Monday
        (1, 6, budi, Level.A2, "Ordering food"),  # 06:00 Jakarta is Monday 23:00 UTC
        (2, 10, None, Level.B1, "Travel plans"),
        (2, 11, None, Level.C1, "Debate 100%"),
        (6, 20, budi, Level.A2, "Phone calls"),
        (7, 9, ayu, Level.B1, "Next week"),
        (-1, 9, ayu, Level.B1, "Last week"),
    ]
    async with school.maker.begin() as db:
        for offset, hour, tutor, level, topic in lessons:
            add_lesson(db, MONDAY, offset, hour, tutor, level, topic)
        add_lesson(db, MONDAY, 3, 9, None, Level.B1, "Cancelled", status=LessonStatus.CANCELLED)
    return {"ayu": ayu, "budi": budi, "cici": cici, "maker": school.maker}


async def load(maker: Maker, **query: Any) -> grid.Grid:
    query.setdefault("week", MONDAY)
    async with maker.begin() as db:
        return await grid.timetable(db, TimetableQuery(**query), ZONE, MONDAY)


def topics(row: grid.GridRow) -> list[list[str]]:
    return [[c.topic for c in cell.classes] for cell in row.cells]


async def test_lecturer_rows_by_local_day_no_lecturer_first(week: dict[str, Any]) -> None:
    found = await load(week["maker"])
    assert found.days == [MONDAY + timedelta(days=i) for i in range(7)]
    assert [r.label for r in found.rows] == ["", "Ayu", "Budi"]
    assert [r.key for r in found.rows] == [None, week["ayu"].id, week["budi"].id]
    unassigned, ayu, budi = found.rows
    assert topics(ayu) == [["Small talk", "Late night"], [], [], [], [], [], []]
    assert topics(budi) == [[], ["Ordering food"], [], [], [], [], ["Phone calls"]]
    assert topics(unassigned)[2] == ["Travel plans", "Debate 100%"]
    assert all(c.unassigned for cell in unassigned.cells for c in cell.classes)
    assert (unassigned.classes, unassigned.unassigned, ayu.classes) == (2, 2, 2)
    assert (found.total_rows, found.total_classes, found.total_unassigned) == (3, 6, 2)
    assert found.pages == 1


async def test_level_rows_in_level_order(week: dict[str, Any]) -> None:
    found = await load(week["maker"], rows="levels")
    assert [r.key for r in found.rows] == [Level.A2, Level.B1, Level.C1]
    assert [r.label for r in found.rows] == ["A2", "B1", "C1"]
    assert [r.unassigned for r in found.rows] == [0, 1, 1]
    assert topics(found.rows[1])[0] == ["Small talk", "Late night"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"level": Level.A2}, ["Ordering food", "Phone calls"]),
        ({"topic": "TALK"}, ["Small talk"]),
        ({"topic": "100%"}, ["Debate 100%"]),  # a literal %, not a wildcard
        ({"topic": "%"}, ["Debate 100%"]),
        ({"lecturer": "bud"}, ["Ordering food", "Phone calls"]),
        ({"unassigned": True}, ["Travel plans", "Debate 100%"]),
        ({"unassigned": True, "level": Level.C1}, ["Debate 100%"]),
        ({"day": MONDAY + timedelta(days=1)}, ["Ordering food"]),
        ({"topic": "nothing like it"}, []),
    ],
)
async def test_filters(week: dict[str, Any], filters: dict[str, Any], expected: list[str]) -> None:
    found = await load(week["maker"], **filters)
    listed = [c.topic for r in found.rows for cell in r.cells for c in cell.classes]
    assert sorted(listed) == sorted(expected)
    assert found.total_classes == len(expected)


async def test_lecturer_filter_by_id(week: dict[str, Any]) -> None:
    found = await load(week["maker"], tutor_id=week["ayu"].id)
    assert [r.label for r in found.rows] == ["Ayu"]
    idle = await load(week["maker"], tutor_id=week["cici"].id)
    assert (idle.rows, idle.total_rows, idle.total_classes) == ([], 0, 0)


async def test_one_day(week: dict[str, Any]) -> None:
    found = await load(week["maker"], day=MONDAY + timedelta(days=2))
    assert found.days == [MONDAY + timedelta(days=2)] and found.monday == MONDAY
    assert [r.label for r in found.rows] == [""]
    assert topics(found.rows[0]) == [["Travel plans", "Debate 100%"]]


async def test_pages_of_rows(school: School) -> None:
    tutors = [await school.person(Role.TUTOR, f"Tutor {n:02}") for n in range(7)]
    async with school.maker.begin() as db:
        for n, tutor in enumerate(tutors):
            add_lesson(db, MONDAY, n % 7, 9, tutor, Level.B2, f"Class {n}")
        add_lesson(db, MONDAY, 0, 10, None, Level.B2, "Open")
    pages = [await load(school.maker, per_page=3, page=p) for p in (1, 2, 3)]
    assert [[r.label for r in g.rows] for g in pages] == [
        ["", "Tutor 00", "Tutor 01"],
        ["Tutor 02", "Tutor 03", "Tutor 04"],
        ["Tutor 05", "Tutor 06"],
    ]
    assert all((g.total_rows, g.pages, g.total_classes) == (8, 3, 8) for g in pages)
    assert [c.topic for c in pages[1].rows[0].cells[2].classes] == ["Class 2"]
    beyond = await load(school.maker, per_page=3, page=9)
    assert (beyond.rows, beyond.total_rows, beyond.total_classes) == ([], 8, 8)
    assert beyond.total_unassigned == 1


async def test_a_crowded_cell_lists_the_first_and_counts_the_rest(school: School) -> None:
    async with school.maker.begin() as db:
        for hour in range(8, 8 + grid.WEEK_CELL_LIMIT + 3):
            add_lesson(db, MONDAY, 0, hour, None, Level.B1, f"At {hour}")
    row = (await load(school.maker)).rows[0]
    monday = row.cells[0]
    assert len(monday.classes) == grid.WEEK_CELL_LIMIT and monday.more == 3
    assert monday.classes[0].topic == "At 8"
    whole_day = (await load(school.maker, day=MONDAY)).rows[0].cells[0]
    assert len(whole_day.classes) == grid.WEEK_CELL_LIMIT + 3 and whole_day.more == 0
