"""The speaking meter's rules (signaling/speaking.py), on a clock of our own: speech is a run
of loud packets 20 ms apart, as a browser sends Opus with its audio level."""

from __future__ import annotations

import pytest

from classroom.speaking import Spoken
from signaling.speaking import FRAME_S, Meter, Prompt, Rules, Silent, TutorShare

TUTOR, SINTA, BAYU = 1, 2, 3


def rtp(at: float) -> int:
    """The RTP timestamp of a packet sent at ``at`` (48 kHz, from an odd start)."""
    return (123_456_789 + round(at * 48_000)) & 0xFFFFFFFF


def speak(
    meter: Meter, user_id: int, start: float, seconds: float, prompts: list[Prompt] | None = None
) -> float:
    """``user_id`` speaks from ``start`` for ``seconds`` (packets every 20 ms, the meter
    looked at every 0.4 s as the SFU does, its prompts added to ``prompts``); returns the
    end."""
    packets = round(seconds / FRAME_S)
    for n in range(packets):
        at = start + n * FRAME_S
        meter.loud(user_id, at, rtp(at))
        if n % 20 == 0:
            (prompts if prompts is not None else []).extend(meter.tick(at))
    return start + packets * FRAME_S


def person(meter: Meter, user_id: int, now: float) -> dict[str, float]:
    meter.tick(now)
    figure = next(f for f in meter.figures(now).people if f.user_id == user_id)
    return {
        "seconds": round(figure.seconds, 6),
        "turns": figure.turns,
        "longest": round(figure.longest_silence, 6),
        "silence": round(figure.silence, 6),
    }


def room(rules: Rules | None = None) -> Meter:
    meter = Meter(rules)
    meter.arrive(TUTOR, True, 0.0)
    meter.arrive(SINTA, False, 0.0)
    meter.arrive(BAYU, False, 0.0)
    return meter


def test_speaking_time_is_the_speech_and_its_short_pauses() -> None:
    meter = room()
    end = speak(meter, SINTA, 10.0, 3.0)
    end = speak(meter, SINTA, end + 0.3, 2.0)  # a breath: part of the speech
    assert person(meter, SINTA, end + 5) == {
        "seconds": 5.3,
        "turns": 1,
        "longest": 10.0,
        "silence": 5.0,
    }


def test_a_pause_longer_than_the_hangover_is_not_speech_but_not_a_new_turn() -> None:
    meter = room()
    end = speak(meter, SINTA, 10.0, 3.0)
    end = speak(meter, SINTA, end + 1.0, 2.0)  # a pause: not counted, the same turn
    assert person(meter, SINTA, end)["seconds"] == 5.0
    assert person(meter, SINTA, end)["turns"] == 1
    speak(meter, SINTA, end + 2.5, 1.0)  # a gap of 2 s or more: a new turn
    assert person(meter, SINTA, end + 10)["turns"] == 2
    assert person(meter, SINTA, end + 10)["seconds"] == 6.0


def test_silence_counts_from_arrival_and_the_longest_is_kept() -> None:
    meter = room()
    end = speak(meter, SINTA, 60.0, 1.0)  # silent for a minute first
    end = speak(meter, SINTA, end + 30, 1.0)
    assert person(meter, SINTA, end + 10) == {
        "seconds": 2.0,
        "turns": 2,
        "longest": 60.0,
        "silence": 10.0,
    }
    assert person(meter, BAYU, 200.0)["longest"] == 200.0  # never spoke: silent throughout
    meter.depart(BAYU, 250.0)
    assert person(meter, BAYU, 400.0) == {"seconds": 0, "turns": 0, "longest": 250, "silence": 0}


def test_students_waiting_for_the_tutor_are_not_silent_yet() -> None:
    meter = Meter()
    meter.arrive(SINTA, False, 0.0)
    meter.arrive(TUTOR, True, 120.0)
    assert person(meter, SINTA, 180.0)["longest"] == 60.0


def test_nobody_outside_the_room_is_heard() -> None:
    meter = room()
    meter.loud(99, 1.0, rtp(1.0))  # not arrived (an observer, or a stray packet)
    meter.depart(SINTA, 2.0)
    speak(meter, SINTA, 3.0, 1.0)
    figures = meter.figures(10.0)
    assert {f.user_id for f in figures.people} == {TUTOR, SINTA, BAYU}
    assert figures.student_seconds == 0


def test_a_silent_student_prompts_once_per_silence() -> None:
    meter = room(Rules(silent_after_s=60.0))
    assert meter.tick(59.0) == []
    prompts = meter.tick(60.4)
    assert {p.user_id for p in prompts if isinstance(p, Silent)} == {SINTA, BAYU}
    assert meter.tick(61.0) == [] and meter.tick(200.0) == []  # once, not again
    end = speak(meter, SINTA, 200.0, 1.0)
    assert meter.tick(end + 59) == []
    assert meter.tick(end + 61) == [Silent(SINTA, pytest.approx(61.0))]  # a new silence


def test_the_tutor_share_of_the_window_prompts_once_per_crossing() -> None:
    meter = room(Rules(window_s=60.0, tutor_share=0.7))
    end = speak(meter, TUTOR, 0.0, 50.0)
    assert meter.tick(end) == []  # not a whole window yet
    prompts = meter.tick(60.0)
    assert prompts == [TutorShare(pytest.approx(50 / 60, abs=0.02), 60.0)]
    assert meter.figures(60.0).tutor_window_share == pytest.approx(50 / 60, abs=0.02)
    prompts = []
    speak(meter, TUTOR, 60.0, 10.0, prompts)
    prompts += meter.tick(70.0)
    # The window slides: a minute of students only brings the tutor's share down...
    end = speak(meter, SINTA, 70.0, 60.0, prompts)
    assert (meter.figures(end).tutor_window_share or 0) < 0.1
    assert [p for p in prompts + meter.tick(end) if isinstance(p, TutorShare)] == []  # once
    # ... and a new crossing prompts again.
    end = speak(meter, TUTOR, end, 50.0, prompts)
    assert [p for p in prompts if isinstance(p, TutorShare)] == [
        TutorShare(pytest.approx(0.7, abs=0.02), 60.0)
    ]


def test_figures_balance_tutor_and_students() -> None:
    meter = room()
    speak(meter, TUTOR, 0.0, 6.0)
    speak(meter, SINTA, 10.0, 3.0)
    speak(meter, BAYU, 20.0, 1.0)
    figures = meter.figures(30.0)
    assert figures.tutor_seconds == pytest.approx(6.0)
    assert figures.student_seconds == pytest.approx(4.0)
    assert figures.students == 2


def test_kept_figures_continue_after_a_failover() -> None:
    before = room()
    speak(before, SINTA, 0.0, 4.0)
    kept = before.spoken(10.0)
    assert Spoken(SINTA, False, 4.0, 1, 6.0) in kept
    after = Meter()
    after.restore(kept)
    after.restore(kept)  # twice changes nothing: the kept figures are totals, not deltas
    after.arrive(TUTOR, True, 1000.0)
    after.arrive(SINTA, False, 1000.0)
    speak(after, SINTA, 1001.0, 2.0)
    assert person(after, SINTA, 1010.0)["seconds"] == 6.0
    assert person(after, SINTA, 1010.0)["turns"] == 2


def test_figures_are_kept_every_so_often() -> None:
    meter = room()
    assert meter.due(0.0, 30.0)
    assert not meter.due(29.0, 30.0)
    assert meter.due(30.0, 30.0)


def test_a_stretch_across_many_buckets_at_odd_times() -> None:
    meter = room(Rules(window_s=3.0, tutor_share=0.5))  # buckets of 0.05 s
    start = 7364.123456789  # a monotonic clock's kind of number
    end = speak(meter, TUTOR, start, 4.0)
    assert meter.figures(end).tutor_window_share == pytest.approx(1.0, abs=0.05)
    assert meter.figures(end).tutor_seconds == pytest.approx(4.0)


def test_thresholds_come_from_the_environment() -> None:
    from web.settings import Settings

    default = Settings.from_env({"SECRET_KEY": "s"})
    assert default.speaking == Rules() and not default.show_student_share
    assert default.speaking.silent_after_s == 360 and default.speaking.tutor_share == 0.7
    env = {
        "SECRET_KEY": "s",
        "KELAS_SPEAKING_SILENT_MINUTES": "4",
        "KELAS_SPEAKING_TUTOR_SHARE": "60",
        "KELAS_SPEAKING_WINDOW_MINUTES": "5",
        "KELAS_SHOW_STUDENT_SHARE": "1",
    }
    chosen = Settings.from_env(env)
    assert chosen.speaking == Rules(silent_after_s=240, tutor_share=0.6, window_s=300)
    assert chosen.show_student_share
    for bad in ({"KELAS_SPEAKING_TUTOR_SHARE": "0"}, {"KELAS_SPEAKING_WINDOW_MINUTES": "-1"}):
        with pytest.raises(ValueError):
            Settings.from_env({"SECRET_KEY": "s", **bad})


def test_speech_read_in_a_burst_after_a_stall_counts_as_spoken() -> None:
    """The server stalls for 0.7 s: the packets of that time arrive at once, afterwards. Their
    timestamps, not their arrival, say how long the person spoke."""
    meter = room()
    for n in range(200):  # 4 s of speech from 10.0; packets 50..84 all arrive at 11.7
        sent = 10.0 + n * FRAME_S
        arrived = 11.7 if 50 <= n < 85 else sent
        meter.loud(SINTA, arrived, rtp(sent))
        if n % 20 == 0 and not 50 <= n < 85:
            meter.tick(arrived)
    assert person(meter, SINTA, 15.0)["seconds"] == 4.0
    assert person(meter, SINTA, 15.0)["turns"] == 1


def test_a_late_packet_counts_nothing_and_a_new_stream_starts_a_stretch() -> None:
    meter = room()
    end = speak(meter, SINTA, 10.0, 1.0)
    meter.loud(SINTA, end, rtp(end - 0.5))  # reordered: already counted
    assert person(meter, SINTA, end)["seconds"] == 1.0
    meter.loud(SINTA, end + 0.02, 42)  # a new stream (a reconnect): its own timestamps
    meter.loud(SINTA, end + 0.04, 42 + 960)
    assert person(meter, SINTA, end + 5)["seconds"] == 1.04
