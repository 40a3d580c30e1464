"""One run of the SFU benchmark against Janus (bench/janus_server.py, bench/janus_bots.py):
the same workloads, media, counting and window as the Kelas runs (bench/sfu_workloads.py).

- ``fanout``: the tutor's bot publishes the 640x480 stream; N bots subscribe to it.
- ``class``: the tutor (640x480, 1 Mbit/s) and N students (320x240, 300 kbit/s) publish, one
  after the other; then each of them subscribes to everyone else, on one peer connection.

Join to keyframe runs from a subscriber's ``join`` request (Janus then offers) to the first
packet of a keyframe of each publisher, as it runs from the offer for a Kelas bot.
"""

from __future__ import annotations

import os
import time

from bots import DirectPair
from janus_bots import JanusBot, create_room
from packet_log import SentLog, Window
from server_process import CpuMeter, ServerProcess
from sfu_workloads import (
    KEYFRAME_TIMEOUT_S,
    Media,
    Options,
    Result,
    Workload,
    close_all,
    idle_cpu,
    measure,
    tally,
    until,
    wait_quiet,
)

TUTOR = 1  # feed ids: the tutor's, then the others' (Janus reads 0 as "choose one")


async def janus_run(
    workload: Workload,
    base_url: str,
    room: int,
    media: Media,
    server: ServerProcess,
    options: Options,
) -> Result:
    fanout = workload.kind == "fanout"
    window = Window()
    logs: dict[int, SentLog] = {}
    started = time.perf_counter()
    result = Result(
        workload,
        workload.size if fanout else workload.size + 1,
        CpuMeter(server.pid),
        CpuMeter(os.getpid()),
        await idle_cpu(server.pid, options.idle_seconds),
    )
    await create_room(base_url, room, publishers=workload.size + 1)
    lane = options.bots_lane
    tutor = JanusBot(TUTOR, base_url, window, lane)
    members = [JanusBot(TUTOR + 1 + n, base_url, window, lane) for n in range(workload.size)]
    bots = [tutor, *members]
    publishers, subscribers = ([tutor], members) if fanout else (bots, bots)
    direct = DirectPair(TUTOR, window)
    pairs = [(s.reception, p.user_id) for s in subscribers for p in publishers if p is not s]
    try:
        camera = media.camera("large", copies=2)
        await tutor.publish(room, camera, logs)
        await direct.connect(camera)
        for member in publishers[1:]:
            size = "large" if workload.kind == "room" else "small"
            await member.publish(room, media.camera(size), logs)
        for subscriber in subscribers:
            await subscriber.subscribe(room, [p for p in logs if p != subscriber.user_id], logs)

        def missing() -> int:
            return sum(p not in r.first_keyframe for r, p in pairs)

        await until(
            lambda: missing() == 0 and bool(direct.reception.first_keyframe),
            KEYFRAME_TIMEOUT_S,
            f"{missing()} subscriptions without a keyframe",
        )
        result.setup_s = time.perf_counter() - started
        await measure(result, window, list(logs.values()), options, server)
    finally:
        await close_all([b.close for b in bots] + [direct.close])
        result.quiet_s = await wait_quiet(server.pid)
    tally(result, pairs, [s.reception for s in subscribers], logs, direct)
    result.total_s = time.perf_counter() - started
    return result
