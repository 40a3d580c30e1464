"""What each further class costs the server in memory: classes of 13 at the same time.

Run from the repository root (about 2 minutes for 3 classes):

    .venv/bin/python bench/sfu_memory.py [--classes 3] [--settle 10] [--keep]

Kelas starts as in bench/sfu.py (a separate ``python -m web serve`` on loopback, a fresh
SQLite school), with a tutor and 12 students for each class, and the classes at the same
hour, each with its own tutor and students. Then, one class after another, all 13 of a
class join like the browser page and publish as in bench/sfu.py's ``class`` workload (the
tutor's camera at 1 Mbit/s, the students' at 300 kbit/s, everyone's voice); once every
subscriber of that class has a keyframe of everyone it is shown, and after ``--settle``
seconds of media, the server's resident memory (VmRSS, and its anonymous part) is read.
The classes already in stay, so the last column is what one more class adds.

Beside each reading: the share of the video frames sent in the 3 s after it that reached
each subscriber whole, over every class in (the bots share this process: with several classes
they can fall behind, which the column shows). A class that does not get its keyframes in
time fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import encoded_media
import live_school
from bots import ClassBot
from loopback import restrict_ice_to_loopback
from packet_log import SentLog, Window
from packet_replay import Recording
from sfu import MEDIA_SECONDS, STUDENTS, start_kelas
from sfu_workloads import Media, until

from signaling.media.guard import install_ice_gate
from signaling.media.hooks import lean_receivers

KEYFRAMES_TIMEOUT_S = 90.0
WINDOW_S = 3.0  # frames counted after each reading
GRACE_S = 1.0


def memory_of(pid: int) -> tuple[float, float]:
    """The process's VmRSS and RssAnon, in MB."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon"):
                found[name] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["RssAnon"]


async def delivered(bots: list[ClassBot], logs: dict[int, SentLog], window: Window) -> float:
    """Of the video frames sent in a window of WINDOW_S by every publisher in, the share that
    each subscriber shown that publisher got whole (%)."""
    gc.collect()  # as bench/sfu.py's window: a full collection here would overflow the bots
    gc.disable()
    try:
        window.start, window.counting, window.matching = time.perf_counter(), True, True
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
    return 100.0 * whole / sent if sent else float("nan")


async def one_class(
    school: live_school.LiveSchool,
    index: int,
    lesson_id: int,
    media: Media,
    window: Window,
    logs: dict[int, SentLog],
) -> list[ClassBot]:
    tutor_person = school.tutor if index == 0 else school.more_tutors[index - 1]
    students = school.students[index * STUDENTS : (index + 1) * STUDENTS]

    def bot(person: live_school.Person) -> ClassBot:
        return ClassBot(person.user_id, person.cookie, school.base_url, window)

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


async def main_async(args: argparse.Namespace) -> int:
    restrict_ice_to_loopback()
    install_ice_gate()  # as bench/sfu.py: the bots are aiortc peers
    folder = Path(tempfile.mkdtemp(prefix="sfu-memory-"))
    bots: list[ClassBot] = []
    rows: list[tuple[int, float, float, float]] = []
    server = None
    try:
        streams = encoded_media.prepare(
            folder, MEDIA_SECONDS, 10.0
        )  # replayed: keyframes on request
        media = Media(streams, {n: Recording.load(s.path, s.seconds) for n, s in streams.items()})
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
            lessons.append(
                await live_school.new_class(
                    school, STUDENTS, tutor=tutor, students=students, starts_in=0
                )
            )
        await asyncio.sleep(args.settle)  # the server after start-up, nobody in
        rss, anon = memory_of(server.pid)
        rows.append((0, rss, anon, 0.0))
        window = Window()
        logs: dict[int, SentLog] = {}
        for index, lesson_id in enumerate(lessons):
            print(f"- class {index + 1} of {args.classes} joins ...", flush=True)
            bots += await one_class(school, index, lesson_id, media, window, logs)
            await asyncio.sleep(args.settle)  # media flowing: what the class holds settles
            rss, anon = memory_of(server.pid)
            rows.append((index + 1, rss, anon, await delivered(bots, logs, window)))
    finally:
        await asyncio.gather(*(b.close() for b in bots), return_exceptions=True)
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(f"Kelas's memory with classes of 13 at the same time ({args.settle:.0f} s of media each)")
    print("classes  RSS MB  anon MB  added MB  frames whole %")
    previous = None
    for classes, rss, anon, whole in rows:
        added = f"{rss - previous:8.1f}" if previous is not None else "       -"
        frames = f"{whole:14.2f}" if classes else "             -"
        print(f"{classes:7d}  {rss:6.1f}  {anon:7.1f}  {added}  {frames}")
        previous = rss
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before reading")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    with lean_receivers():  # as bench/sfu.py: the bots' receivers are never fed either
        return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
