"""Pure media logic, table-driven: slot assignment, renumbering, VP8 keyframe detection."""

from __future__ import annotations

from typing import Any

import pytest

from signaling.media.forwarding import vp8_keyframe_start
from signaling.media.layout import assign_slots
from signaling.media.native import ffi, lib

SLOTS = [
    # current, publishers (tutor first), me, count -> expected
    ({}, [1, 2, 3], 2, 4, {0: 1, 1: 3}),
    ({}, [1, 2, 3], 1, 4, {0: 2, 1: 3}),
    ({0: 1, 1: 3}, [1, 3], 2, 4, {0: 1, 1: 3}),  # nobody moves
    ({0: 1, 1: 3}, [1, 3, 4], 2, 4, {0: 1, 1: 3, 2: 4}),  # a newcomer takes the next slot
    ({0: 1, 1: 3, 2: 4}, [1, 4], 2, 4, {0: 1, 2: 4}),  # 3 leaves: 4 keeps slot 2
    ({0: 1, 2: 4}, [1, 4, 5], 2, 4, {0: 1, 1: 5, 2: 4}),  # the freed slot is reused
    ({}, [1, 2, 3, 4], 9, 2, {0: 1, 1: 2}),  # more publishers than slots
    ({0: 1, 1: 2}, [1, 3, 4], 9, 2, {0: 1, 1: 3}),  # a slot frees up for the next
    ({5: 1}, [1], 9, 2, {0: 1}),  # an index beyond the slots is dropped
    ({0: 2}, [2], 2, 2, {}),  # never oneself
    ({}, [], 1, 3, {}),
]


@pytest.mark.parametrize(("current", "publishers", "me", "count", "expected"), SLOTS)
def test_slot_assignment(
    current: dict[int, int], publishers: list[int], me: int, count: int, expected: dict[int, int]
) -> None:
    assert assign_slots(current, publishers, me, count) == expected


def slot(clock_rate: int) -> Any:
    """A slot's state in C, which renumbers (native/fanout.c, kl_map)."""
    core = ffi.gc(lib.kl_slot_new(), lib.kl_slot_free)
    core.clock_rate = clock_rate
    return core


def run(core: Any, packets: list[tuple[int, int, float]]) -> list[tuple[int, int] | None]:
    seq_out, ts_out = ffi.new("uint16_t *"), ffi.new("uint32_t *")
    return [
        (seq_out[0], ts_out[0]) if lib.kl_map(core, seq, ts, at, seq_out, ts_out) else None
        for seq, ts, at in packets
    ]


RENUMBERING = [
    # the first source starts the slot at 0 and timestamp 1
    ([(1000, 5000, 0.0), (1001, 5960, 0.02)], [(0, 1), (1, 961)]),
    # sequence numbers wrap at 2^16, timestamps at 2^32, with no jump in the output
    ([(65535, 2**32 - 10, 0.0), (0, 950, 0.02), (1, 1910, 0.04)],
     [(0, 1), (1, 961), (2, 1921)]),
    # a retransmitted (older) packet keeps its own number and does not move "next"
    ([(10, 100, 0.0), (12, 300, 0.02), (11, 200, 0.03), (13, 400, 0.04)],
     [(0, 1), (2, 201), (1, 101), (3, 301)]),
    # but one from before the first packet (a retransmission that comes after a restart from
    # a keyframe) has no number: the numbers before it went to other packets
    ([(10, 100, 0.0), (9, 0, 0.01), (11, 200, 0.02)], [(0, 1), None, (1, 101)]),
]  # fmt: skip


@pytest.mark.parametrize(("packets", "expected"), RENUMBERING)
def test_renumbering_within_one_source(
    packets: list[tuple[int, int, float]], expected: list[tuple[int, int] | None]
) -> None:
    assert run(slot(48_000), packets) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((100, 1000), (40_000, 3_000_000_000)),  # unrelated numbers
        ((65_530, 2**32 - 100), (3, 7)),  # from near the wrap to small numbers
        ((3, 7), (65_530, 2**32 - 100)),  # and back
    ],
)
def test_a_source_switch_continues_the_slots_numbering(
    first: tuple[int, int], second: tuple[int, int]
) -> None:
    numbering = slot(90_000)
    seq, ts = first
    out = run(numbering, [(seq, ts, 10.0), ((seq + 1) & 0xFFFF, (ts + 3000) & 0xFFFFFFFF, 10.033)])
    numbering.fresh = 1  # what Slot.attach does
    seq, ts = second
    after = run(
        numbering, [(seq, ts, 10.533), ((seq + 1) & 0xFFFF, (ts + 3000) & 0xFFFFFFFF, 10.566)]
    )
    assert None not in out + after
    out_, after_ = [m for m in out if m], [m for m in after if m]
    assert [s for s, _ in out_ + after_] == [0, 1, 2, 3]  # one stream, no gap
    # the timestamp moves on by the wall-clock time between the last and the next packet
    assert after_[0][1] - out_[1][1] == int(0.5 * 90_000)
    assert after_[1][1] - after_[0][1] == 3000


def vp8(descriptor: bytes, first_payload_byte: int) -> bytes:
    return descriptor + bytes([first_payload_byte, 0, 0])


KEYFRAMES = [
    ("start of partition 0, keyframe (P bit 0)", vp8(b"\x10", 0x00), True),
    ("start of partition 0, inter frame (P bit 1)", vp8(b"\x10", 0x01), False),
    ("not the start of a partition", vp8(b"\x00", 0x00), False),
    ("start of partition 1", vp8(b"\x11", 0x00), False),
    ("X with a 7-bit picture id", vp8(b"\x90\x80\x05", 0x00), True),
    ("X with a 15-bit picture id", vp8(b"\x90\x80\x85\x01", 0x00), True),
    ("X, 15-bit picture id, inter frame", vp8(b"\x90\x80\x85\x01", 0x01), False),
    ("X with picture id, TL0PICIDX and TID/KEYIDX", vp8(b"\x90\xe0\x05\x01\x20", 0x00), True),
    ("X with only TID", vp8(b"\x90\x20\x20", 0x00), True),
    ("empty payload", b"", False),
    ("X but nothing after it", b"\x90", False),
    ("X, picture id flag, nothing after it", b"\x90\x80", False),
    ("descriptor only, no VP8 header", b"\x10", False),
]


@pytest.mark.parametrize(("name", "payload", "keyframe"), KEYFRAMES, ids=[k[0] for k in KEYFRAMES])
def test_vp8_keyframe_detection(name: str, payload: bytes, keyframe: bool) -> None:
    assert vp8_keyframe_start(payload) is keyframe
