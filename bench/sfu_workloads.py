"""One run of the SFU benchmark: bring the peers up, wait for a steady state, measure one
window, tear everything down. See bench/sfu.py for what the figures mean."""

from __future__ import annotations

import asyncio
import collections
import gc
import math
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bots import Camera, ClassBot, DirectPair, RelayBot
from encoded_media import EncodedStream
from gc_pauses import Pauses, between
from live_school import LiveSchool
from packet_log import Reception, SentLog, Window, percentile
from packet_replay import Recording
from server_process import (
    CpuMeter,
    ServerProcess,
    cpu_seconds,
    machine_busy_seconds,
    rss_bytes,
    udp_drops,
)

DELIVERED = 99.9  # % of frames every subscriber must get of every publisher (see Result)
GRACE_S = 1.0  # after the window, for the last frames' packets still on their way
KEYFRAME_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 30.0
QUIET_CPU = 3.0  # % of a core: below this for a second, the server has finished a teardown
QUIET_TIMEOUT_S = 60.0
LAG_TICK_S = 0.005

Kind = Literal["fanout", "class", "room", "budget", "relay"]


@dataclass(frozen=True)
class Workload:
    kind: Kind
    size: int  # subscribers (fanout, relay) or students (class, budget)
    link: int = 0  # budget: the REMB every subscriber sends, bits/s (0: none)
    server: str = "kelas"  # or a Janus baseline (fanout, class): "janus-el1", "janus-default"

    @property
    def name(self) -> str:
        link = f"{self.link / 1e6:g} Mbit/s" if self.link else "no limit"
        return {
            "fanout": f"{self.server} 1->{self.size}",
            "class": f"{self.server} class 1+{self.size}",
            "room": f"{self.server} room 1+{self.size}",
            "budget": f"{self.server} budget 1+{self.size}, {link}",
            "relay": f"relay 1->{self.size}",
        }[self.kind]

    @property
    def slug(self) -> str:
        slug = f"{self.kind}-{self.size}" + (f"-{self.link // 1000}k" if self.link else "")
        return slug if self.server == "kelas" else f"{self.server}-{slug}"

    @property
    def target(self) -> str:
        """Who serves it: "kelas", "relay" or a Janus baseline."""
        return "relay" if self.kind == "relay" else self.server

    @property
    def case(self) -> tuple[str, int, int]:
        """What every target is compared on: the relay's runs are fan-outs too."""
        return ("fanout" if self.kind == "relay" else self.kind, self.size, self.link)


@dataclass(frozen=True)
class Received:
    """What one subscriber received in the window (budget runs)."""

    who: str
    wire_kbits: float  # every datagram, SRTP and RTCP included
    audio_kbits: float  # RTP of audio (12-byte header and payload)
    video_kbits: float
    shown: int  # videos the server says it sends at the end of the window
    paused: int


@dataclass(frozen=True)
class Media:
    """The prepared streams, and how publishers play them."""

    streams: dict[str, EncodedStream]
    recordings: dict[str, Recording] | None  # None: aiortc's MediaPlayer plays the files

    def camera(self, name: str, copies: int = 1) -> Camera:
        recording = self.recordings[name] if self.recordings is not None else None
        return Camera(self.streams[name], recording, copies)


@dataclass(frozen=True)
class Options:
    seconds: float
    settle: float
    settle_budget: float  # budget runs with a link: what shows needs time to settle
    idle_seconds: float
    profile: frozenset[str]  # workload slugs to profile with py-spy after their window
    profile_seconds: float
    profile_dir: Path | None
    profile_native: bool  # C frames too (py-spy --native: it stops the process to look)
    max_others: float  # % of a core other processes may use before a window starts
    others_timeout: float
    joins_at_once: int = 1  # Kelas runs: bots that join together, each batch after the last
    bots_lane: bool = True  # the bots receive through Kelas's lane (bots.ClassBot), any server


@dataclass
class Result:
    workload: Workload
    subscribers: int
    server: CpuMeter
    bots: CpuMeter
    idle_cpu: float
    rss: int = 0  # the server's resident memory at the end of the window, bytes
    packets: int = 0
    publisher_packets: int = 0
    frames_complete: int = 0
    frames_sent: int = 0
    frames_worst: float = float("nan")  # % of frames delivered, the worst (subscriber, publisher)
    latencies: list[float] = field(default_factory=list)
    direct: list[float] = field(default_factory=list)
    join_keyframe: list[float] = field(default_factory=list)
    join_connected: list[float] = field(default_factory=list)
    keyframes_missing: int = 0
    unmatched: int = 0
    rtcp: collections.Counter[str] = field(default_factory=collections.Counter)
    setup_s: float = 0.0
    total_s: float = 0.0
    quiet_s: float = float("nan")  # after the bots left, until the server was idle again
    other_cpu: float = 0.0  # % of a core used by other processes on the machine in the window
    waited_s: float = 0.0  # for the other processes to calm down before the window
    setup_plis: int = 0  # keyframe requests the publishers got before the window
    server_drops: int = 0  # datagrams dropped on full sockets, in the window
    bench_drops: int = 0
    bench_lag: list[float] = field(default_factory=list)  # event-loop lateness in the window
    profile: Path | None = None
    gc: Pauses | None = None  # the server's collector pauses in the window
    received: list[Received] = field(default_factory=list)  # per subscriber (budget runs)

    @property
    def packets_per_s(self) -> float:
        return self.packets / self.server.wall

    @property
    def us_per_packet(self) -> float:
        return 1e6 * self.server.cpu / self.packets if self.packets else float("nan")

    @property
    def frames_pct(self) -> float:
        return 100 * self.frames_complete / self.frames_sent if self.frames_sent else float("nan")

    def note_frames(self, complete: int, sent: int) -> None:
        """One (subscriber, publisher) pair's frames: keep the worst delivery."""
        pct = 100 * complete / sent if sent else 0.0
        self.frames_worst = pct if math.isnan(self.frames_worst) else min(self.frames_worst, pct)

    @property
    def delivered(self) -> bool:
        """Every subscriber had a keyframe of every publisher and got at least
        DELIVERED % of each one's frames: only then are a run's figures comparable."""
        return self.keyframes_missing == 0 and self.frames_worst >= DELIVERED

    def added_ms(self, q: float) -> float:
        """Latency percentile through the server minus the direct path's median."""
        if not self.latencies or not self.direct:
            return float("nan")
        return 1000 * (percentile(self.latencies, q) - percentile(self.direct, 50))


async def idle_cpu(pid: int, seconds: float) -> float:
    meter = CpuMeter(pid)
    meter.start()
    await asyncio.sleep(seconds)
    return meter.stop()


async def wait_quiet(pid: int) -> float:
    """Seconds until the server's CPU stays below QUIET_CPU for a second."""
    started = time.perf_counter()
    while time.perf_counter() - started < QUIET_TIMEOUT_S:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        if 100 * (cpu_seconds(pid) - before) < QUIET_CPU:
            return time.perf_counter() - started - 1.0
    return float("nan")


async def others_quiet(server_pid: int, threshold: float, timeout: float) -> float:
    """Wait (at most ``timeout``) until other processes on the machine use less than
    ``threshold`` % of a core over a second; the seconds waited."""
    started = time.perf_counter()
    pids = (server_pid, os.getpid())
    while time.perf_counter() - started < timeout:
        busy, own = machine_busy_seconds(), sum(cpu_seconds(p) for p in pids)
        await asyncio.sleep(1.0)
        others = machine_busy_seconds() - busy - (sum(cpu_seconds(p) for p in pids) - own)
        if 100 * others < threshold:
            break
    return time.perf_counter() - started


async def loop_lag(window: Window, lags: list[float]) -> None:
    """How late this process's event loop wakes up: the bots' own delay, for the record."""
    while not window.counting:
        await asyncio.sleep(LAG_TICK_S)
    while window.counting:
        due = time.perf_counter() + LAG_TICK_S
        await asyncio.sleep(LAG_TICK_S)
        lags.append(time.perf_counter() - due)


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout:.0f} s")
        await asyncio.sleep(0.05)


async def close_all(closers: Sequence[Callable[[], Awaitable[None]]]) -> None:
    """Close every peer; problems are printed, never raised (a failed run's own error is
    the one worth seeing)."""
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(close() for close in closers), return_exceptions=True),
            CLOSE_TIMEOUT_S,
        )
    except TimeoutError:
        print(f"  (closing {len(closers)} peers took more than {CLOSE_TIMEOUT_S:.0f} s)")
        return
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, ConnectionError):
            print(f"  (closing a peer failed: {result!r})")


async def measure(
    result: Result,
    window: Window,
    logs: Sequence[SentLog],
    options: Options,
    server: ServerProcess,
) -> None:
    """The steady-state window: server and bench CPU, and the publishers' packets."""
    server_pid = server.pid
    limited = result.workload.kind == "budget" and result.workload.link
    await asyncio.sleep(options.settle_budget if limited else options.settle)
    result.waited_s = await others_quiet(server_pid, options.max_others, options.others_timeout)
    rtcp_before = sum((log.rtcp for log in logs), collections.Counter[str]())
    result.setup_plis = rtcp_before["PLI"] + rtcp_before["FIR"]
    sent_before = sum(log.packets_sent for log in logs)
    # A full collection in this process takes ~0.2 s with so many peers alive: long enough
    # to overflow the bots' sockets. Collect now and keep the window free of it (the
    # bots' garbage is freed by reference counting; cycles wait until the window ends).
    gc.collect()
    gc.freeze()
    gc.disable()
    drops = udp_drops(server_pid), udp_drops(os.getpid())
    lag = asyncio.get_running_loop().create_task(loop_lag(window, result.bench_lag))
    busy = machine_busy_seconds()
    result.server.start()
    result.bots.start()
    window.start, window.counting, window.matching = time.perf_counter(), True, True
    await asyncio.sleep(options.seconds)
    window.end, window.counting = time.perf_counter(), False
    result.server.stop()
    result.bots.stop()
    result.rss = rss_bytes(server_pid)
    others = machine_busy_seconds() - busy - result.server.cpu - result.bots.cpu
    result.other_cpu = max(0.0, 100 * others / result.server.wall)
    result.publisher_packets = sum(log.packets_sent for log in logs) - sent_before
    result.rtcp = sum((log.rtcp for log in logs), collections.Counter[str]()) - rtcp_before
    await asyncio.sleep(GRACE_S)
    window.matching = False
    gc.enable()
    gc.unfreeze()
    await asyncio.wait_for(lag, 1.0)
    if server.gc_log is not None:
        result.gc = between(server.gc_log, window.start, window.end)
    result.server_drops = udp_drops(server_pid) - drops[0]
    result.bench_drops = udp_drops(os.getpid()) - drops[1]
    if result.workload.slug in options.profile and options.profile_dir is not None:
        result.profile = await py_spy(server_pid, result.workload.slug, options)


async def py_spy(pid: int, slug: str, options: Options) -> Path:
    """Sample the server's stacks while the same load goes on (after the measured window,
    so the sampling does not disturb the figures)."""
    assert options.profile_dir is not None
    out = options.profile_dir / f"{slug}.txt"
    log = options.profile_dir / f"{slug}.log"
    with log.open("wb") as messages:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                *(("--native",) if options.profile_native else ("--nonblocking",)),
                # --native unwinds C stacks, slowly: at 50 Hz py-spy 0.4 fell behind here
                *("--format", "raw", "--rate", "20" if options.profile_native else "50"),
                *("-d", str(int(options.profile_seconds)), "-o", str(out), "--pid", str(pid)),
            ],
            stdout=messages,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + options.profile_seconds + 30
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    if process.poll() is None:
        process.kill()
        process.wait(5)
    if process.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed: {log.read_text(errors='replace')[-500:]}")
    return out


def keyframe_delays(result: Result, pairs: list[tuple[Reception, int]], logs: Any) -> None:
    """Join (offer sent) to first keyframe, for every subscriber joining a publisher that
    was already sending."""
    for reception in {id(r): r for r, _ in pairs}.values():
        if reception.connected_at is not None:
            result.join_connected.append(reception.connected_at - reception.joined_at)
    for reception, publisher in pairs:
        log = logs.get(publisher)
        if log is None or log.first_sent is None or log.first_sent > reception.joined_at:
            continue
        arrived = reception.first_keyframe.get(publisher)
        if arrived is None:
            result.keyframes_missing += 1
        else:
            result.join_keyframe.append(arrived - reception.joined_at)


async def kelas_run(
    workload: Workload,
    school: LiveSchool,
    lesson_id: int,
    media: Media,
    server: ServerProcess,
    options: Options,
) -> Result:
    """A fan-out (the tutor to N observers) or a full class (everyone to everyone)."""
    window = Window()
    logs: dict[int, SentLog] = {}
    started = time.perf_counter()
    result = Result(
        workload,
        workload.size if workload.kind == "fanout" else workload.size + 1,
        CpuMeter(server.pid),
        CpuMeter(os.getpid()),
        await idle_cpu(server.pid, options.idle_seconds),
    )
    budget = workload.kind == "budget"
    people = school.observers if workload.kind == "fanout" else school.students
    if len(people) < workload.size:
        raise ValueError(f"{workload.name} needs {workload.size} accounts")

    def bot(person: Any) -> ClassBot:
        return ClassBot(
            person.user_id, person.cookie, school.base_url, window, lane=options.bots_lane
        )

    tutor = bot(school.tutor)
    bots = [tutor]
    pairs: list[tuple[Reception, int]] = []
    direct = DirectPair(school.tutor.user_id, window)
    try:
        camera = media.camera("large", copies=2)
        await tutor.join(lesson_id)
        await tutor.publish(camera, logs)
        await direct.connect(camera)

        async def enter(member: ClassBot) -> None:
            await member.join(lesson_id)
            small = None
            if workload.kind != "fanout":  # a room: everyone sends what the tutor sends
                small = media.camera("large" if workload.kind == "room" else "small")
            # In a budget run only the tutor speaks; the students' microphones are on and
            # silent, which Opus DTX makes nearly free.
            await member.publish(small, logs, quiet=budget)

        members = [bot(person) for person in people[: workload.size]]
        bots += members
        for first in range(0, len(members), options.joins_at_once):
            await asyncio.gather(*map(enter, members[first : first + options.joins_at_once]))
        subscribers = bots[1:] if workload.kind == "fanout" else bots
        if budget and workload.link:
            for member in subscribers:
                member.estimate(workload.link)

        def shown_pairs() -> list[tuple[Reception, int]]:
            """Every (subscriber, publisher) whose video the server sends, by what it told
            that subscriber (media:slots): in a class of more than last-N + 2, a student
            does not get every other student's camera, and in a budget run the link pauses
            more."""
            return [
                (s.reception, p.user_id)
                for s in subscribers
                for p in bots
                if p is not s and p.user_id in logs and p.user_id in s.shown()
            ]

        def missing() -> int:
            """Subscriptions still without a keyframe: any that the server sends (once it
            has given every subscriber a slot for every publisher, paused or not)."""
            laid_out = sum(
                p.user_id not in s.layout.values()
                for s in subscribers
                for p in bots
                if p is not s and p.user_id in logs
            )
            return laid_out + sum(p not in r.first_keyframe for r, p in shown_pairs())

        await until(
            lambda: missing() == 0 and bool(direct.reception.first_keyframe),
            KEYFRAME_TIMEOUT_S,
            f"{missing()} subscriptions without a keyframe",
        )
        result.setup_s = time.perf_counter() - started
        await measure(result, window, [logs[p] for p in logs], options, server)
        pairs = shown_pairs()
        if budget:
            result.received = [received(member, bots[0], window) for member in subscribers]
    finally:
        await close_all([b.close for b in bots] + [direct.close])
        result.quiet_s = await wait_quiet(server.pid)
    tally(result, pairs, [m.reception for m in subscribers], logs, direct)
    result.total_s = time.perf_counter() - started
    return result


def tally(
    result: Result,
    pairs: list[tuple[Reception, int]],
    receptions: Sequence[Reception],
    logs: dict[int, SentLog],
    direct: DirectPair,
) -> None:
    """The window's figures from what each subscriber received of each publisher."""
    for reception, publisher in pairs:
        complete, sent = reception.frames_complete(publisher, logs[publisher])
        result.frames_complete += complete
        result.frames_sent += sent
        result.note_frames(complete, sent)
    for reception in receptions:
        result.packets += reception.packets
        result.latencies += reception.latencies
        result.unmatched += reception.unmatched
    result.direct = direct.reception.latencies
    keyframe_delays(result, pairs, logs)


def received(member: ClassBot, tutor: ClassBot, window: Window) -> Received:
    kbits = 8 / window.seconds / 1000
    reception = member.reception
    return Received(
        who="tutor" if member is tutor else f"student {member.user_id}",
        wire_kbits=reception.wire_bytes * kbits,
        audio_kbits=reception.audio_bytes * kbits,
        video_kbits=reception.video_bytes * kbits,
        shown=len(member.shown()),
        paused=len(member.paused),
    )


async def relay_run(
    workload: Workload, base_url: str, media: Media, server: ServerProcess, options: Options
) -> Result:
    """The baseline: one publisher to N subscribers through aiortc's MediaRelay."""
    window = Window()
    started = time.perf_counter()
    result = Result(
        workload,
        workload.size,
        CpuMeter(server.pid),
        CpuMeter(os.getpid()),
        await idle_cpu(server.pid, options.idle_seconds),
    )
    publisher = RelayBot(base_url, window)
    subscribers = [RelayBot(base_url, window) for _ in range(workload.size)]
    try:
        await publisher.publish(media.camera("large"))
        for subscriber in subscribers:
            await subscriber.subscribe()
        await until(
            lambda: all(s.reception.first_keyframe for s in subscribers),
            KEYFRAME_TIMEOUT_S,
            "relay subscriptions without a keyframe",
        )
        result.setup_s = time.perf_counter() - started
        await measure(result, window, [publisher.sent], options, server)
    finally:
        await close_all([b.close for b in [publisher, *subscribers]])
    sent = len(publisher.sent.frames_between(window.start, window.end))
    for subscriber in subscribers:
        result.packets += subscriber.reception.packets
        result.frames_complete += min(subscriber.reception.marker_frames, sent)
        result.frames_sent += sent
        result.note_frames(min(subscriber.reception.marker_frames, sent), sent)
        if subscriber.reception.connected_at is not None:
            result.join_connected.append(
                subscriber.reception.connected_at - subscriber.reception.joined_at
            )
        arrived = subscriber.reception.first_keyframe.get(RelayBot.PUBLISHER)
        if arrived is None:
            result.keyframes_missing += 1
        else:
            result.join_keyframe.append(arrived - subscriber.reception.joined_at)
    result.total_s = time.perf_counter() - started
    return result
