"""The late-tutor alert's delay: from the moment a tutor becomes late to the coordinator's screen.

Run from the repository root (about a minute):

    .venv/bin/python bench/autopilot.py [--classes 20] [--spacing 1.37]

Kelas runs as its own process on a fresh SQLite database with its default settings (the
autopilot looks once a second; a tutor is late two minutes after the start), as bench/sfu.py
starts it. The bench makes ``--classes`` classes through the API, then moves them in the
database so that their tutors become late one after the other, ``--spacing`` seconds apart
(a spacing that is not a whole second spreads the thresholds over the autopilot's look
cycle). A coordinator connected to /school, as the /live page is, notes when each class's
alert first appears in a ``school:state``. The delay is that moment less the threshold (the
start plus two minutes), both on this machine's clock. Every class must be alerted, once: the
exit status is 1 otherwise and the figures are not to be quoted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import socketio
from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import live_school  # noqa: E402
from bench.sfu import STUDENTS, start_kelas  # noqa: E402
from classroom.db import create_engine, create_sessionmaker  # noqa: E402
from classroom.models import Lesson  # noqa: E402

LATE_AFTER = timedelta(minutes=2)  # the default KELAS_LATE_AFTER_MINUTES


async def main(classes: int, spacing: float) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        server, base_url = await start_kelas(Path(tmp) / "kelas", observers=1)
        try:
            return await measure(base_url, server.env["DATABASE_URL"], classes, spacing)
        finally:
            server.stop()


async def measure(base_url: str, database_url: str, classes: int, spacing: float) -> int:
    school = await live_school.open_school(base_url, STUDENTS, observers=1)
    lessons = [await live_school.new_class(school, booked=1) for _ in range(classes)]
    seen: dict[int, float] = {}
    alerts_seen: dict[int, int] = {}
    everyone = asyncio.Event()
    client = socketio.AsyncClient(reconnection=False)

    @client.on("school:state", namespace="/school")  # type: ignore[misc]
    async def state(data: dict[str, Any]) -> None:
        arrived = time.time()
        for alert in data["alerts"]:
            lesson = alert["lesson_id"]
            seen.setdefault(lesson, arrived)
            alerts_seen[lesson] = max(alerts_seen.get(lesson, 0), alert["alert_id"])
        if set(lessons) <= set(seen):
            everyone.set()

    await client.connect(
        base_url,
        headers={"Cookie": f"kelas_session={school.coordinator.cookie}"},
        namespaces=["/school"],
        transports=["websocket"],
    )
    first = datetime.now(UTC) + timedelta(seconds=3)
    thresholds = {
        lesson: first + timedelta(seconds=spacing * n) for n, lesson in enumerate(lessons)
    }
    engine = create_engine(database_url)
    async with create_sessionmaker(engine).begin() as db:
        for lesson, threshold in thresholds.items():
            starts = threshold - LATE_AFTER
            await db.execute(
                update(Lesson)
                .where(Lesson.id == lesson)
                .values(starts_at=starts, ends_at=starts + timedelta(hours=1))
            )
    await engine.dispose()
    try:
        await asyncio.wait_for(everyone.wait(), timeout=spacing * classes + 30)
    except TimeoutError:
        pass
    await client.disconnect()
    delays = [seen[lesson] - thresholds[lesson].timestamp() for lesson in lessons if lesson in seen]
    missing = [lesson for lesson in lessons if lesson not in seen]
    early = [d for d in delays if d < 0]
    print("| classes | alerted | p50 s | p95 s | max s | min s |")
    print("|---|---|---|---|---|---|")
    quantiles = statistics.quantiles(delays, n=20) if len(delays) > 1 else delays * 19
    print(
        f"| {classes} | {len(delays)} | {statistics.median(delays):.2f} | {quantiles[18]:.2f} "
        f"| {max(delays):.2f} | {min(delays):.2f} |"
    )
    if missing or early:
        print(f"not to be quoted: never alerted {missing}, alerted before the threshold {early}")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--spacing", type=float, default=1.37)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.classes, args.spacing)))
