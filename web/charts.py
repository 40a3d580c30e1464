"""Small bar charts drawn on the server as inline SVG: no script, no library.

Bars are horizontal, one row per item with its label on the left and its value after the
bar, so a chart reads on a phone as well as on a laptop (the drawing scales to the width;
text stays about the size of the page's own). Each chart is an image with a title and a
description that says every value, for screen readers; the page's table below it has the
same figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360  # viewBox units: about a phone's width, so text is drawn near its size there
LABEL = 116  # room for the labels
VALUE = 72  # room for the value after the longest bar
ROW, BAR = 26, 16
LABEL_CHARS = 15


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as a person reads it ("85 %", "3.5 h")


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(
    name: str,
    title: str,
    bars: list[Bar],
    maximum: float | None = None,
    marker: tuple[float, str] | None = None,
) -> Markup:
    """An SVG bar chart; ``name`` makes its ids unique on the page. ``maximum`` is the
    value of a full-length bar (default: the largest value); ``marker``: a value to draw a
    dashed line at (a target), and what it is."""
    top = maximum if maximum is not None else max((b.value for b in bars), default=0.0)
    span = WIDTH - LABEL - VALUE
    height = ROW * len(bars) + 4
    desc = "; ".join(f"{b.label}: {b.text}" for b in bars)
    if marker is not None:
        desc += f"; {marker[1]}"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{name}-title {name}-desc" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{name}-title">{escape(title)}</title>',
        f'<desc id="{name}-desc">{escape(desc)}</desc>',
    ]
    if marker is not None and top > 0:  # drawn first: the values are written over it
        x = LABEL + span * min(marker[0], top) / top
        parts.append(
            f'<line class="chart-marker" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}" '
            f'stroke-dasharray="4 3"><title>{escape(marker[1])}</title></line>'
        )
    for i, bar in enumerate(bars):
        y = 2 + i * ROW
        length = span * bar.value / top if top > 0 else 0.0
        middle = y + ROW / 2
        parts.append(
            f'<text class="chart-label" x="{LABEL - 6}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_short(bar.label))}</text>'
            f'<rect class="chart-bar" x="{LABEL}" y="{y + (ROW - BAR) / 2:.1f}" '
            f'width="{max(length, 0.0):.1f}" height="{BAR}" rx="2"></rect>'
            f'<text class="chart-value" x="{LABEL + length + 4:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="middle">{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
