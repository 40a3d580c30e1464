"""What the speaking meter costs per audio packet (bench/sfu.py ``--workloads speaking``).

An in-process micro-run, no server and no network: a class of a tutor and 12 students in a
``Room``, and the tutor's audio ``Source`` built by the SFU itself (``Sfu._source``: the same
level callback as in a class). Audio packets with the RFC 6464 level extension go through
``Source.on_rtp`` (the receive path, without slots to forward to: the forwarding itself is
what the other workloads measure) three ways, each the best of several rounds, in CPU time
of this process (``time.process_time``: a busy machine slows the wall clock, not this):

- without level: ``on_level`` unset, the baseline measured in the same run;
- quiet: a level under the speech threshold (what a silent open microphone sends);
- speech: a loud level: the speaking indicator and the meter's ``loud``, on their usual path.

The meter's share is "speech" minus the same path with the meter taken out (a ``Meter``
subclass whose ``loud`` does nothing), and ``Meter.loud`` alone; ``Meter.tick`` (about twice a
second per class) is shown per call and spread over the packets a class of 13 sends meanwhile.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiortc.rtp import RtpPacket

from classroom.live import Admission, LiveRole
from classroom.room_state import KeptRoom
from signaling.media.sfu import Sfu
from signaling.room import Room
from signaling.speaking import Meter

PACKETS = 50_000
ROUNDS = 9
STUDENTS = 12
TICK_S = 0.4
PACKETS_PER_S = 50  # Opus, 20 ms a packet


class _Deaf(Meter):
    def loud(self, user_id: int, now: float, timestamp: int) -> None:
        return None


def _admission(user_id: int) -> Admission:
    now = datetime.now(UTC)
    return Admission(
        lesson_id=1,
        user_id=user_id,
        name=f"Person {user_id}",
        role=LiveRole.TUTOR if user_id == 1 else LiveRole.STUDENT,
        topic="bench",
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        capacity=STUDENTS,
        tutor_name="Person 1",
        tutor_id=1,
    )


def _room() -> Room:
    room = Room.restored(_admission(1), KeptRoom())
    for user_id in range(1, STUDENTS + 2):
        person, _ = room.join(_admission(user_id), f"sid-{user_id}")
        person.mic = True
        role = person.role
        room.meter.arrive(user_id, role == LiveRole.TUTOR, time.monotonic())
    return room


def _packets(level: int | None) -> list[RtpPacket]:
    packets = []
    for n in range(PACKETS):
        packet = RtpPacket(payload_type=111, sequence_number=n % 65536, timestamp=n * 960)
        packet.ssrc = 1234
        packet.payload = bytes(60)
        if level is not None:
            packet.extensions.audio_level = (True, level)
        packets.append(packet)
    return packets


async def _through(sfu: Sfu, room: Room, level: int, with_level: bool) -> float:
    """Seconds for PACKETS packets through ``Source.on_rtp``, once."""
    source = sfu._source(room, 1, "audio")
    source.forwarding = True
    if not with_level:
        source.on_level = None
    packets = _packets(level)
    started = time.process_time()
    for packet in packets:
        source.on_rtp(packet)
    return time.process_time() - started


async def _interleaved(sfu: Sfu, room: Room) -> dict[str, float]:
    """µs per packet of each way, the best of ``ROUNDS``, the ways taking turns in each
    round so that the machine's other work weighs on each alike."""
    meter, deaf = room.meter, _Deaf()
    deaf.arrive(1, True, time.monotonic())
    ways = {
        "audio packet, no level callback (baseline)": (meter, 30, False),
        "audio packet, quiet level": (meter, 100, True),
        "audio packet, speech level": (meter, 30, True),
        "audio packet, speech level, meter taken out": (deaf, 30, True),
    }
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(ROUNDS):
        for what, (used, level, with_level) in ways.items():
            room.meter = used
            best[what] = min(best[what], await _through(sfu, room, level, with_level))
    room.meter = meter
    return {what: seconds / PACKETS * 1e6 for what, seconds in best.items()}


def _per_call(work: Callable[[], None], calls: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(calls):
            work()
        best = min(best, time.process_time() - started)
    return best / calls * 1e6


async def measure() -> list[tuple[str, float]]:
    """(what, µs) rows."""
    sfu = Sfu([])
    room = _room()
    gc.disable()
    try:
        rows = list((await _interleaved(sfu, room)).items())
        meter = room.meter
        clock = [time.monotonic()]

        def loud() -> None:
            clock[0] += 0.02
            meter.loud(1, clock[0], round(clock[0] * 48_000) & 0xFFFFFFFF)

        rows.append(("Meter.loud alone (speech under way)", _per_call(loud, PACKETS)))
        tick = _per_call(lambda: meter.tick(time.monotonic()), 2000)
        rows.append((f"Meter.tick, class of {STUDENTS + 1} (per call)", tick))
        per_tick = (STUDENTS + 1) * PACKETS_PER_S * TICK_S
        rows.append(("Meter.tick spread over the packets meanwhile", tick / per_tick))
    finally:
        gc.enable()
        await sfu.close()
    return rows


def speaking_table(rows: list[tuple[str, float]]) -> str:
    from sfu_report import table

    values = dict(rows)
    added = (
        values["audio packet, speech level"] - values["audio packet, speech level, meter taken out"]
    )
    lines = [(what, f"{us:.3f}") for what, us in rows]
    lines.append(("the meter adds per speech packet (speech - taken out)", f"{added:.3f}"))
    return table(["speaking meter, in process", "µs"], lines, left=1)


if __name__ == "__main__":
    print(speaking_table(asyncio.run(measure())))
