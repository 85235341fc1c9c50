"""``corpus report``: one self-contained HTML dashboard (inline SVG, CSS and script; no
network) over a corpus database.

It shows techniques per 1,000 words by outlet and by topic (heatmaps), over time (lines
with their confidence bands), genre and frame mix per outlet, outlet-against-outlet
differences, and the most persuasive articles with links to their reports. Every number
comes with a bootstrap interval (see :mod:`unspin.corpus.stats`): a cell is framed only
when its difference from the rest of the corpus is clear of zero. Filters (outlet, period,
topic, technique) work in the page; ``corpus report --outlet/--since/--until/--topic``
recomputes everything for a subset.

All article-derived text (titles, outlets, topic names, quotes) reaches the page through
autoescaping templates, or through the JSON data block and ``textContent`` in the script.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from ..report.charts import SERIES_COLORS, SERIES_DASHES
from ..report.html import content_security_policy, render_analysis
from ..report.labels import frame_label, genre_label, technique_info
from ..taxonomy import ABBREVIATIONS, FRAME_NAMES, GENRE_NAMES
from ..version import __version__
from .query import Filters, Selection, load_selection, rows_of
from .stats import GroupStats, Resampler, bootstrap_groups
from .store import Store

__all__ = ["build_dashboard", "write_dashboard"]

MAX_OUTLETS = 30  # rows of the outlet views: the largest outlets
MIN_WORDS_TOP = 150  # shorter articles do not compete for "most persuasive"


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("unspin.corpus", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _fmt
    return env


def _static(name: str) -> str:
    return (files("unspin.corpus") / "static" / name).read_text(encoding="utf-8")


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _num(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 3)


def _mix(t: float) -> str:
    """White to dark blue, t in [0, 1]."""
    t = 0.0 if math.isnan(t) else min(max(t, 0.0), 1.0)
    r, g, b = (round(255 + (c - 255) * t) for c in (0x1F, 0x4E, 0x8C))
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass
class Measure:
    key: str  # "all" or a technique name
    label: str
    abbr: str


def _cells(stats: GroupStats, measures: list[Measure], what: str) -> list[dict[str, Any]]:
    """Heatmap rows: per group, per measure, the value, interval and difference."""
    col_max = np.nanmax(np.where(np.isnan(stats.rate), -np.inf, stats.rate), axis=0) if len(stats.groups) else []
    rows = []
    for i, group in enumerate(stats.groups):
        cells = []
        for j, m in enumerate(measures):
            rate = float(stats.rate[i, j])
            top = float(col_max[j]) if np.isfinite(col_max[j]) and col_max[j] > 0 else 1.0
            low, high = float(stats.vs_rest_low[i, j]), float(stats.vs_rest_high[i, j])
            sign = "higher" if low > 0 else "lower" if high < 0 else ""
            t = rate / top if not math.isnan(rate) else 0.0
            cells.append({
                "measure": m.key, "rate": _fmt(rate), "fill": _mix(t), "dark": t > 0.55,
                "sign": sign,
                "title": (
                    f"{group} · {m.label}: {_fmt(rate, 2)} per 1,000 words "
                    f"(95% CI {_fmt(float(stats.low[i, j]), 2)} to {_fmt(float(stats.high[i, j]), 2)}); "
                    f"vs the rest of the corpus {_fmt(float(stats.vs_rest[i, j]), 2):s} "
                    f"(CI {_fmt(low, 2)} to {_fmt(high, 2)})"
                    + (f": clearly {sign}" if sign else ": not clearly different")
                ),
            })  # fmt: skip
        rows.append({"group": group, "what": what, "articles": int(stats.articles[i]), "cells": cells})
    return rows


def _shares(stats: GroupStats, names: Sequence[str], label: Callable[[str], str]) -> list[dict[str, Any]]:
    """Genre or frame mix: a row per genre or frame, a cell per outlet, each the share of the
    outlet's articles with its interval and its difference from the other outlets'."""
    rows = []
    for j, name in enumerate(names):
        cells = []
        for i, group in enumerate(stats.groups):
            share = float(stats.rate[i, j])
            low, high = float(stats.vs_rest_low[i, j]), float(stats.vs_rest_high[i, j])
            sign = "higher" if low > 0 else "lower" if high < 0 else ""
            cells.append({
                "outlet": group, "pct": "–" if math.isnan(share) else f"{share * 100:.0f}%",
                "fill": _mix(0.0 if math.isnan(share) else share), "dark": share > 0.55, "sign": sign,
                "title": f"{group} · {label(name)}: {_fmt(share * 100)}% of articles (95% CI "
                         f"{_fmt(float(stats.low[i, j]) * 100)}% to {_fmt(float(stats.high[i, j]) * 100)}%); "
                         f"vs the other outlets {_fmt(float(stats.vs_rest[i, j]) * 100)} points (CI "
                         f"{_fmt(low * 100)} to {_fmt(high * 100)})"
                         + (f": clearly {sign}" if sign else ": not clearly different"),
            })  # fmt: skip
        if any(c["pct"] not in ("–", "0%") for c in cells):
            rows.append({"name": label(name), "cells": cells})
    return rows


def _frame_counts(store: Store, selection: Selection) -> np.ndarray:
    out = np.zeros((len(selection), len(FRAME_NAMES)), dtype=np.float32)
    column = {f: j for j, f in enumerate(FRAME_NAMES)}
    found = [(a, column[f]) for a, f in store.rows("SELECT article_id, frame FROM frame_scores WHERE chosen") if f in column]
    if found and len(selection):
        article_ids, cols = (np.array(x, dtype=np.int64) for x in zip(*found, strict=True))
        at, ok = rows_of(selection.ids, article_ids)
        out[at[ok], cols[ok]] = 1
    return out


def _top_articles(store: Store, selection: Selection, top: int, href: Callable[[int], str | None],
                  min_score: float) -> list[dict[str, Any]]:
    if not len(selection):
        return []
    detections = selection.counts.sum(axis=1)
    words = selection.words
    long_enough = words >= min(MIN_WORDS_TOP, float(np.median(words)))
    rate = np.where(long_enough, detections / np.maximum(words, 1) * 1000, -1.0)
    order = np.argsort(-rate, kind="stable")[:top]
    topics_of: dict[int, list[str]] = {}
    for name, rows in selection.topics.items():
        for i in rows:
            topics_of.setdefault(int(i), []).append(name)
    out = []
    for i in order:
        if rate[i] < 0:
            break
        article_id = int(selection.ids[i])
        title, url, published = store.rows("SELECT title, url, published FROM articles WHERE id = ?", [article_id])[0]
        quote = store.rows(
            'SELECT s.technique, substr(a.text, s.start + 1, min(s."end" - s.start, 200)) FROM spans s '
            "JOIN articles a ON a.id = s.article_id WHERE s.article_id = ? AND s.score >= ? "
            "ORDER BY s.score DESC LIMIT 1",
            [article_id, min_score],
        )
        techniques = [selection.techniques[j] for j in np.flatnonzero(selection.counts[i])]
        out.append({
            "id": article_id, "title": title or f"Article {article_id}", "url": url,
            "outlet": selection.outlet[i], "month": selection.month[i] or "", "published": published or "",
            "words": int(words[i]), "detections": int(detections[i]), "rate": _fmt(float(rate[i])),
            "techniques": techniques, "labels": [technique_info(t).label for t in techniques],
            "topics": topics_of.get(int(i), []), "href": href(article_id),
            "quote": quote[0][1] if quote else None,
            "quote_technique": technique_info(quote[0][0]).label if quote else None,
        })  # fmt: skip
    return out


def _pairs(stats: GroupStats, measures: list[Measure]) -> list[dict[str, Any]]:
    out = []
    for a in range(len(stats.groups)):
        for b in range(a + 1, len(stats.groups)):
            diff, low, high = stats.difference(a, b)
            for j, m in enumerate(measures):
                if math.isnan(float(diff[j])):
                    continue
                lo, hi = float(low[j]), float(high[j])
                out.append({
                    "a": stats.groups[a], "b": stats.groups[b], "measure": m.key, "label": m.label,
                    "rate_a": _fmt(float(stats.rate[a, j]), 2), "rate_b": _fmt(float(stats.rate[b, j]), 2),
                    "diff": f"{float(diff[j]):+.2f}", "low": f"{lo:+.2f}", "high": f"{hi:+.2f}",
                    "different": lo > 0 or hi < 0,
                })  # fmt: skip
    return out


def _time_series(
    selection: Selection, counts: np.ndarray, outlets: list[str], period: str, shared: Resampler
) -> dict[str, Any]:
    """Per (outlet or "All outlets", period): [rate, low, high] per measure, for the script."""
    keys: list[str | None] = getattr(selection, period)
    periods = sorted({k for k in keys if k})
    index = {p: j for j, p in enumerate(periods)}
    groups: dict[tuple[str, str], list[int]] = {}
    keep = set(outlets)
    for i, key in enumerate(keys):
        if not key:
            continue
        groups.setdefault(("All outlets", key), []).append(i)
        if selection.outlet[i] in keep:
            groups.setdefault((selection.outlet[i], key), []).append(i)
    names = sorted(groups)
    series: dict[str, list[list[list[float | None]]]] = {}
    if names:
        # the "All outlets" groups overlap the outlet ones: two runs, each of disjoint groups
        for part in (["All outlets"], outlets):
            chosen = [n for n in names if n[0] in part]
            if not chosen:
                continue
            stats = bootstrap_groups(counts, selection.words, [np.array(groups[n]) for n in chosen],
                                     [f"{o}|{p}" for o, p in chosen], resampler=shared, rest=False)  # fmt: skip
            for g, (outlet, p) in enumerate(chosen):
                line = series.setdefault(outlet, [[[None, None, None]] * len(periods) for _ in range(counts.shape[1])])
                for m in range(counts.shape[1]):
                    line[m][index[p]] = [_num(stats.rate[g, m]), _num(stats.low[g, m]), _num(stats.high[g, m])]
    return {"periods": periods, "series": series, "period": period}


def build_dashboard(
    store: Store,
    *,
    filters: Filters | None = None,
    resamples: int = 1000,
    seed: int = 0,
    top: int = 20,
    href: Callable[[int], str | None] = lambda _id: None,
) -> str:
    """The dashboard as one HTML document. ``href(article_id)``: the link to an article's
    report (None: no link)."""
    filters = filters or Filters()
    selection = load_selection(store, filters)
    used = [j for j in range(len(selection.techniques)) if selection.counts[:, j].any()]
    measures = [Measure("all", "All techniques", "All")] + [
        Measure(selection.techniques[j], technique_info(selection.techniques[j]).label,
                ABBREVIATIONS.get(selection.techniques[j], selection.techniques[j][:2]))
        for j in used
    ]  # fmt: skip
    counts = np.concatenate([selection.counts.sum(axis=1, keepdims=True), selection.counts[:, used]], axis=1)
    names, members = selection.groups("outlet")
    by_size = sorted(range(len(names)), key=lambda i: (-len(members[i]), names[i]))[:MAX_OUTLETS]
    outlets = sorted(names[i] for i in by_size)
    members = [members[names.index(o)] for o in outlets]
    words = selection.words
    shared = Resampler(len(selection), resamples, seed)  # one set of resamples for every view
    outlet_stats = bootstrap_groups(counts, words, members, outlets, resampler=shared)
    topic_names, topic_members = selection.groups("topic")
    topic_stats = bootstrap_groups(counts, words, topic_members, topic_names, resampler=shared)
    genre_ind = np.array([[g == name for name in GENRE_NAMES] for g in selection.genre], dtype=np.float32).reshape(-1, len(GENRE_NAMES))
    ones = np.ones(len(selection))
    genre_stats = bootstrap_groups(genre_ind, ones, members, outlets, resampler=shared, per=1.0)
    frames = _frame_counts(store, selection)
    frame_stats = bootstrap_groups(frames, ones, members, outlets, resampler=shared, per=1.0)
    months = {m for m in selection.month if m}
    period = "month" if len(months) >= 3 or not any(selection.week) else "week"
    time = _time_series(selection, counts, outlets, period, shared)
    script = _static("dashboard.js")
    if "</script" in script.lower():
        raise RuntimeError("dashboard.js must not contain '</script'")
    dates = [m for m in selection.month if m]
    context = {
        "version": __version__,
        "csp": content_security_policy(script),
        "css": Markup(_static("dashboard.css")),
        "script": Markup(script),
        "articles": len(selection),
        "words": int(words.sum()),
        "detections": int(counts[:, 0].sum()),
        "first": min(dates) if dates else None,
        "last": max(dates) if dates else None,
        "months": sorted(months),
        "filters": filters,
        "resamples": resamples,
        "measures": measures,
        "outlets": outlets,
        "outlets_total": len(names),
        "topics": topic_names,
        "outlet_rows": _cells(outlet_stats, measures, "outlet"),
        "topic_rows": _cells(topic_stats, measures, "topic"),
        "genre_rows": _shares(genre_stats, GENRE_NAMES, genre_label),
        "frame_rows": _shares(frame_stats, FRAME_NAMES, frame_label),
        "pairs": _pairs(outlet_stats, measures),
        "top": _top_articles(store, selection, top, href, filters.min_score),
        "colors": SERIES_COLORS,
        "dashes": SERIES_DASHES,
        "models": ", ".join(f"{m} ({n})" for m, n in store.status(None).by_model.items()),
        "data": {
            "time": time,
            "measures": [m.key for m in measures],
            "labels": {m.key: m.label for m in measures},
            "colors": list(SERIES_COLORS),
            "dashes": list(SERIES_DASHES),
        },
    }
    return str(_environment().get_template("dashboard.html.j2").render(**context))


def write_dashboard(
    store: Store,
    output: str | os.PathLike[str],
    *,
    filters: Filters | None = None,
    resamples: int = 1000,
    seed: int = 0,
    top: int = 20,
    reports: bool = True,
) -> Path:
    """Write the dashboard to ``output`` and, with ``reports``, the full report of each
    article it lists into ``<output stem>-reports/`` beside it (linked from the list)."""
    out = Path(output)
    folder = out.with_name(out.stem + "-reports")
    listed: list[int] = []

    def href(article_id: int) -> str | None:
        if not reports:
            return None
        listed.append(article_id)
        return f"{folder.name}/article-{article_id}.html"

    filters = filters or Filters()
    html = build_dashboard(store, filters=filters, resamples=resamples, seed=seed, top=top, href=href)
    if listed:
        folder.mkdir(parents=True, exist_ok=True)
        for article_id in listed:
            (folder / f"article-{article_id}.html").write_text(
                render_analysis(store.analysis(article_id), min_score=filters.min_score), encoding="utf-8"
            )
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)  # a reader never sees half a dashboard
    return out
