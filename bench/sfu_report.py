"""The tables bench/sfu.py prints, and the targets the issue set (see its docstring)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import encoded_media
from packet_log import percentile
from sfu_workloads import Result

TARGET_CLASS_CPU = 70.0
TARGET_CLASS_FRAMES = 99.0
TARGET_US_PER_PACKET = 30.0
TARGET_RELAY_RATIO = 15.0
TARGET_ADDED_MS = 5.0


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 0) -> str:
    """Columns of figures, right-aligned; the first ``left`` columns (words) left-aligned."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        aligned = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(aligned).rstrip()

    rule = "  ".join("-" * w for w in widths).rstrip()
    return "\n".join([line(headers), rule, *map(line, rows)])


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
        rows.append(
            [
                r.workload.name,
                f(r.publisher_packets / r.server.wall, 0),
                f"{r.frames_complete:,}/{r.frames_sent:,}",
                f(1000 * percentile(r.direct, 50), 2) if r.direct else "-",
                str(r.unmatched),
                f(percentile(r.join_connected, 50), 2),
                str(r.setup_plis),
                f(r.setup_s),
                f(r.waited_s),
                f(r.quiet_s),
                f(r.total_s),
            ]
        )
    headers = ["run", "sent pkt/s", "frames ok/sent", "direct p50 ms", "unmatched",
               "join->connected p50 s", "PLIs in setup", "setup s", "waited s", "quiet s",
               "run s"]  # fmt: skip
    return table(headers, rows)


def diagnostics_table(results: list[Result]) -> str:
    rows = []
    for r in results:
        publishers = 1 if r.workload.kind in ("fanout", "relay") else r.workload.size + 1
        per = r.server.wall * publishers
        rtcp = ", ".join(f"{k} {v / per:.2f}" for k, v in sorted(r.rtcp.items())) or "none"
        lag = f"{f(1000 * percentile(r.bench_lag, 99))}/{f(1000 * max(r.bench_lag, default=0))}"
        gc = (
            f"{r.gc.count} ({r.gc.full} full), longest {1000 * r.gc.longest:.0f} ms, "
            f"total {1000 * r.gc.total:.0f} ms"
            if r.gc
            else "-"
        )
        rows.append([r.workload.name, gc, f"{r.server_drops}/{r.bench_drops}", lag, rtcp])
    headers = ["run", "server GC pauses >1 ms in window", "UDP drops server/bench",
               "bench loop lag p99/max ms",
               "RTCP the publishers got, per publisher per s"]  # fmt: skip
    return table(headers, rows)


def budget_table(results: list[Result]) -> str:
    rows = []
    for r in (r for r in results if r.received):
        for got in r.received:
            rows.append(
                [
                    r.workload.name,
                    got.who,
                    f(got.wire_kbits, 0),
                    f(got.audio_kbits, 0),
                    f(got.video_kbits, 0),
                    str(got.shown),
                    str(got.paused),
                ]
            )
        wire = [got.wire_kbits for got in r.received]
        rows.append([r.workload.name, "mean / max", f"{f(sum(wire) / len(wire), 0)} / "
                     f"{f(max(wire), 0)}", "", "", "", ""])  # fmt: skip
    headers = ["run", "subscriber", "on the wire", "audio RTP", "video RTP", "videos sent",
               "paused"]  # fmt: skip
    return table(headers, rows, left=2)


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
    kelas = {r.workload.size: r for r in results if r.workload.slug == f"fanout-{r.workload.size}"}
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


def ratio(kelas: float, other: float) -> str:
    return "-" if math.isnan(kelas) or math.isnan(other) or not other else f"{kelas / other:.2f}x"


def compared(r: Result) -> list[float]:
    """The figures a baseline's ratio is given for: CPU %, µs/pkt, RSS MB, join->key max."""
    return [r.server.percent, r.us_per_packet, r.rss / 1e6, max(r.join_keyframe, default=math.nan)]


def comparison_table(results: list[Result]) -> str:
    """Each case on every target that ran it: Kelas, MediaRelay and the Janus baselines,
    and Kelas's figure divided by each baseline's. A run's figures are shown only if it
    delivered (``Result.delivered``); otherwise only its worst delivery."""
    order = {"kelas": 0, "relay": 1}  # then the Janus baselines in the order they ran
    cases = sorted({r.workload.case for r in results if r.workload.kind != "budget"},
                   key=lambda case: (case[0] != "fanout", case))  # fmt: skip
    rows = []
    for case in cases:
        runs = sorted((r for r in results if r.workload.case == case),
                      key=lambda r: order.get(r.workload.target, 2))  # fmt: skip
        kelas = next((r for r in runs if r.workload.target == "kelas" and r.delivered), None)
        kind, size, _ = case
        label = f"1->{size}" if kind == "fanout" else f"{kind} 1+{size}"
        for r in runs:
            start = [label, r.workload.target, str(r.subscribers)]
            if not r.delivered:
                missing = f", {r.keyframes_missing} no keyframe" if r.keyframes_missing else ""
                short = f"{f(r.frames_worst, 2)} (short{missing})"
                rows.append([*start, "-", "-", "-", "-", short, "-", "-", "-", "-", "-"])
                continue
            figures = compared(r)
            base = compared(kelas) if kelas is not None and r is not kelas else [math.nan] * 4
            rows.append(
                [
                    *start,
                    f(r.server.percent),
                    f(r.packets_per_s, 0),
                    f(r.us_per_packet),
                    f(r.rss / 1e6, 0),
                    f(r.frames_worst, 2),
                    f"{f(percentile(r.join_keyframe, 50), 2)} / {f(figures[3], 2)}",
                    *[ratio(k, o) for k, o in zip(base, figures, strict=True)],
                ]
            )
    headers = ["case", "server", "subs", "CPU %", "fwd pkt/s", "µs/pkt", "RSS MB",
               "worst frames %", "join->key p50/max s", "kelas/this CPU", "kelas/this µs/pkt",
               "kelas/this RSS", "kelas/this join max"]  # fmt: skip
    return table(headers, rows, left=2)


def largest(results: list[Result], kind: str) -> Result | None:
    return max((r for r in results if r.workload.kind == kind and r.workload.target in
                ("kelas", "relay")), key=lambda r: r.workload.size, default=None)  # fmt: skip


def targets_table(results: list[Result], ratio_at_max: float, ratio_marginal: float) -> str:
    """Each target of the issue, checked on the largest run it applies to."""
    big_class, big_fanout = largest(results, "class"), largest(results, "fanout")
    big_relay = largest(results, "relay")
    checks: list[tuple[str, Result | None, float, bool, str]] = []
    if big_class is not None:
        cpu, frames = big_class.server.percent, big_class.frames_pct
        checks.append((f"class CPU <= {TARGET_CLASS_CPU:.0f} % of a core", big_class, cpu,
                       cpu <= TARGET_CLASS_CPU, f"{cpu:.1f} %"))  # fmt: skip
        checks.append((f"class frames >= {TARGET_CLASS_FRAMES:.0f} %", big_class, frames,
                       frames >= TARGET_CLASS_FRAMES, f"{frames:.2f} %"))  # fmt: skip
    for run in (r for r in (big_fanout, big_class) if r is not None):
        us = run.us_per_packet
        checks.append((f"<= {TARGET_US_PER_PACKET:.0f} µs CPU per forwarded packet", run, us,
                       us <= TARGET_US_PER_PACKET, f"{us:.1f} µs"))  # fmt: skip
    for label, ratio in (("at the largest N", ratio_at_max), ("marginal", ratio_marginal)):
        checks.append((f">= {TARGET_RELAY_RATIO:.0f}x less CPU/sub than MediaRelay ({label})",
                       big_relay, ratio, ratio >= TARGET_RELAY_RATIO, f"{ratio:.1f}x"))  # fmt: skip
    for run in (r for r in (big_fanout, big_class) if r is not None):
        added = run.added_ms(50)
        checks.append((f"<= {TARGET_ADDED_MS:.0f} ms added latency p50", run, added,
                       added <= TARGET_ADDED_MS, f"{added:.2f} ms"))  # fmt: skip
    rows = [
        [target, run.workload.name if run else "-", "-", "not run"]
        if run is None or math.isnan(value)
        else [target, run.workload.name, shown, "yes" if ok else "NO"]
        for target, run, value, ok, shown in checks
    ]
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
