"""What each further class costs the server, in memory and CPU: classes of 13 at once.

Run from the repository root (about 2 minutes for 3 classes):

    .venv/bin/python bench/sfu_memory.py [--classes 3] [--settle 10] [--keep]

Kelas starts as in bench/sfu.py (a separate ``python -m web serve`` on loopback, a fresh
SQLite school), with a tutor and 12 students for each class, and the classes at the same
hour, each with its own tutor and students. Then, one class after another, all 13 of a
class join like the browser page and publish as in bench/sfu.py's ``class`` workload (the
tutor's camera at 1 Mbit/s, the students' at 300 kbit/s, everyone's voice); once every
subscriber of that class has a keyframe of everyone it is shown, and after ``--settle``
seconds of media, the server's resident memory (VmRSS, and its anonymous part) is read.
The classes already in stay, so "added MB" is what one more class adds.

Each class's 13 bots run in a process of their own (this script, ``--bots``): one process
for all of them falls behind from the second class on, and its losses would be counted
against the server. After each reading, every class counts for WINDOW_S the video frames
that reached each of its subscribers whole, while the server's CPU is measured over the
same window: "frames whole %" is over every class in, and the CPU figure counts only when
it is at least 99.9 %; the bots' CPU, all classes together, is measured over it too. The
bots share the machine's cores with the server, so a run with more classes than the cores
carry comes out short, which the column shows (the two CPU columns together say how full
the machine was). A class that does not get its keyframes in time fails the run.

The bots receive through Kelas's own lane (``--bots-path lane``, bots.ClassBot's ``lane``)
on uvloop, at some 60 % of the CPU of aiortc's own receive path (``--bots-path aiortc``),
so more classes fit beside the server on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import encoded_media
import live_school
from bots import ClassBot
from loopback import restrict_ice_to_loopback
from packet_log import SentLog, Window
from packet_replay import Recording
from server_process import CpuMeter
from sfu import MEDIA_SECONDS, STUDENTS, start_kelas
from sfu_workloads import Media, until

from signaling.media.guard import install_ice_gate
from signaling.media.hooks import lean_receivers

KEYFRAMES_TIMEOUT_S = 90.0
WINDOW_S = 3.0  # frames counted after each reading
GRACE_S = 1.0
DELIVERED_PCT = 99.9  # a CPU figure counts only with at least this share of frames whole


def memory_of(pid: int) -> tuple[float, float]:
    """The process's VmRSS and RssAnon, in MB."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon"):
                found[name] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["RssAnon"]


# -- one class's bots, in a process of their own (--bots SPEC) -------------------------------


async def delivered(bots: list[ClassBot], logs: dict[int, SentLog], window: Window) -> dict:
    """Of the video frames sent in a window of WINDOW_S by every publisher of the class, how
    many each subscriber shown that publisher got whole."""
    gc.collect()  # as bench/sfu.py's window: a full collection here would overflow the bots
    gc.disable()
    try:
        # A new window: it ends when it ends (the last one's end would match nothing).
        window.start, window.end = time.perf_counter(), math.inf
        window.counting = window.matching = True
        await asyncio.sleep(WINDOW_S)
        window.end, window.counting = time.perf_counter(), False
        await asyncio.sleep(GRACE_S)  # the window's last frames on their way
        window.matching = False
    finally:
        gc.enable()
    sent = whole = 0
    for subscriber in bots:
        for publisher_id in subscriber.shown():
            if publisher_id in logs and publisher_id != subscriber.user_id:
                complete, frames = subscriber.reception.frames_complete(
                    publisher_id, logs[publisher_id]
                )
                whole, sent = whole + complete, sent + frames
    return {"whole": whole, "sent": sent}


async def one_class(
    base_url: str,
    lesson_id: int,
    tutor_person: live_school.Person,
    students: list[live_school.Person],
    media: Media,
    window: Window,
    logs: dict[int, SentLog],
    lane: bool = True,
) -> list[ClassBot]:
    def bot(person: live_school.Person) -> ClassBot:
        return ClassBot(person.user_id, person.cookie, base_url, window, lane=lane)

    tutor = bot(tutor_person)
    await tutor.join(lesson_id)
    await tutor.publish(media.camera("large"), logs)
    members = [bot(person) for person in students]
    for member in members:
        await member.join(lesson_id)
        await member.publish(media.camera("small"), logs)
    everyone = [tutor, *members]

    def missing() -> int:
        return sum(
            p.user_id not in s.layout.values()
            or (p.user_id in s.shown() and p.user_id not in s.reception.first_keyframe)
            for s in everyone
            for p in everyone
            if p is not s
        )

    await until(lambda: missing() == 0, KEYFRAMES_TIMEOUT_S, "subscriptions without a keyframe")
    return everyone


async def bots_async(spec_path: Path) -> int:
    """A class's bots: join, say "ready"; then on each "measure" line, count a window and
    answer with a JSON line; on "stop" (or the end of input), leave."""
    spec = json.loads(spec_path.read_text())
    restrict_ice_to_loopback()
    install_ice_gate()  # as bench/sfu.py: the bots are aiortc peers
    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    streams = encoded_media.prepare(folder, MEDIA_SECONDS, 10.0)  # replayed: keyframes on request
    media = Media(streams, {n: Recording.load(s.path, s.seconds) for n, s in streams.items()})
    window = Window()
    logs: dict[int, SentLog] = {}
    bots: list[ClassBot] = []
    loop = asyncio.get_running_loop()
    try:
        bots = await one_class(
            spec["base_url"], spec["lesson_id"], live_school.Person(**spec["tutor"]),
            [live_school.Person(**person) for person in spec["students"]], media, window, logs,
            lane=spec["lane"],
        )  # fmt: skip
        print("ready", flush=True)
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "measure":
            print(json.dumps(await delivered(bots, logs, window)), flush=True)
    finally:
        await asyncio.gather(*(b.close() for b in bots), return_exceptions=True)
    return 0


class BotProcess:
    """One class's bots, run by ``--bots``."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, spec: dict, spec_path: Path) -> BotProcess:
        spec_path.write_text(json.dumps(spec))
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--bots", str(spec_path),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        bots = cls(process)
        line = await asyncio.wait_for(bots._line(), KEYFRAMES_TIMEOUT_S + 30)
        if line != "ready":
            raise RuntimeError(f"a class's bots did not get ready: {line!r}")
        return bots

    async def _line(self) -> str:
        assert self.process.stdout is not None
        return (await self.process.stdout.readline()).decode().strip()

    async def measure(self) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(b"measure\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self._line(), WINDOW_S + GRACE_S + 30)
        if not line:
            raise RuntimeError("a class's bots stopped")
        return json.loads(line)  # type: ignore[no-any-return]

    async def stop(self) -> None:
        if self.process.stdin is not None and self.process.returncode is None:
            self.process.stdin.write(b"stop\n")
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


# -- the server, and the classes one after another ---------------------------------------


async def main_async(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="sfu-memory-"))
    classes: list[BotProcess] = []
    rows: list[tuple[int, float, float, float, float, float]] = []
    server = None
    try:
        server, base_url = await start_kelas(
            folder / "kelas", 0, students=STUDENTS * args.classes, tutors=args.classes
        )
        school = await live_school.open_school(
            base_url, STUDENTS * args.classes, 0, tutors=args.classes
        )
        lessons = []
        for index in range(args.classes):
            tutor = school.tutor if index == 0 else school.more_tutors[index - 1]
            students = school.students[index * STUDENTS : (index + 1) * STUDENTS]
            lesson_id = await live_school.new_class(
                school, STUDENTS, tutor=tutor, students=students, starts_in=0
            )
            lessons.append((lesson_id, tutor, students))
        await asyncio.sleep(args.settle)  # the server after start-up, nobody in
        rss, anon = memory_of(server.pid)
        rows.append((0, rss, anon, float("nan"), float("nan"), float("nan")))
        for index, (lesson_id, tutor, students) in enumerate(lessons):
            print(f"- class {index + 1} of {args.classes} joins ...", flush=True)
            spec = {
                "base_url": base_url, "lesson_id": lesson_id, "tutor": asdict(tutor),
                "students": [asdict(s) for s in students], "folder": str(folder / f"bots-{index}"),
                "lane": args.bots_path == "lane",
            }  # fmt: skip
            classes.append(await BotProcess.start(spec, folder / f"bots-{index}.json"))
            await asyncio.sleep(args.settle)  # media flowing: what the class holds settles
            rss, anon = memory_of(server.pid)
            meters = [CpuMeter(server.pid), *(CpuMeter(c.process.pid) for c in classes)]
            for meter in meters:
                meter.start()
            counts = await asyncio.gather(*(c.measure() for c in classes))
            cpu, *bots_cpu = (meter.stop() for meter in meters)
            sent = sum(c["sent"] for c in counts)
            whole = 100.0 * sum(c["whole"] for c in counts) / sent if sent else float("nan")
            rows.append((index + 1, rss, anon, whole, cpu, sum(bots_cpu)))
    finally:
        await asyncio.gather(*(c.stop() for c in classes), return_exceptions=True)
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(f"Kelas with classes of 13 at the same time ({args.settle:.0f} s of media each)")
    print("classes  RSS MB  anon MB  added MB  frames whole %  server CPU % of a core  bots CPU %")
    previous = None
    for classes_in, rss, anon, whole, cpu, bots_cpu in rows:
        added = f"{rss - previous:8.1f}" if previous is not None else "       -"
        frames = f"{whole:14.2f}" if classes_in else "             -"
        if not classes_in:
            load = "                     -"
        elif whole >= DELIVERED_PCT:
            load = f"{cpu:22.1f}"
        else:
            load = f"{'short (' + format(cpu, '.1f') + ')':>22}"
        bots = f"{bots_cpu:10.1f}" if classes_in else "         -"
        print(f"{classes_in:7d}  {rss:6.1f}  {anon:7.1f}  {added}  {frames}  {load}  {bots}")
        previous = rss
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before reading")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--bots-path", choices=("lane", "aiortc"), default="lane",
        help="how the bots receive: Kelas's lane (C, at the socket) or aiortc's own path",
    )  # fmt: skip
    parser.add_argument("--bots", type=Path, help=argparse.SUPPRESS)  # one class's bots
    args = parser.parse_args()
    if args.bots is not None:
        with (
            lean_receivers(),  # as bench/sfu.py: the bots' receivers are never fed either
            asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,  # as the server's
        ):
            return runner.run(bots_async(args.bots))
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
