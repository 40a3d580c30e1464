"""The setup check's rules, without a network: receipts, the verdict, a person's standing
before a class, and how many checks are kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import readiness
from classroom.models import ReadinessCheck, Role
from classroom.readiness import Report
from signaling.readiness import RECEIPT_TTL_S, proven, receipt, verdict
from tests.conftest import School, now

SECRET = "a-secret-of-the-app"
GOOD = Report(mic="ok", camera="ok", stun="ok", turn="ok", udp="ok", relay="ok", rtt_ms=40,
              loss=0.0, down_kbps=2400, up_kbps=1800)  # fmt: skip


def test_a_receipt_proves_its_path_for_its_person_for_ten_minutes() -> None:
    token = receipt(SECRET, 42, "relay", 1_700_000_000)
    assert token.startswith("42.relay.1700000000.") and len(token.split(".")[3]) == 43
    assert proven(SECRET, token, 42, 1_700_000_000 + RECEIPT_TTL_S) == "relay"
    assert proven(SECRET, token, 43, 1_700_000_001) is None  # someone else's
    assert proven("another-secret", token, 42, 1_700_000_001) is None  # not ours
    assert proven(SECRET, token, 42, 1_700_000_000 + RECEIPT_TTL_S + 1) is None  # too old
    assert proven(SECRET, token, 42, 1_699_999_999) is None  # from the future
    changed = token.replace(".relay.", ".direct.")
    assert proven(SECRET, changed, 42, 1_700_000_001) is None  # the path is signed too
    for junk in ("", "42.relay.1", token + "x", token.replace("42.", "042.", 1)):
        assert proven(SECRET, junk, 42, 1_700_000_001) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ("ok", [])),
        ({"relay": "none", "turn": "none", "stun": "none"}, ("ok", [])),
        ({"mic": "denied"}, ("failed", ["mic"])),
        ({"mic": "missing", "udp": "failed", "relay": "failed"}, ("failed", ["mic", "no_path"])),
        ({"udp": "failed", "relay": "none"}, ("failed", ["no_path"])),
        ({"udp": "failed"}, ("warn", ["udp_blocked"])),
        ({"camera": "denied", "mic": "silent"}, ("warn", ["camera", "mic_silent"])),
        ({"relay": "failed", "turn": "failed"}, ("warn", ["relay_failed"])),
        ({"stun": "failed"}, ("warn", ["stun_failed"])),
        ({"rtt_ms": 700}, ("warn", ["unstable"])),
        ({"loss": 0.1}, ("warn", ["unstable"])),
        ({"rtt_ms": 350, "loss": 0.03}, ("ok", [])),  # fair: a class works
        ({"rtt_ms": None, "loss": None}, ("ok", [])),
        ({"down_kbps": 900}, ("warn", ["slow"])),
        ({"up_kbps": 200}, ("warn", ["slow"])),
    ],
)
def test_the_verdict_and_its_reasons(
    changes: dict[str, object], expected: tuple[str, list[str]]
) -> None:
    assert verdict(replace(GOOD, **changes)) == expected  # type: ignore[arg-type]


def check(verdict: str, days_ago: float) -> ReadinessCheck:
    return ReadinessCheck(verdict=verdict, checked_at=now() - timedelta(days=days_ago))


def test_standing_before_a_class() -> None:
    limit, at = timedelta(days=30), now()
    assert readiness.standing(None, at, limit) == "never"
    assert readiness.standing(check("ok", 1), at, limit) == "ready"
    assert readiness.standing(check("warn", 1), at, limit) == "warn"
    assert readiness.standing(check("ok", 31), at, limit) == "stale"
    assert readiness.standing(check("failed", 1), at, limit) == "failed"
    assert readiness.standing(check("failed", 90), at, limit) == "failed"  # however old


async def test_only_a_persons_newest_checks_are_kept(
    school: School, db: async_sessionmaker[AsyncSession]
) -> None:
    sinta = await school.person(Role.STUDENT)
    bayu = await school.person(Role.STUDENT)
    start = now()
    async with db.begin() as session:
        await readiness.record(session, bayu, GOOD, "ok", start, "Firefox")
    for n in range(readiness.KEPT + 5):
        async with db.begin() as session:
            await readiness.record(session, sinta, GOOD, "ok", start + timedelta(minutes=n), "x")
    async with db.begin() as session:
        count = select(func.count()).select_from(ReadinessCheck)
        assert await session.scalar(count.where(ReadinessCheck.user_id == sinta.id)) == 20
        assert await session.scalar(count.where(ReadinessCheck.user_id == bayu.id)) == 1
        newest = await readiness.latest(session, [sinta.id, bayu.id, 999])
    assert newest[sinta.id].checked_at == start + timedelta(minutes=readiness.KEPT + 4)
    assert newest[bayu.id].browser == "Firefox" and set(newest) == {sinta.id, bayu.id}
