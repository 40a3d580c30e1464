"""Lecturers' rates and pay: the rate in effect on a day, a class's price, and what a seeded
school's lecturers are owed (rates changing mid-period, a substitute, a missed class, a class
without a rate), through the domain and the JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from classroom import attendance, pay, schemas
from classroom.clock import day_range
from classroom.errors import InvalidInput, NotFound, PermissionDenied
from classroom.models import AttendanceStatus, RateUnit
from tests.conftest import School
from tests.report_school import ANSWERS, ZONE, seed

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def rate(
    rate_id: int, day: str, unit: RateUnit = RateUnit.HOUR, amount: str = "100"
) -> pay.RateRow:
    return pay.RateRow(
        rate_id, 1, "T", unit, Decimal(amount), "IDR", date.fromisoformat(day), CREATED
    )


HISTORY = [rate(1, "2026-01-01", amount="100"), rate(2, "2026-03-15", amount="120"),
           rate(3, "2026-03-15", amount="125"), rate(4, "2026-06-01", amount="90")]  # fmt: skip


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2025-12-31", None),  # before the first rate: none
        ("2026-01-01", 1),  # in effect from its own day
        ("2026-03-14", 1),
        ("2026-03-15", 3),  # two set for the same day: the one set last
        ("2026-05-31", 3),
        ("2026-06-01", 4),  # a cut is a rate too
        ("2030-01-01", 4),
    ],
)
def test_the_rate_in_effect_on_a_day(day: str, expected: int | None) -> None:
    found = pay.rate_on(HISTORY, date.fromisoformat(day))
    assert (found.id if found else None) == expected


@pytest.mark.parametrize(
    ("unit", "amount", "minutes", "owed"),
    [
        (RateUnit.CLASS, "100000", 45, "100000"),  # per class: its length does not matter
        (RateUnit.CLASS, "100000", 120, "100000"),
        (RateUnit.HOUR, "80000", 60, "80000.00"),
        (RateUnit.HOUR, "80000", 90, "120000.00"),
        (RateUnit.HOUR, "80000", 45, "60000.00"),
        (RateUnit.HOUR, "100", 50, "83.33"),  # 83.333... to the cent
        (RateUnit.HOUR, "0.01", 30, "0.01"),  # half a cent rounds up
        (RateUnit.HOUR, "12.34", 25, "5.14"),  # 5.1416...
    ],
)
def test_the_price_of_a_class(unit: RateUnit, amount: str, minutes: int, owed: str) -> None:
    assert pay.price(rate(1, "2026-01-01", unit, amount), minutes) == Decimal(owed)


@pytest.mark.parametrize(
    ("amount", "ok"),
    [
        ("150000", Decimal("150000")),
        ("12.50", Decimal("12.50")),
        (150000, Decimal("150000")),
        (12.5, Decimal("12.5")),
        (150000.0, Decimal("150000")),
        ("150.000", None),  # Indonesian for 150,000: refused, not read as 150
        ("150,000", None),
        ("1e5", None),
        ("0", None),
        ("-5", None),
        ("", None),
        (True, None),
        (0.1 + 0.2, None),
        ("1" * 13, None),
        ([], None),
    ],
)
def test_amounts_are_digits_with_at_most_two_decimals(amount: object, ok: Decimal | None) -> None:
    data = {"tutor_id": 1, "unit": "hour", "amount": amount, "effective_from": "2026-01-01"}
    if ok is None:
        with pytest.raises(InvalidInput) as caught:
            schemas.parse(schemas.RateIn, data)
        assert set(caught.value.fields) == {"amount"}
    else:
        assert schemas.parse(schemas.RateIn, data).amount == ok


async def test_a_seeded_school_pays_what_was_worked_out_by_hand(school: School) -> None:
    seeded = await seed(school)
    since, _ = day_range(seeded.since, ZONE)
    _, until = day_range(seeded.until, ZONE)
    async with school.maker() as db:
        lines, taught = await pay.pay(db, seeded.coordinator, since, until, ZONE)
    found: dict[str, list[tuple[str | None, int, int, Decimal | None]]] = {}
    for line in lines:
        found.setdefault(line.name, []).append(
            (line.currency, line.classes, line.minutes, line.amount)
        )
    assert found == {name: answer[-1] for name, answer in ANSWERS["lecturers"].items()}  # type: ignore[attr-defined]
    # The rate changed on Thursday: L1 (Monday) at the old rate, L2 and L8 at the new one.
    ayu = {t.lesson_id: t.amount for t in taught if t.tutor_id == seeded.ayu.id}
    assert ayu == {
        seeded.lessons["L1"]: Decimal("100000.00"),
        seeded.lessons["L2"]: Decimal("120000.00"),
        seeded.lessons["L8"]: Decimal("120000.00"),
    }
    # The substitute is paid for L5, the tutor who missed it is not; nobody for L4.
    paid = {t.lesson_id: t.tutor_id for t in taught}
    assert paid[seeded.lessons["L5"]] == seeded.citra.id
    assert seeded.lessons["L4"] not in paid and seeded.lessons["L7"] not in paid

    # A period that ends before Thursday pays Ayu the old rate only.
    _, tuesday = day_range(seeded.since + timedelta(days=1), ZONE)
    async with school.maker() as db:
        lines, _ = await pay.pay(db, seeded.ayu, since, tuesday, ZONE)
        assert [(x.name, x.classes, x.amount) for x in lines] == [("Ayu", 1, Decimal("100000.00"))]
        # A tutor sees their own pay only; a student none.
        with pytest.raises(PermissionDenied):
            await pay.pay(db, seeded.ayu, since, until, ZONE, tutor_id=seeded.budi.id)
        with pytest.raises(PermissionDenied):
            await pay.pay(db, seeded.students[0], since, until, ZONE)


async def test_rates_are_set_by_coordinators_and_kept(school: School) -> None:
    seeded = await seed(school)
    data = schemas.RateIn(
        tutor_id=seeded.ayu.id,
        unit="hour",
        amount=Decimal("95000.50"),
        effective_from=date(2027, 1, 1),
    )
    async with school.maker.begin() as db:
        made = await pay.set_rate(db, seeded.coordinator, data, "IDR", CREATED)
    assert (made.unit, made.amount, made.currency) == (RateUnit.HOUR, Decimal("95000.50"), "IDR")
    async with school.maker() as db:
        history = await pay.rates(db, seeded.coordinator, seeded.ayu.id)
        assert [r.amount for r in history] == [
            Decimal("95000.50"), Decimal("120000.00"), Decimal("100000.00")
        ]  # fmt: skip
        assert len(await pay.rates(db, seeded.coordinator)) == 5
        assert {r.tutor_id for r in await pay.rates(db, seeded.budi)} == {seeded.budi.id}
        with pytest.raises(PermissionDenied):
            await pay.rates(db, seeded.budi, seeded.ayu.id)
    async with school.maker.begin() as db:
        with pytest.raises(PermissionDenied):
            await pay.set_rate(db, seeded.ayu, data, "IDR", CREATED)
        student = schemas.RateIn(**{**data.model_dump(), "tutor_id": seeded.students[0].id})
        with pytest.raises(NotFound):
            await pay.set_rate(db, seeded.coordinator, student, "IDR", CREATED)


async def test_a_coordinators_correction_of_the_tutors_attendance_counts(school: School) -> None:
    """Budi was recorded a no-show in L4 (45 min); he had taught on the phone: once a
    coordinator corrects it, L4 is paid, at his hourly rate."""
    seeded = await seed(school)
    since, _ = day_range(seeded.since, ZONE)
    _, until = day_range(seeded.until, ZONE)
    async with school.maker.begin() as db:
        await attendance.correct(
            db,
            seeded.coordinator,
            seeded.lessons["L4"],
            seeded.budi.id,
            AttendanceStatus.PRESENT,
            "taught by phone",
            CREATED,
        )
    async with school.maker() as db:
        lines, taught = await pay.pay(db, seeded.budi, since, until, ZONE)
    assert [(x.classes, x.minutes, x.amount) for x in lines] == [(2, 135, Decimal("180000.00"))]
    assert {t.lesson_id: t.amount for t in taught}[seeded.lessons["L4"]] == Decimal("60000.00")
