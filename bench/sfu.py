"""The live-class SFU under load: CPU, forwarded packets, delivery, latency and joins.

Run from the repository root (a full default run takes 7-10 minutes):

    .venv/bin/python bench/sfu.py [--workloads fanout,class,relay,budget,speaking]
        [--fanout 1,2,4,8,16,32,64] [--classes 5,8,12] [--relay 1,2,4] [--links 0,1500,500]
        [--janus el1[,default]]
        [--seconds 15] [--settle 3] [--joins-at-once 1]
        [--player replay|mediaplayer] [--keyframe-interval S] [--max-others 15]
        [--profile fanout-64,class-12 --profile-dir DIR --profile-seconds 20
         [--profile-native]] [--keep]

py-spy is only needed for --profile (``.venv/bin/pip install py-spy``); the Janus baselines
need Debian's ``janus`` and ``gcc`` (scripts/setup installs them; ``--janus ""`` skips them).
The exit status is 1 when a run failed (the others still run and are printed).

What it does:

1. Encodes, once, 10 s of a moving test pattern with PyAV into two WebM files, each with a
   VP8 and an Opus track: the tutor's camera (640x480, 30 fps, 1 Mbit/s) and a student's tile
   (320x240, 24 fps, 300 kbit/s), the app's own send plans (bench/encoded_media.py).
2. Starts Kelas as a separate process, ``python -m web serve`` (through bench/loopback.py,
   which keeps ICE on 127.0.0.1 and logs the process's garbage-collector pauses) on a fresh
   SQLite database after ``python -m web migrate``, with a coordinator, a tutor, 12 students
   and 64 observers (coordinators), and one class per run, made and booked through the JSON
   API (bench/live_school.py).
3. Runs the workloads. Bots are aiortc peers in this process (bench/bots.py) that join like
   the browser page: log in, Socket.IO to /class, ``hello``, one offer with the slot layout,
   ``media:offer``, ``media:state``. Publishers send encoded packets, never encoding: by
   default replayed from memory, which loops and answers keyframe requests like a browser
   (bench/packet_replay.py says why), or with ``--player mediaplayer`` through aiortc's
   ``MediaPlayer(path, decode=False)`` from a file repeated to last the run. Subscribers count
   packets in place of the receiver's RTP handler (never decoded).
   - ``fanout``: the tutor publishes to N observers, N in 1..64. A class holds at most 12
     students, so the subscribers are coordinators, who join as observers: they receive every
     publisher through the same slots and forwarding path as students and publish nothing,
     which makes the run a pure one-to-N measure of forwarding.
   - ``class``: the tutor (1 Mbit/s) and 5, 8 or 12 students (300 kbit/s) all publish audio and
     video, and everyone receives everyone else.
   - ``room`` (not in the default run; ``--rooms``): as ``class``, but everyone sends the
     tutor's camera (1 Mbit/s): the largest room one process carries. The bots share one
     process: past some 20,000 packets a second they, not the server, fall behind, and
     the run is reported short.
   - ``relay``: the baseline, aiortc's MediaRelay (decode once, encode per subscriber) in its
     own minimal server process (bench/relay_server.py), the same publisher to N subscribers.
   - Janus, the C baseline (``--janus``, default ``el1``): every ``fanout`` and ``class`` run
     again on Debian's Janus 1.1.2 with its VideoRoom plugin, one Janus process per
     configuration: ``el1`` is ``event_loops = 1`` (one thread carries all media), ``default``
     Janus's own threading (a thread per handle). The same bots and media through the Janus
     HTTP API, one room per run (bench/janus_server.py, bench/janus_bots.py,
     bench/janus_workloads.py; docs/benchmarks.md says how Janus is made to use 127.0.0.1).
   - ``budget`` (not in the default run): a full class (the tutor and 12 students) under the
     downlink budget (docs/protocol.md, "Downlink budget"): only the tutor speaks, the
     students' microphones are on and silent (Opus DTX makes them nearly free, so their bots
     send no audio), and every subscriber's bot sends REMBs as Chromium's receive side
     would behind a link of each of ``--links`` kbit/s (0: none; bench/bots.py says how),
     one run each, measured after ``--settle-budget`` seconds (the budget finds its level
     by pausing, and probes beyond it ever more rarely). It prints what each
     subscriber received: every datagram on its wire, the audio and video RTP in it, and
     how many videos the server sent it and paused for it at the end of the window.
   - ``speaking`` (not in the default run; seconds, alone): what the speaking-equity meter
     (signaling/speaking.py) adds per audio packet, in process and without a server: the
     tutor's audio source as the SFU builds it, packets with the RFC 6464 level through its
     receive path with and without the level callback and the meter
     (bench/sfu_speaking.py says how).
4. Each run: joins one by one (Kelas runs: --joins-at-once bots together, each batch once
   the last has its answer and sent media:state), waits until every subscriber has a
   keyframe from every publisher, settles, waits (at most --others-timeout) until other
   processes on the machine use less than --max-others % of a core, then measures a window
   of --seconds. The bench's own garbage collector is paused in the window (a full
   collection here takes ~0.2 s and would overflow the bots' sockets); the server's is
   untouched.

Figures, all from the steady-state window:

- server CPU %: utime + stime of the server process (/proc/<pid>/stat, every thread) over
  the window, in % of one core. The bots' CPU is in this other process and never counts; it
  is shown as "bench CPU %", and "others %" is every other process on the machine. On
  loopback the kernel delivers a datagram in its sender's system time, so the server's CPU
  includes delivering what it sends.
- idle %: the server's CPU in the seconds before the run, with nobody connected.
- fwd pkt/s: RTP packets (audio + video) that arrived at the subscribing bots, per second.
- µs/pkt: server CPU time / forwarded packets. It includes everything the server did, also
  receiving the published streams and RTCP, amortised over the packets it forwarded.
- frames %: video frames delivered complete (every one of their RTP packets arrived) / frames
  sent, summed over every (subscriber, publisher) pair, for the frames sent in the window. The
  bots send no NACK, so a lost packet is a lost frame. For the relay, re-encoded frames
  cannot be matched: it is frames received (marker bits) / frames sent.
- added latency p50 / p95: the SFU forwards payloads unchanged, so each received packet is
  matched by its payload bytes to the moment its publisher handed it to DTLS. The same
  publisher also sends a copy of its media straight to one bot in this process (no server):
  the latency through the server minus that direct path's median is what the server adds
  (SRTP, Python, its queues, its pauses); both paths share the bots' own delays. Not
  available for the relay (it re-encodes, so payloads differ).
- join->keyframe p50 / max: from a subscriber's offer to the first packet of a VP8 keyframe of
  each publisher that was already sending, over every such pair: ICE, DTLS, the server's
  keyframe request and the keyframe's way back. (With --player mediaplayer, which cannot
  answer a keyframe request, it also includes waiting for the file's next keyframe.) On
  Janus, from the subscriber's ``join`` request, after which Janus offers.
- RSS: the server process's resident memory at the end of the window (VmRSS); Kelas's
  process has served every run before, each Janus process every Janus run before.
- worst frames %: the delivery of the worst (subscriber, publisher) pair.
- kelas/this: Kelas's figure of a case divided by a baseline's. The last table shows a
  run's figures only where every subscriber had a keyframe of every publisher and got at
  least 99.9 % of each one's frames; otherwise "short". (MediaRelay skips frames by design
  when its encoders fall behind, so it is often short.)
- CPU/sub: server CPU % / subscribers, and the marginal cost of one more subscriber (slope of
  CPU % over N), for the relay and for Kelas at the same N; their ratio is how many times
  less CPU Kelas needs per subscriber.

Diagnostics: direct-path median, packets that matched nothing sent, join->connected (ICE and
DTLS up), keyframe requests (PLI/FIR) the publishers got while people joined, seconds spent
waiting for the machine and for the server to go idle after the run, the server's GC pauses
in the window, datagrams the kernel dropped on full sockets (server's or bots'), the bench's
event-loop lag, and the RTCP the publishers got in the window (receiver reports, NACK, PLI,
REMB) per publisher and second.

--profile runs py-spy on the server for --profile-seconds after the window of the named runs
(so that sampling never disturbs the figures) and prints where the CPU went.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import encoded_media
import live_school
import profile_summary
import sfu_speaking
from janus_server import JanusConfig, start_janus
from janus_workloads import janus_run
from loopback import restrict_ice_to_loopback
from packet_replay import Recording
from server_process import ServerProcess, free_port
from sfu_report import (
    budget_table,
    comparison_table,
    details_table,
    diagnostics_table,
    main_table,
    media_summary,
    relay_table,
    targets_table,
)
from sfu_workloads import (
    DELIVERED,
    Media,
    Options,
    Result,
    Workload,
    idle_cpu,
    kelas_run,
    relay_run,
)

from signaling.media.guard import install_ice_gate
from signaling.media.hooks import lean_receivers

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
MEDIA_SECONDS = 10.0
STUDENTS = 12  # the largest class the app allows
RUN_TIMEOUT_S = 300.0


def numbers(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="fanout,class,relay")
    parser.add_argument("--fanout", type=numbers, default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--classes", type=numbers, default=[5, 8, 12])
    parser.add_argument(
        "--rooms", type=numbers, default=[8, 12], help="room runs: students beside the tutor"
    )
    parser.add_argument("--relay", type=numbers, default=[1, 2, 4])
    parser.add_argument(
        "--janus",
        default="el1",
        help="Janus baselines for the fanout and class runs: el1 (event_loops = 1), elN, "
        "default (Janus's own threading), comma-separated; empty: none",
    )
    parser.add_argument(
        "--links", type=numbers, default=[0, 1500, 500], help="budget: REMB kbit/s, 0: none"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured window")
    parser.add_argument(
        "--event-loop", choices=("uvloop", "asyncio"), default="uvloop", help="Kelas's loop"
    )
    parser.add_argument("--settle", type=float, default=3.0, help="after the last keyframe")
    parser.add_argument("--settle-budget", type=float, default=60.0, help="budget runs")
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument(
        "--keyframe-interval",
        type=float,
        default=None,
        help="seconds between the files' keyframes (default: 10 with replay, which answers "
        "keyframe requests; 1 with MediaPlayer, which cannot)",
    )
    parser.add_argument(
        "--player",
        choices=["replay", "mediaplayer"],
        default="replay",
        help="publish from memory (default) or with aiortc's MediaPlayer(decode=False)",
    )
    parser.add_argument(
        "--bots-path", choices=("lane", "aiortc"), default="lane",
        help="how the bots receive, whichever the server: Kelas's lane (C, at the socket; "
        "about 40 %% less CPU) or aiortc's own path",
    )  # fmt: skip
    parser.add_argument("--profile", default="", help="runs to profile, e.g. fanout-64,class-12")
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument(
        "--profile-native", action="store_true",
        help="with C frames (the native packet path, libsrtp, the kernel calls)",
    )  # fmt: skip
    parser.add_argument("--profile-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--max-others",
        type=float,
        default=15.0,
        help="wait before each window until other processes use less than this %% of a core",
    )
    parser.add_argument("--others-timeout", type=float, default=30.0)
    parser.add_argument(
        "--joins-at-once",
        type=int,
        default=1,
        help="Kelas runs: subscribers that join together (issue 11's goal: 8); Janus runs "
        "join one by one",
    )
    args = parser.parse_args(argv)
    if args.joins_at_once < 1:
        parser.error("--joins-at-once must be at least 1")
    kinds = {k.strip() for k in args.workloads.split(",") if k.strip()}
    if kinds - {"fanout", "class", "room", "relay", "budget", "speaking"}:
        parser.error(f"unknown workloads: {', '.join(sorted(kinds))}")
    args.kinds = kinds
    try:
        args.janus = [JanusConfig(j.strip()) for j in args.janus.split(",") if j.strip()]
    except ValueError as exc:
        parser.error(str(exc))
    if max(args.classes + args.rooms, default=0) > STUDENTS:
        parser.error(f"a class holds at most {STUDENTS} students")
    if args.keyframe_interval is None:
        args.keyframe_interval = MEDIA_SECONDS if args.player == "replay" else 1.0
    if args.profile and args.profile_dir is None:
        args.profile_dir = Path(tempfile.mkdtemp(prefix="sfu-profile-"))
    if args.profile_dir is not None:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    return args


def workloads(args: argparse.Namespace) -> list[Workload]:
    planned = [Workload("fanout", n) for n in args.fanout if "fanout" in args.kinds]
    planned += [Workload("class", n) for n in args.classes if "class" in args.kinds]
    planned += [Workload("room", n) for n in args.rooms if "room" in args.kinds]
    planned += [
        Workload(w.kind, w.size, server=janus.server)
        for janus in args.janus
        for w in planned
        if w.server == "kelas"
    ]
    if "budget" in args.kinds:
        planned += [Workload("budget", STUDENTS, link=1000 * k) for k in args.links]
    return planned + [Workload("relay", n) for n in args.relay if "relay" in args.kinds]


# -- the servers ------------------------------------------------------------------------


def kelas_env(
    folder: Path, port: int, database_url: str | None = None, event_loop: str = "uvloop"
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KELAS_") and k not in ("DATABASE_URL", "REDIS_URL", "PORT")
    }
    env.update(
        KELAS_DATA_DIR=str(folder),
        DATABASE_URL=database_url or f"sqlite+aiosqlite:///{folder / 'kelas.db'}",
        SECRET_KEY="sfu-benchmark",
        KELAS_HOST="127.0.0.1",
        PORT=str(port),
        KELAS_JOIN_BEFORE_MINUTES=str(24 * 60),
        # Every bench person logs in from 127.0.0.1, more than the per-address login burst.
        KELAS_LOGIN_PER_MINUTE="0",
        # ... and every bot joins from it too: 64 at once is a benchmark, not a flood.
        KELAS_LIVE_RATE_LIMITS="0",
        KELAS_EVENT_LOOP=event_loop,
        BENCH_GC_LOG=str(folder / "gc.log"),
        # The server runs this checkout's code, also from a git worktree (the virtualenv's
        # editable install points at the checkout it was made in).
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    )
    return env


async def start_kelas(
    folder: Path,
    observers: int,
    database_url: str | None = None,
    event_loop: str = "uvloop",
    students: int = STUDENTS,
    tutors: int = 1,
) -> tuple[ServerProcess, str]:
    """Kelas serving a new school (SQLite in ``folder`` unless ``database_url`` names an
    empty database) with its accounts made; its URL."""
    folder.mkdir()
    port = free_port()
    env = kelas_env(folder, port, database_url, event_loop)
    subprocess.run(
        [sys.executable, "-m", "web", "migrate"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    await live_school.create_accounts(env["DATABASE_URL"], students, observers, tutors)
    base_url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        [sys.executable, str(BENCH / "loopback.py"), "web", "serve"],
        env,
        folder / "server.log",
        base_url + "/api/v1/session",
    )
    await server.start()
    return server, base_url


async def start_relay(folder: Path, size: int) -> tuple[ServerProcess, str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        [sys.executable, str(BENCH / "relay_server.py"), "--port", str(port)],
        {**os.environ, "BENCH_GC_LOG": str(folder / f"relay-{size}-gc.log")},
        folder / f"relay-{size}.log",
        base_url + "/health",
    )
    await server.start()
    return server, base_url


# -- the runs ---------------------------------------------------------------------------


async def run_all(
    args: argparse.Namespace, folder: Path, options: Options
) -> tuple[list[Result], list[str], dict[str, float], dict[str, encoded_media.EncodedStream]]:
    results: list[Result] = []
    failures: list[str] = []
    phases: dict[str, float] = {}
    planned = workloads(args)
    started = time.perf_counter()
    if args.player == "mediaplayer":
        longest = options.seconds + options.settle + options.profile_seconds + 180  # per player
        streams = encoded_media.prepare(folder, MEDIA_SECONDS, args.keyframe_interval, longest)
        media = Media(streams, None)
    else:
        streams = encoded_media.prepare(folder, MEDIA_SECONDS, args.keyframe_interval)
        media = Media(streams, {n: Recording.load(s.path, s.seconds) for n, s in streams.items()})
    phases["encode the media once"] = time.perf_counter() - started
    kelas_runs = [w for w in planned if w.target == "kelas"]
    if kelas_runs:
        started = time.perf_counter()
        observers = max((w.size for w in kelas_runs if w.kind == "fanout"), default=0)
        server, base_url = await start_kelas(folder / "kelas", observers, None, args.event_loop)
        try:
            school = await live_school.open_school(base_url, STUDENTS, observers)
            lessons = [
                await live_school.new_class(school, w.size if w.kind != "fanout" else 0)
                for w in kelas_runs
            ]
            phases["start Kelas, make the school"] = time.perf_counter() - started
            for workload, lesson in zip(kelas_runs, lessons, strict=True):
                await one_run(
                    workload,
                    kelas_run(workload, school, lesson, media, server, options),
                    results,
                    failures,
                    phases,
                )
            phases["Kelas idle after all runs, CPU %"] = await idle_cpu(server.pid, 3.0)
        finally:
            server.stop()
            failures += log_problems(server)
    for janus in args.janus:
        runs = [w for w in planned if w.target == janus.server]
        if runs:
            await janus_runs(janus, runs, folder, media, options, results, failures, phases)
    for workload in (w for w in planned if w.kind == "relay"):
        relay, base_url = await start_relay(folder, workload.size)
        try:
            run = relay_run(workload, base_url, media, relay, options)
            await one_run(workload, run, results, failures, phases)
        finally:
            relay.stop()
    return results, failures, phases, streams


async def janus_runs(
    janus: JanusConfig,
    runs: list[Workload],
    folder: Path,
    media: Media,
    options: Options,
    results: list[Result],
    failures: list[str],
    phases: dict[str, float],
) -> None:
    """The Kelas runs again, each with the same bots in a room of one Janus process."""
    try:
        server, base_url = await start_janus(folder, janus)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        failures.append(f"{janus.server}: not started: {exc}")
        print(f"- {janus.server}: not started: {exc}", flush=True)
        return
    try:
        for room, workload in enumerate(runs, start=1000):
            run = janus_run(workload, base_url, room, media, server, options)
            await one_run(workload, run, results, failures, phases)
        phases[f"{janus.server} idle after all runs, CPU %"] = await idle_cpu(server.pid, 3.0)
    finally:
        server.stop()
        failures += [f"{janus.server} {problem}" for problem in janus_problems(server)]


JANUS_HARMLESS = (
    # A bot's long poll still on its way when the bot destroyed its session: Janus serves
    # each HTTP connection on its own thread, so the poll may be read after the destroy.
    "Couldn't find any session",
    # ... or an event for a session the bot has just destroyed, with nobody left to tell.
    "Can't notify event, no session object",
)


def janus_problems(server: ServerProcess) -> list[str]:
    """Errors Janus logged (its level 3 logs warnings too, which are expected)."""
    text = server.log.read_text(errors="replace") if server.log.exists() else ""
    bad = [
        line
        for line in text.splitlines()
        if line.startswith("[ERR]") and not any(h in line for h in JANUS_HARMLESS)
    ]
    return [f"log: {line[:200]}" for line in bad[:10]]


async def one_run(
    workload: Workload,
    run: Coroutine[Any, Any, Result],
    results: list[Result],
    failures: list[str],
    phases: dict[str, float],
) -> None:
    started = time.perf_counter()
    print(f"- {workload.name} ...", flush=True)
    try:
        result = await asyncio.wait_for(run, RUN_TIMEOUT_S)
    except Exception as exc:  # a failed run is reported, the others still run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        failures.append(
            f"{workload.name}: {type(exc).__name__}: {exc} "
            f"({Path(where.filename).name}:{where.lineno} {where.name})"
        )
        print(f"  FAILED: {exc!r}", flush=True)
        traceback.print_exc(limit=-4)
        return
    finally:
        phases[workload.name] = time.perf_counter() - started
    results.append(result)
    print(
        f"  server {result.server.percent:.0f} % of a core, {result.packets_per_s:,.0f} pkt/s, "
        f"{result.frames_pct:.2f} % frames; setup {result.setup_s:.1f} s",
        flush=True,
    )


def log_problems(server: ServerProcess) -> list[str]:
    """Errors and tracebacks the server logged."""
    text = server.log.read_text(errors="replace") if server.log.exists() else ""
    bad = [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]
    return [f"server log: {line[:200]}" for line in bad[:10]]


async def main_async(args: argparse.Namespace) -> int:
    if "speaking" in args.kinds:
        print("- speaking meter, in process ...", flush=True)
        speaking = sfu_speaking.speaking_table(await sfu_speaking.measure())
        if args.kinds == {"speaking"}:
            print()
            print(speaking)
            return 0
    restrict_ice_to_loopback()
    # The bots are aiortc peers: without this, aioice tries each of their SRTP packets as
    # STUN, and loses one whose sequence number equals its length less 20 (guard.py).
    install_ice_gate()
    options = Options(
        seconds=args.seconds,
        settle=args.settle,
        settle_budget=args.settle_budget,
        idle_seconds=args.idle_seconds,
        profile=frozenset(p.strip() for p in args.profile.split(",") if p.strip()),
        profile_seconds=args.profile_seconds,
        profile_native=args.profile_native,
        profile_dir=args.profile_dir,
        max_others=args.max_others,
        others_timeout=args.others_timeout,
        joins_at_once=args.joins_at_once,
        bots_lane=args.bots_path == "lane",
    )
    folder = Path(tempfile.mkdtemp(prefix="sfu-bench-"))
    started = time.perf_counter()
    try:
        results, failures, phases, streams = await run_all(args, folder, options)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(f"SFU benchmark, {os.cpu_count()} cores, window {args.seconds:.0f} s per run")
    print(media_summary(streams))
    print()
    print(main_table(results))
    print()
    print(details_table(results))
    print()
    print(diagnostics_table(results))
    if any(r.received for r in results):
        print()
        print("What each subscriber received under the downlink budget (kbit/s in the window):")
        print(budget_table(results))
    relay_rows, ratio_at_max, ratio_marginal = relay_table(results)
    print()
    print("CPU per subscriber, MediaRelay (decode + encode per subscriber) vs Kelas fan-out:")
    print(relay_rows)
    print()
    print(targets_table(results, ratio_at_max, ratio_marginal))
    if "speaking" in args.kinds:
        print()
        print(speaking)
    print()
    print(
        "Kelas against each baseline, case by case (figures only where every subscriber got a "
        f"keyframe and >= {DELIVERED} % of every publisher's frames; kelas/this: Kelas's "
        "figure divided by that server's):"
    )
    print(comparison_table(results))
    print()
    print("time taken:")
    for phase, seconds in phases.items():
        unit = "" if phase.endswith("%") else " s"
        print(f"  {phase}: {seconds:.1f}{unit}")
    print(f"  total: {time.perf_counter() - started:.0f} s")
    for result in results:
        if result.profile is not None:
            print()
            print(f"py-spy, server during {result.workload.name} ({result.profile}):")
            print(profile_summary.summary(result.profile))
    if failures:
        print()
        print("failures:")
        for failure in failures:
            print(f"  {failure}")
    return 1 if failures else 0


def main() -> int:
    # Every bot counts packets in place of aiortc's receive path (bots.counter), so its
    # receivers need no bitrate estimator; aiortc would build one per video receiver,
    # about 1 ms of this process's CPU each, which the join figures would then include.
    with lean_receivers():
        return asyncio.run(main_async(parse_args()))


if __name__ == "__main__":
    sys.exit(main())
