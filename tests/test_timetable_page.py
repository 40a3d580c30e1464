"""The planning page's timetable and its JSON twin, through real HTTP."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from classroom.models import Level, Role
from tests.conftest import School, Visitor
from tests.helpers import add_lesson
from web.i18n import FIELD_NAMES

MONDAY = date(2030, 3, 4)
WEEK = f"week={MONDAY}"


@pytest.fixture
async def planned(school: School) -> dict[str, Any]:
    _, coordinator = await school.join(Role.COORDINATOR)
    ayu = await school.person(Role.TUTOR, "Ayu Lestari")
    budi = await school.person(Role.TUTOR, "Budi Santoso")
    async with school.maker.begin() as db:
        add_lesson(db, MONDAY, 0, 9, ayu, Level.B1, "Small talk")
        add_lesson(db, MONDAY, 1, 10, budi, Level.A2, "Ordering food")
        add_lesson(db, MONDAY, 2, 11, None, Level.C1, "Debate club")
    return {"coordinator": coordinator, "ayu": ayu, "budi": budi}


def cells(html: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", html, re.S)


async def test_the_timetable_is_a_table_with_headers_and_the_open_classes_first(
    planned: dict[str, Any],
) -> None:
    status, html = await planned["coordinator"].page(f"/planning?{WEEK}")
    assert status == 200
    assert '<caption id="tt-caption">' in html and "Classes by tutor and day" in html
    assert html.count('<th scope="col">') == 8  # the lecturer column and seven days
    assert html.count('<th scope="row">') == 3
    rows = re.findall(r'<th scope="row">(.*?)</th>', html, re.S)
    assert "No tutor yet" in rows[0] and "Ayu Lestari" in rows[1] and "Budi Santoso" in rows[2]
    assert 'class="tt-open-row"' in html
    debate = re.search(r'<li class="tt-class tt-open">(.*?)</li>', html, re.S)
    assert debate and "Debate club" in debate.group(1)
    lesson = re.search(r'href="/classes/(\d+)#assign"', debate.group(1))
    assert lesson, "an open class links straight to assigning its lecturer"
    assert "1 class has no tutor" in html
    status, page = await planned["coordinator"].page(f"/classes/{lesson.group(1)}")
    assert status == 200 and 'id="assign"' in page


async def test_filters_one_day_levels_and_pages(planned: dict[str, Any]) -> None:
    coordinator: Visitor = planned["coordinator"]
    _, html = await coordinator.page(f"/planning?{WEEK}&level=A2")
    assert "Ordering food" in html and "Small talk" not in html and "Debate club" not in html
    _, html = await coordinator.page(f"/planning?{WEEK}&lecturer=ayu")
    assert "Small talk" in html and "Ordering food" not in html
    _, html = await coordinator.page(f"/planning?{WEEK}&topic=debate&unassigned=1")
    assert "Debate club" in html and html.count('<th scope="row">') == 1
    _, html = await coordinator.page(f"/planning?day={MONDAY + timedelta(days=1)}")
    assert html.count('<th scope="col">') == 2 and "Ordering food" in html
    assert 'aria-current="page">Tue 5 Mar</a>' in html
    _, html = await coordinator.page(f"/planning?{WEEK}&rows=levels")
    rows = re.findall(r'<th scope="row">(.*?)</th>', html, re.S)
    assert [re.search(r"A2|B1|C1", r).group(0) for r in rows] == ["A2", "B1", "C1"]  # type: ignore[union-attr]
    assert "Classes by level and day" in html
    _, html = await coordinator.page(f"/planning?{WEEK}&per_page=2")
    assert "Page 1 of 2" in html and "Budi Santoso" not in html
    next_page = re.search(r'href="([^"]*(?:\?|amp;)page=2[^"]*)"', html)
    assert next_page and "per_page=2" in next_page.group(1) and WEEK in next_page.group(1)
    _, html = await coordinator.page("/planning" + next_page.group(1).replace("&amp;", "&"))
    assert "Budi Santoso" in html and "Ayu Lestari" not in html and "Page 2 of 2" in html
    _, html = await coordinator.page(f"/planning?{WEEK}&topic=nothing+like+it")
    assert "No classes match" in html and "<table" not in html


async def test_links_keep_the_filters(planned: dict[str, Any]) -> None:
    _, html = await planned["coordinator"].page(f"/planning?{WEEK}&level=B1&per_page=25")
    later = re.search(r'href="([^"]*)">Next week', html)
    assert later and later.group(1) == "?week=2030-03-11&amp;level=B1&amp;per_page=25"
    tuesday = re.search(r'href="([^"]*)" >Tue 5 Mar|href="([^"]*)">Tue 5 Mar', html)
    assert tuesday and "day=2030-03-05" in tuesday.group(0) and "level=B1" in tuesday.group(0)


async def test_bad_choices_are_field_errors(planned: dict[str, Any]) -> None:
    coordinator: Visitor = planned["coordinator"]
    for query, field in [("per_page=0", "per_page"), ("rows=rooms", "rows"),
                         ("page=x", "page"), ("day=2030-02-30", "day"),
                         ("unassigned=maybe", "unassigned")]:  # fmt: skip
        status, html = await coordinator.page(f"/planning?{query}")
        # The page names the field in words ("Rows per page"), the API by its name.
        assert status == 422 and FIELD_NAMES[field] in html, query
        status, body = await coordinator.api("GET", f"/api/v1/planning/timetable?{query}")
        assert status == 422 and field in body["error"]["fields"], (query, body)


async def test_only_coordinators(school: School, planned: dict[str, Any]) -> None:
    _, tutor = await school.join(Role.TUTOR)
    status, _ = await tutor.api("GET", "/api/v1/planning/timetable")
    assert status == 403
    status, _ = await tutor.page("/planning")
    assert status == 403


async def test_the_api_answers_the_same_page(planned: dict[str, Any]) -> None:
    coordinator: Visitor = planned["coordinator"]
    status, body = await coordinator.api("GET", f"/api/v1/planning/timetable?{WEEK}&per_page=2")
    assert status == 200, body
    assert (body["rows_by"], body["week"], body["page"], body["pages"]) == (
        "lecturers",
        str(MONDAY),
        1,
        2,
    )
    assert (body["total_rows"], body["total_classes"], body["total_unassigned"]) == (3, 3, 1)
    first, second = body["rows"]
    assert (first["tutor_id"], first["level"], first["label"]) == (None, None, "")
    assert second["tutor_id"] == planned["ayu"].id and second["label"] == "Ayu Lestari"
    assert [len(c["classes"]) for c in first["cells"]] == [0, 0, 1, 0, 0, 0, 0]
    debate = first["cells"][2]["classes"][0]
    assert debate["topic"] == "Debate club" and debate["tutor_id"] is None
    status, body = await coordinator.api(
        "GET", f"/api/v1/planning/timetable?day={MONDAY}&rows=levels"
    )
    assert status == 200 and body["days"] == [str(MONDAY)]
    assert [(r["level"], r["tutor_id"]) for r in body["rows"]] == [("B1", None)]
