"""Simulcast (signaling/media/simulcast.py, budget.py's upgrades): what an offer's camera
section says, the answer that accepts it, the RTP of each layer, and which layer each
subscriber gets. The real-browser class with simulcast is tests/e2e/
test_impaired_links_in_browser.py (the slow links)."""

from __future__ import annotations

import pytest
from aiortc.rtp import RtpPacket

from signaling.media.budget import Budget, Video, wanted
from signaling.media.guard import Gate, Tally
from signaling.media.simulcast import answer_layers, layered, offered_rids, sections

CAMERA = ["m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:1", "a=sendonly"]


@pytest.mark.parametrize(
    ("lines", "rids"),
    [
        (["a=rid:h send", "a=rid:l send", "a=simulcast:send h;l"], ["h", "l"]),
        (["a=rid:l send", "a=rid:h send", "a=simulcast:send l;h"], ["l", "h"]),  # as listed
        # The first two of three.
        (["a=rid:a send", "a=rid:b send", "a=rid:c send", "a=simulcast:send a;b;c"], ["a", "b"]),
        (["a=rid:h send", "a=simulcast:send h"], []),  # one layer is no simulcast
        ([], []),
        (["a=rid:h send", "a=rid:l send"], []),  # rids but no simulcast line
        (["a=rid:h send", "a=simulcast:send h;l"], []),  # a layer that is not declared
        (["a=rid:h recv", "a=rid:l recv", "a=simulcast:send h;l"], []),  # declared the wrong way
        (["a=rid:h send", "a=rid:~l send", "a=simulcast:send h;~l"], []),  # paused layer
        (["a=rid:h send", "a=rid:l send", "a=simulcast:send h,l"], []),  # alternatives
        ([f"a=rid:{'x' * 17} send", "a=rid:l send", f"a=simulcast:send {'x' * 17};l"], []),
        (["a=rid:h send", "a=rid:h send", "a=simulcast:send h;h"], []),  # the same twice
        (["a=rid:h\x00 send", "a=rid:l send", "a=simulcast:send h\x00;l"], []),
        (["a=simulcast:send ;;;"], []),
    ],
)
def test_the_layers_an_offer_sends(lines: list[str], rids: list[str]) -> None:
    assert offered_rids(CAMERA + lines) == rids


def test_the_answer_receives_the_layers_in_the_camera_section_only() -> None:
    answer = "\r\n".join(
        ["v=0", "m=audio 9 x", "a=mid:0", "m=video 9 x", "a=mid:1", "m=video 9 x", "a=mid:2", ""]
    )
    out = answer_layers(answer, 1, ["h", "l"])
    camera = sections(out)[1]
    assert camera[-3:] == ["a=rid:h recv", "a=rid:l recv", "a=simulcast:recv h;l"]
    assert sections(out)[0] == ["m=audio 9 x", "a=mid:0"]
    assert sections(out)[2] == ["m=video 9 x", "a=mid:2"]
    assert out.endswith("\r\n") and answer_layers(answer, 1, []) == answer
    last = answer_layers(answer, 2, ["h", "l"])  # the last section: before the final CRLF
    assert last.endswith("a=simulcast:recv h;l\r\n")


def rtp(ssrc: int, seq: int, rid: str | None = None) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=seq * 3000, ssrc=ssrc)
    packet.extensions.rtp_stream_id = rid
    return packet


def test_each_ssrc_goes_to_the_layer_its_first_packet_names() -> None:
    got: dict[str, list[int]] = {"h": [], "l": []}

    def to(rid: str):  # type: ignore[no-untyped-def]
        def on_rtp(packet: RtpPacket) -> None:
            got[rid].append(packet.ssrc)

        return on_rtp

    tally = Tally()
    handle = layered({"h": to("h"), "l": to("l")}, Gate("test", tally))
    handle(rtp(11, 1, "h"))
    handle(rtp(22, 1, "l"))
    handle(rtp(11, 2))  # later packets need not name it
    handle(rtp(22, 2))
    handle(rtp(33, 1))  # names nothing: dropped
    handle(rtp(44, 1, "x"))  # a layer not offered: dropped
    handle(rtp(55, 1, "h"))  # a second stream for a layer that is not silent: dropped
    assert got == {"h": [11, 11], "l": [22, 22]}
    assert tally.dropped == 3


def test_the_main_video_small_comes_first_then_sharp_then_the_others() -> None:
    tutor, sinta, bayu = 1, 2, 3
    videos = [
        Video(tutor, 200_000),
        Video(tutor, 800_000, upgrade=True),
        Video(sinta, 300_000),
        Video(bayu, 300_000),
    ]
    order = wanted(videos, main=tutor, tutor=tutor, speakers=[bayu])
    assert [(v.publisher, v.upgrade) for v in order] == [
        (tutor, False),
        (tutor, True),
        (bayu, False),
        (sinta, False),
    ]


@pytest.mark.parametrize(
    ("estimate", "shown"),
    [
        (None, {(1, False), (1, True), (2, False), (3, False)}),  # nothing says it is full
        (2_000_000, {(1, False), (1, True), (2, False), (3, False)}),
        (1_400_000, {(1, False), (1, True), (2, False)}),  # the tutor sharp, one student
        (900_000, {(1, False), (2, False), (3, False)}),  # the tutor small, both students
        (600_000, {(1, False), (2, False)}),
        (500_000, {(1, False)}),  # the tutor small, and no one else
        (100_000, set()),
    ],
)
def test_a_thinner_link_gets_the_small_layer_before_it_loses_the_main_video(
    estimate: int | None, shown: set[tuple[int, bool]]
) -> None:
    videos = wanted(
        [
            Video(1, 200_000),
            Video(1, 800_000, upgrade=True),
            Video(2, 300_000),
            Video(3, 300_000),
        ],
        main=1,
        tutor=1,
        speakers=[2],
    )
    budget = Budget(shown=frozenset(v.key for v in videos))  # all shown until now
    decided = budget.decide(videos, estimate, 40_000, 0.0)
    assert {(p, upgrade) for p, _, upgrade in decided} == shown


def test_an_upgrade_never_comes_back_without_its_small_layer() -> None:
    videos = [Video(1, 200_000), Video(1, 100_000, upgrade=True)]
    budget = Budget(shown=frozenset())
    # Nothing shown, nothing known: everything at once.
    assert budget.decide(videos, None, 40_000, 0.0) == {v.key for v in videos}
    # The link gives out below the small layer: both go.
    assert budget.decide(videos, 150_000, 40_000, 1.0) == frozenset()
    # Room for the upgrade's cost alone but not the small layer: nothing comes back...
    for at in (3.0, 3.5, 3.9):
        assert budget.decide(videos, 200_000, 40_000, at) == frozenset()
    # ... until a probe, 3 s after a pause that left no video at all (not 10 s): the small
    # layer, never the upgrade alone.
    assert budget.decide(videos, 200_000, 40_000, 4.0) == {(1, False, False)}


def test_with_no_video_left_the_probes_come_sooner_and_back_off_alike() -> None:
    one = [Video(1, 300_000)]
    budget = Budget(shown=frozenset(v.key for v in one))
    probes, at = [], 0.0
    budget.decide(one, 100_000, 40_000, at)  # paused: nothing left
    while at < 60:
        at = round(at + 0.5, 1)
        if budget.decide(one, 100_000, 40_000, at):  # a probe
            probes.append(at)
            # The link says it is full again: the probe fails.
            budget.decide(one, 50_000, 40_000, round(at + 0.5, 1))
            at = round(at + 0.5, 1)
    # 3 s after the first pause, then 6 s and 12 s after each failure (0.3 x 10, 20, 40 s).
    assert probes == [3.0, 9.5, 22.0, 46.5], probes
