"""The live-class SFU under load: CPU, forwarded packets, delivery, latency and joins.

Run from the repository root (a full default run takes about 8-10 minutes):

    .venv/bin/python bench/sfu.py [--workloads fanout,class,relay] [--fanout 1,2,4,8,16,32,64]
        [--classes 5,8,12] [--relay 1,2,4] [--seconds 15] [--settle 3]
        [--profile fanout-64,class-12 --profile-dir /tmp/sfu-profiles] [--keep]

What it does:

1. Encodes, once, 10 s of a moving test pattern with PyAV into two WebM files, each with a
   VP8 and an Opus track: the tutor's camera (640x480, 30 fps, 1 Mbit/s) and a student's tile
   (320x240, 24 fps, 300 kbit/s), the app's own send plans (bench/encoded_media.py). The
   packets are repeated, not re-encoded, into files long enough for any run.
2. Starts Kelas as a separate process, ``python -m web serve`` (through bench/loopback.py,
   which keeps ICE on 127.0.0.1) on a fresh SQLite database after ``python -m web migrate``,
   with a coordinator, a tutor, 12 students and 64 observers (coordinators), and one class per
   run, made and booked through the JSON API (bench/live_school.py).
3. Runs the workloads. Bots are aiortc peers in this process (bench/bots.py) that join like
   the browser page: log in, Socket.IO to /class, ``hello``, one offer with the slot layout,
   ``media:offer``, ``media:state``. Publishers send their file with
   ``MediaPlayer(path, decode=False)`` (packets, never encoded); subscribers count packets in
   place of the receiver's RTP handler (never decoded).
   - ``fanout``: the tutor publishes to N observers, N in 1..64. A class holds at most 12
     students, so the subscribers are coordinators, who join as observers: they receive every
     publisher through the same slots and forwarding path as students and publish nothing,
     which makes the run a pure one-to-N measure of forwarding.
   - ``class``: the tutor (1 Mbit/s) and 5, 8 or 12 students (300 kbit/s) all publish audio and
     video, and everyone receives everyone else.
   - ``relay``: the baseline, aiortc's MediaRelay (decode once, encode per subscriber) in its
     own minimal server (bench/relay_server.py), the same publisher to N subscribers.
4. Each run: joins one by one, waits until every subscriber has a keyframe from every
   publisher, settles, then measures a window of --seconds.

Figures, all from the steady-state window:

- server CPU %: utime + stime of the server process (/proc/<pid>/stat, every thread) over
  the window, in % of one core. The bots' CPU is in another process and never counts; it is
  shown as "bench CPU %" (above ~90 % the bots, not the server, may be the bottleneck).
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
  (SRTP, Python, its queues); both paths share the bots' own delays. Not available for the
  relay (it re-encodes, so payloads differ).
- join->keyframe p50 / max: from a subscriber's offer to the first packet of a VP8 keyframe of
  each publisher that was already sending, over every such pair. It includes ICE, DTLS and
  waiting for a keyframe. The files have a keyframe every --keyframe-interval seconds and
  MediaPlayer cannot answer a keyframe request (PLI) the way a browser does, so this is an
  upper bound: up to one keyframe interval longer than with browsers.
- CPU/sub: server CPU % / subscribers, and the marginal cost of one more subscriber (slope of
  CPU % over N), for the relay and for Kelas at the same N; their ratio is how many times
  less CPU Kelas needs per subscriber.
- RTCP at publishers: the feedback the publishing bots received from the server in the
  window (receiver reports, NACK, PLI, REMB), per publisher and second.

--profile runs py-spy on the server for --profile-seconds after the window of the named runs
(so that sampling never disturbs the figures) and prints where the CPU went.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import encoded_media
import live_school
import profile_summary
from loopback import restrict_ice_to_loopback
from packet_log import percentile
from packet_replay import Recording
from server_process import ServerProcess, free_port
from sfu_workloads import Media, Options, Result, Workload, kelas_run, relay_run

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
MEDIA_SECONDS = 10.0
STUDENTS = 12  # the largest class the app allows
TARGET_CLASS_CPU = 70.0
TARGET_CLASS_FRAMES = 99.0
TARGET_US_PER_PACKET = 30.0
TARGET_RELAY_RATIO = 15.0
TARGET_ADDED_MS = 5.0


def numbers(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="fanout,class,relay")
    parser.add_argument("--fanout", type=numbers, default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--classes", type=numbers, default=[5, 8, 12])
    parser.add_argument("--relay", type=numbers, default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured window")
    parser.add_argument("--settle", type=float, default=3.0, help="after the last keyframe")
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument("--keyframe-interval", type=float, default=1.0)
    parser.add_argument(
        "--player",
        choices=["replay", "mediaplayer"],
        default="replay",
        help="publish from memory (default) or with aiortc's MediaPlayer(decode=False)",
    )
    parser.add_argument("--profile", default="", help="runs to profile, e.g. fanout-64,class-12")
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument("--profile-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--max-others",
        type=float,
        default=15.0,
        help="wait before each window until other processes use less than this %% of a core",
    )
    parser.add_argument("--others-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    kinds = {k.strip() for k in args.workloads.split(",") if k.strip()}
    if kinds - {"fanout", "class", "relay"}:
        parser.error(f"unknown workloads: {', '.join(sorted(kinds))}")
    args.kinds = kinds
    if max(args.classes, default=0) > STUDENTS:
        parser.error(f"a class holds at most {STUDENTS} students")
    if args.profile and args.profile_dir is None:
        args.profile_dir = Path(tempfile.mkdtemp(prefix="sfu-profile-"))
    return args


def workloads(args: argparse.Namespace) -> list[Workload]:
    planned = [Workload("fanout", n) for n in args.fanout if "fanout" in args.kinds]
    planned += [Workload("class", n) for n in args.classes if "class" in args.kinds]
    return planned + [Workload("relay", n) for n in args.relay if "relay" in args.kinds]


# -- the servers ------------------------------------------------------------------------


def kelas_env(folder: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KELAS_") and k not in ("DATABASE_URL", "REDIS_URL", "PORT")
    }
    env.update(
        KELAS_DATA_DIR=str(folder),
        DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'kelas.db'}",
        SECRET_KEY="sfu-benchmark",
        KELAS_HOST="127.0.0.1",
        PORT=str(port),
        KELAS_JOIN_BEFORE_MINUTES=str(24 * 60),
    )
    return env


async def start_kelas(folder: Path, observers: int) -> tuple[ServerProcess, str, str]:
    folder.mkdir()
    port = free_port()
    env = kelas_env(folder, port)
    subprocess.run(
        [sys.executable, "-m", "web", "migrate"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    await live_school.create_accounts(env["DATABASE_URL"], STUDENTS, observers)
    base_url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        [sys.executable, str(BENCH / "loopback.py"), "web", "serve"],
        env,
        folder / "server.log",
        base_url + "/api/v1/session",
    )
    await server.start()
    return server, base_url, env["DATABASE_URL"]


async def start_relay(folder: Path, size: int) -> tuple[ServerProcess, str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        [sys.executable, str(BENCH / "relay_server.py"), "--port", str(port)],
        dict(os.environ),
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
    kelas_runs = [w for w in planned if w.kind != "relay"]
    if kelas_runs:
        started = time.perf_counter()
        observers = max((w.size for w in kelas_runs if w.kind == "fanout"), default=0)
        server, base_url, _ = await start_kelas(folder / "kelas", observers)
        try:
            school = await live_school.open_school(base_url, STUDENTS, observers)
            lessons = [
                await live_school.new_class(school, w.size if w.kind == "class" else 0)
                for w in kelas_runs
            ]
            phases["start Kelas, make the school"] = time.perf_counter() - started
            for workload, lesson in zip(kelas_runs, lessons, strict=True):
                await one_run(
                    workload,
                    kelas_run(workload, school, lesson, media, server.pid, options),
                    results,
                    failures,
                    phases,
                )
            phases["Kelas idle after all runs, CPU %"] = await idle(server.pid)
        finally:
            server.stop()
            failures += log_problems(server)
    for workload in (w for w in planned if w.kind == "relay"):
        relay, base_url = await start_relay(folder, workload.size)
        try:
            run = relay_run(workload, base_url, media, relay.pid, options)
            await one_run(workload, run, results, failures, phases)
        finally:
            relay.stop()
    return results, failures, phases, streams


async def idle(pid: int) -> float:
    from sfu_workloads import idle_cpu

    return await idle_cpu(pid, 3.0)


async def one_run(
    workload: Workload,
    run: object,
    results: list[Result],
    failures: list[str],
    phases: dict[str, float],
) -> None:
    started = time.perf_counter()
    print(f"- {workload.name} ...", flush=True)
    try:
        result = await asyncio.wait_for(run, 300)  # type: ignore[arg-type]
    except Exception as exc:  # a failed run is reported, the others still run
        failures.append(f"{workload.name}: {type(exc).__name__}: {exc}")
        print(f"  FAILED: {exc!r}", flush=True)
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


# -- the tables -------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def f(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def main_table(results: list[Result]) -> str:
    rows = []
    for r in results:
        keyframes = r.join_keyframe
        kelas = r.workload.kind != "relay"
        rows.append(
            [
                r.workload.name,
                str(r.subscribers),
                f(r.server.percent),
                f(r.idle_cpu),
                f(r.packets_per_s, 0),
                f(r.us_per_packet),
                f(r.frames_pct, 2),
                f(r.added_ms(50)) if kelas else "n/a",
                f(r.added_ms(95)) if kelas else "n/a",
                f"{f(percentile(keyframes, 50), 2)} / {f(max(keyframes, default=math.nan), 2)}"
                + (f" ({r.keyframes_missing} none)" if r.keyframes_missing else ""),
                f(r.bots.percent, 0),
                f(r.other_cpu, 0),
            ]
        )
    headers = ["run", "subs", "server CPU %", "idle %", "fwd pkt/s", "µs/pkt", "frames %",
               "+lat p50 ms", "+lat p95 ms", "join->key p50/max s", "bench CPU %",
               "others %"]  # fmt: skip
    return table(headers, rows)


def details_table(results: list[Result]) -> str:
    rows = []
    for r in results:
        publishers = 1 if r.workload.kind != "class" else r.workload.size + 1
        per = r.server.wall * publishers
        rtcp = ", ".join(f"{k} {v / per:.1f}" for k, v in sorted(r.rtcp.items())) or "none"
        rows.append(
            [
                r.workload.name,
                f(r.publisher_packets / r.server.wall, 0),
                f"{r.frames_complete:,}/{r.frames_sent:,}",
                f(1000 * percentile(r.direct, 50), 2) if r.direct else "-",
                f"{r.server_drops}/{r.bench_drops}",
                f"{f(1000 * percentile(r.bench_lag, 99))}/{f(1000 * max(r.bench_lag, default=0))}",
                str(r.unmatched),
                f(r.setup_s),
                f(r.waited_s),
                f(r.quiet_s),
                f(r.total_s),
                rtcp,
            ]
        )
    headers = ["run", "sent pkt/s", "frames ok/sent", "direct p50 ms", "UDP drops srv/bench",
               "bench lag p99/max ms", "unmatched", "setup s", "waited s", "quiet s", "run s",
               "RTCP at publishers, per publisher per s"]  # fmt: skip
    return table(headers, rows)


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of CPU % over subscribers."""
    if len(points) < 2:
        return float("nan")
    mean_n = sum(n for n, _ in points) / len(points)
    mean_c = sum(c for _, c in points) / len(points)
    var = sum((n - mean_n) ** 2 for n, _ in points)
    return sum((n - mean_n) * (c - mean_c) for n, c in points) / var


def relay_table(results: list[Result]) -> tuple[str, float, float]:
    relay = {r.workload.size: r for r in results if r.workload.kind == "relay"}
    kelas = {r.workload.size: r for r in results if r.workload.kind == "fanout"}
    common = sorted(set(relay) & set(kelas))
    rows = []
    for n in common:
        rc, kc = relay[n].server.percent, kelas[n].server.percent
        rows.append(
            [
                str(n),
                f(rc),
                f(rc / n),
                f(relay[n].us_per_packet, 0),
                f(relay[n].frames_pct, 2),
                f(kc),
                f(kc / n),
                f((rc / n) / (kc / n)) + "x" if kc else "-",
            ]
        )
    relay_slope = slope([(n, relay[n].server.percent) for n in common])
    kelas_slope = slope([(n, kelas[n].server.percent) for n in common])
    at_max = (
        (relay[common[-1]].server.percent / kelas[common[-1]].server.percent)
        if common
        else math.nan
    )
    rows.append(
        ["+1 sub", "-", f(relay_slope), "-", "-", "-", f(kelas_slope),
         f(relay_slope / kelas_slope) + "x" if kelas_slope > 0 else "-"]
    )  # fmt: skip
    headers = ["subs", "relay CPU %", "relay %/sub", "relay µs/pkt", "relay frames %",
               "kelas CPU %", "kelas %/sub", "relay/kelas per sub"]  # fmt: skip
    marginal = relay_slope / kelas_slope if kelas_slope > 0 else math.nan
    return table(headers, rows), at_max, marginal


def targets_table(results: list[Result], ratio_at_max: float, ratio_marginal: float) -> str:
    by_slug = {r.workload.slug: r for r in results}
    big_class = max((r for r in results if r.workload.kind == "class"),
                    key=lambda r: r.workload.size, default=None)  # fmt: skip
    big_fanout = max((r for r in results if r.workload.kind == "fanout"),
                     key=lambda r: r.workload.size, default=None)  # fmt: skip
    rows: list[list[str]] = []

    def check(target: str, run: Result | None, value: float, ok: bool, shown: str) -> None:
        if run is None or math.isnan(value):
            rows.append([target, run.workload.name if run else "-", "-", "not run"])
        else:
            rows.append([target, run.workload.name, shown, "yes" if ok else "NO"])

    if big_class is not None:
        cpu, frames = big_class.server.percent, big_class.frames_pct
        check(f"class CPU <= {TARGET_CLASS_CPU:.0f} % of a core", big_class, cpu,
              cpu <= TARGET_CLASS_CPU, f"{cpu:.1f} %")  # fmt: skip
        check(f"class frames >= {TARGET_CLASS_FRAMES:.0f} %", big_class, frames,
              frames >= TARGET_CLASS_FRAMES, f"{frames:.2f} %")  # fmt: skip
    for run in (big_fanout, big_class):
        if run is not None:
            us = run.us_per_packet
            check(f"<= {TARGET_US_PER_PACKET:.0f} µs CPU per forwarded packet", run, us,
                  us <= TARGET_US_PER_PACKET, f"{us:.1f} µs")  # fmt: skip
    relay_max = max((r for r in results if r.workload.kind == "relay"),
                    key=lambda r: r.workload.size, default=None)  # fmt: skip
    for label, ratio in (("at the largest N", ratio_at_max), ("marginal", ratio_marginal)):
        check(f">= {TARGET_RELAY_RATIO:.0f}x less CPU/sub than MediaRelay ({label})",
              relay_max, ratio, ratio >= TARGET_RELAY_RATIO, f"{ratio:.1f}x")  # fmt: skip
    for run in (big_fanout, big_class):
        if run is not None:
            added = run.added_ms(50)
            check(f"<= {TARGET_ADDED_MS:.0f} ms added latency p50", run, added,
                  added <= TARGET_ADDED_MS, f"{added:.2f} ms")  # fmt: skip
    del by_slug
    return table(["target", "run", "measured", "met"], rows)


def media_summary(streams: dict[str, encoded_media.EncodedStream]) -> str:
    lines = []
    for s in streams.values():
        plan = s.plan
        lines.append(
            f"  {s.name}: {plan.width}x{plan.height} {plan.framerate} fps VP8 "
            f"{s.video_kbits:.0f} kbit/s, keyframe every {s.keyframe_interval:.1f} s, "
            f"Opus {encoded_media.AUDIO_BITRATE // 1000} kbit/s 20 ms"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    restrict_ice_to_loopback()
    options = Options(
        seconds=args.seconds,
        settle=args.settle,
        idle_seconds=args.idle_seconds,
        profile=frozenset(p.strip() for p in args.profile.split(",") if p.strip()),
        profile_seconds=args.profile_seconds,
        profile_dir=args.profile_dir,
        max_others=args.max_others,
        others_timeout=args.others_timeout,
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
    relay_rows, ratio_at_max, ratio_marginal = relay_table(results)
    print()
    print("CPU per subscriber, MediaRelay (decode + encode per subscriber) vs Kelas fan-out:")
    print(relay_rows)
    print()
    print(targets_table(results, ratio_at_max, ratio_marginal))
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
    return asyncio.run(main_async(parse_args()))


if __name__ == "__main__":
    sys.exit(main())
