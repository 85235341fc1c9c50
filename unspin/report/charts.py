"""Small inline SVG charts: no chart library, no script, nothing to fetch.

Geometry is computed here, markup comes from autoescaping templates, so labels taken from
data can never break out of the SVG. Every chart has ``role="img"``, an ``aria-label`` that
reads out its values and a ``<title>``; values are printed next to bars and series carry a
letter tag, so no chart relies on colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from .env import environment
from .labels import fmt_rate

__all__ = ["SERIES_COLORS", "Bar", "Series", "density_chart", "grouped_bar_chart", "hbar_chart"]

SERIES_COLORS = ("#1f5f99", "#b35900", "#2e7d32", "#8e3b7a", "#555555", "#00798c")
SERIES_DASHES = ("", "7 4", "2 3", "10 3 2 3", "4 2", "1 2")

_WIDTH = 420
_PAD = 4


@dataclass(frozen=True)
class Bar:
    """One bar; ``symbol`` is printed before the label as a non-colour cue."""

    label: str
    value: float
    text: str = ""  # printed value; defaults to the value with one decimal
    color: str = "#5b7fa6"
    symbol: str = ""
    key: str = ""  # data-key, for bars the confidence slider recomputes
    doc: int = 0
    emphasis: bool = False


@dataclass(frozen=True)
class Series:
    """One article's values in a grouped or density chart."""

    name: str
    tag: str  # short tag ("1") drawn next to its bars and line
    values: Sequence[float]
    color: str = SERIES_COLORS[0]
    dash: str = ""
    doc: int = 0


@dataclass
class _Row:
    y: float
    label: str
    symbol: str
    bars: list[dict[str, object]] = field(default_factory=list)


def _render(template: str, **context: object) -> Markup:
    return Markup(environment().get_template(template).render(**context))


def _scale(values: Sequence[float], max_value: float | None) -> float:
    top = max_value if max_value is not None else max(values, default=0.0)
    return top if top > 0 else 1.0


def _aria(title: str, parts: Sequence[str]) -> str:
    return f"{title}: {'; '.join(parts)}." if parts else f"{title}: no data."


def hbar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    max_value: float | None = None,
    live: str | None = None,
    empty: str = "Nothing detected.",
    width: int = _WIDTH,
) -> Markup:
    """Horizontal bars, label above each bar (readable on a phone-width screen).

    ``live`` names what the report's confidence slider recomputes for these bars
    ("technique", "category" or "paragraphs"); the script reads ``data-*`` attributes.
    """
    plot_w = width - 2 * _PAD - 56
    scale = _scale([b.value for b in bars], max_value)
    rows = []
    for i, b in enumerate(bars):
        bar_w = max(0.0, min(1.0, b.value / scale)) * plot_w
        rows.append(
            {
                "bar": b,
                "y": _PAD + i * 38,
                "width": round(bar_w, 2),
                "text": b.text or fmt_rate(b.value),
            }
        )
    height = _PAD * 2 + max(1, len(bars)) * 38
    return _render(
        "hbar.svg.j2",
        title=title,
        aria=_aria(title, [f"{b.label} {r['text']}" for b, r in zip(bars, rows, strict=True)]),
        rows=rows,
        width=width,
        height=height,
        x0=_PAD,
        plot_w=plot_w,
        live=live,
        scale=scale,
        fixed_max=max_value is not None,
        empty=empty,
    )


def grouped_bar_chart(
    groups: Sequence[tuple[str, str, str]],
    series: Sequence[Series],
    *,
    title: str,
    live: str | None = None,
    percent: bool = False,
) -> Markup:
    """One row per group (label, key, symbol), one tagged bar per series within it."""
    bar_h, step = 11, 15
    x0, plot_w = _PAD + 18, _WIDTH - 2 * _PAD - 18 - 56
    values = [v for s in series for v in s.values]
    scale = 1.0 if percent else _scale(values, None)
    rows: list[_Row] = []
    parts: list[str] = []
    y = float(_PAD)
    for g, (label, key, symbol) in enumerate(groups):
        row = _Row(y=y, label=label, symbol=symbol)
        for k, s in enumerate(series):
            value = s.values[g]
            text = f"{value * 100:.0f}%" if percent else fmt_rate(value)
            row.bars.append(
                {
                    "series": s,
                    "key": key,
                    "y": y + 18 + k * step,
                    "width": round(max(0.0, min(1.0, value / scale)) * plot_w, 2),
                    "text": text,
                }
            )
            parts.append(f"{label}, {s.name} {text}")
        rows.append(row)
        y += 18 + len(series) * step + 10
    return _render(
        "grouped.svg.j2",
        title=title,
        aria=_aria(title, parts),
        rows=rows,
        width=_WIDTH,
        height=round(y + _PAD),
        x0=x0,
        plot_w=plot_w,
        bar_h=bar_h,
        live=live,
        scale=scale,
    )


def density_chart(series: Sequence[Series], *, title: str, unit: str = "per 1,000 words") -> Markup:
    """Technique density from the beginning to the end of the article (area for one
    article, dashed and tagged lines for several)."""
    height = 170
    left, right, top, bottom = 40.0, _WIDTH - 24.0, 12.0, height - 34.0
    values = [v for s in series for v in s.values]
    scale = _scale(values, None)
    lines = []
    parts = []
    for s in series:
        n = max(1, len(s.values))
        pts = [
            (
                round(left + (i + 0.5) / n * (right - left), 2),
                round(bottom - (v / scale) * (bottom - top), 2),
            )
            for i, v in enumerate(s.values)
        ]
        if not pts:
            continue
        line = " ".join(f"{x},{y}" for x, y in pts)
        area = f"{left},{bottom} {left},{pts[0][1]} {line} {right},{pts[-1][1]} {right},{bottom}"
        lines.append({"series": s, "points": pts, "line": line, "area": area})
        parts.append(f"{s.name}: " + ", ".join(fmt_rate(v) for v in s.values))
    return _render(
        "density.svg.j2",
        title=title,
        aria=_aria(f"{title} ({unit}, beginning to end)", parts),
        lines=lines,
        single=len(lines) == 1,
        width=_WIDTH,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        top_label=fmt_rate(scale),
        unit=unit,
    )
