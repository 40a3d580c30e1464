"""The school report: a seeded school's figures against answers worked out by hand, the
page, its CSV tables parsed back, its charts, the JSON API, who may see it, and bad periods;
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from classroom import reports
from classroom.clock import day_range
from tests.conftest import School, now
from tests.report_school import ANSWERS, ZONE, seed


async def test_the_figures_of_a_seeded_school(school: School) -> None:
    seeded = await seed(school)
    since, _ = day_range(seeded.since, ZONE)
    _, until = day_range(seeded.until, ZONE)
    async with school.maker() as db:
        found = await reports.school(db, seeded.coordinator, since, until, ZONE, now())
    totals = found.totals
    for name in ("held", "cancelled", "not_held", "expected", "attended", "no_shows", "seats",
                 "booked", "came"):  # fmt: skip
        assert getattr(totals, name) == ANSWERS[name], name
    assert (totals.upcoming, totals.unrecorded) == (0, 0)
    assert round(totals.attendance_rate, 4) == round(10 / 12, 4)
    assert round(totals.booked_fill, 4) == round(11 / 24, 4)
    assert [w.monday for w in found.weeks] == [seeded.monday, seeded.monday + timedelta(days=7)]
    assert [(w.tally.held, w.tally.cancelled) for w in found.weeks] == [(4, 0), (2, 1)]
    lecturers = {
        x.name: (x.classes, x.minutes, x.late_starts, x.minutes_late, x.missed,
                 x.substitutions_given, x.substitutions_received,
                 [(p.currency, p.classes, p.minutes, p.amount) for p in x.pay])
        for x in found.lecturers
    }  # fmt: skip
    assert lecturers == ANSWERS["lecturers"]
    strikes = {s.name: (s.late_cancellations, s.no_shows) for s in found.strikes}
    assert strikes == ANSWERS["strikes"]
    assert found.strikes[0].name == "S4"  # the most first
