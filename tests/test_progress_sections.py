"""Progress pages' trends: a student's speaking time, level over time and notes to review;
a tutor's classes' speaking balance and ratings. Figures from a seeded school made through
the domain functions; who sees whose (a student never another student's, a tutor only what
came from their own classes, coordinators everything); the empty states; on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest

from tests.conftest import School
from tests.report_school import seed
from tests.report_sections import S1_LEVELS, add_sections


async def test_a_students_speaking_levels_and_notes(school: School) -> None:
    seeded = await seed(school)
    s1, s2, _, _ = seeded.students
    query = f"since={seeded.since}&until={seeded.until}"
    me = await school.login(s1)
    # Nothing measured, estimated or noted yet: each section says so, no chart.
    status, html = await me.page(f"/progress?{query}")
    assert status == 200
    assert "No speaking time was measured in this period yet." in html
    assert "No tutor has estimated a level in this period yet." in html
    assert "No notes to review in this period." in html
    assert "chart-speaking" not in html and "chart-levels" not in html

    await add_sections(school, seeded)
    status, body = await me.api("GET", f"/api/v1/me/progress?{query}")
    assert status == 200, body
    assert [(p["topic"], p["seconds"], p["turns"]) for p in body["speaking"]] == [
        ("Topic L1", 300.0, 10), ("Topic L3", 100.0, 3), ("Topic L2", 400.0, 8)
    ]  # fmt: skip
    assert body["speaking"][0]["share"] == pytest.approx(0.75)
    assert body["speaking"][1]["fair_share"] == pytest.approx(1 / 3)
    assert [p["level"] for p in body["levels"]] == S1_LEVELS
    texts = [(n["kind"], n["text"], n["better"], n["shared"]) for n in body["to_review"]]
    assert texts == [
        ("pronunciation", "thirty, not tirty", None, False),  # L3, the newest class
        ("word", "to look forward to", None, True),  # L1's, for everyone
        ("correction", "I go to home", "I go home", False),
    ]  # L1's two were noted at the same moment: the one noted last first
    assert all("a secret for S2" not in n["text"] for n in body["to_review"])

    status, html = await me.page(f"/progress?{query}")
    assert status == 200
    for section in ("speaking", "levels", "review"):
        assert f'<section id="{section}"' in html, section
    assert 'id="chart-speaking-title"' in html and 'id="chart-levels-title"' in html
    assert "I go home" in html and f'href="/classes/{seeded.lessons["L1"]}/recap"' in html
    assert "a secret for S2" not in html

    # S2 never sees S1's: no such person.
    other = await school.login(s2)
    assert (await other.api("GET", f"/api/v1/people/{s1.id}/progress"))[0] == 404
    status, body = await other.api("GET", f"/api/v1/me/progress?{query}")
    assert [n["text"] for n in body["to_review"] if not n["shared"]] == ["a secret for S2"]

    # Ayu (L1, L2) sees only what came from her classes; coordinators see everything.
    path = f"/api/v1/people/{s1.id}/progress?{query}"
    status, body = await (await school.login(seeded.ayu)).api("GET", path)
    assert status == 200, body
    assert [p["topic"] for p in body["speaking"]] == ["Topic L1", "Topic L2"]
    assert [p["level"] for p in body["levels"]] == ["A2", "B1"]
    assert "thirty, not tirty" not in [n["text"] for n in body["to_review"]]
    status, html = await (await school.login(seeded.ayu)).page(f"/people/{s1.id}/progress?{query}")
    assert status == 200 and f'/recap/{s1.id}"' in html
    status, body = await (await school.login(seeded.coordinator)).api("GET", path)
    assert len(body["speaking"]) == 3 and len(body["to_review"]) == 3


async def test_a_tutors_speaking_balance_and_ratings(school: School) -> None:
    seeded = await seed(school)
    query = f"since={seeded.since}&until={seeded.until}"
    ayu = await school.login(seeded.ayu)
    status, html = await ayu.page(f"/progress?{query}")
    assert status == 200
    assert "No speaking was measured in your classes in this period yet." in html
    assert "No rating in this period yet." in html
    assert "chart-balance" not in html

    await add_sections(school, seeded)
    status, body = await ayu.api("GET", f"/api/v1/me/progress?{query}")
    assert status == 200, body
    assert [(c["topic"], c["tutor_share"]) for c in body["speaking"]] == [
        ("Topic L1", pytest.approx(0.6)), ("Topic L2", pytest.approx(0.4))
    ]  # fmt: skip
    rated = body["ratings"]
    assert (rated["average"], rated["count"]) == (4.67, 3)
    assert [c["comment"] for c in rated["comments"]] == [
        "Useful corrections", "Great class, I spoke a lot"
    ]  # fmt: skip
    status, html = await ayu.page(f"/progress?{query}")
    assert status == 200
    for section in ("speaking", "ratings"):
        assert f'<section id="{section}"' in html, section
    assert 'id="chart-balance-title"' in html and "Useful corrections" in html
    assert "The tutor talked most of the time" not in html  # Budi's

    # Budi's view is Budi's and the coordinators'; another tutor and a student get 404.
    path = f"/api/v1/people/{seeded.budi.id}/progress?{query}"
    status, body = await (await school.login(seeded.coordinator)).api("GET", path)
    assert status == 200 and body["ratings"]["count"] == 1, body
    assert body["ratings"]["comments"][0]["comment"] == "The tutor talked most of the time"
    for viewer in (seeded.ayu, seeded.students[0]):
        assert (await (await school.login(viewer)).api("GET", path))[0] == 404
