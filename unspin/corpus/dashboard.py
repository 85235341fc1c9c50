"""``corpus report``: one self-contained HTML dashboard (inline SVG, CSS and script; no
network) over a corpus database.

It shows techniques per 1,000 words by outlet and by topic (heatmaps), over time (lines
with their confidence bands and each line's trend per year), genre and frame mix per
outlet, outlet-against-outlet differences, rates corrected for the model's errors, and the
most persuasive articles with links to their reports. Every number comes with an interval
(see :mod:`unspin.corpus.stats`); a cell is framed only when a permutation test says it
differs, with the false discovery rate held at 5% across its view (one heatmap, one table,
the trend chart), and every flag reads as a sentence a reader can quote. Groups of fewer
than ``MIN_ARTICLES`` articles are greyed, never flagged. Filters (outlet, period, topic,
technique) work in the page; ``corpus report --outlet/--since/--until/--topic`` recomputes
everything for a subset.

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
from .correction import Quality, correct
from .query import (
    Filters,
    Selection,
    finding,
    load_selection,
    quality_note,
    rows_of,
    times,
    trend_finding,
    years_of,
)
from .stats import (
    ALPHA,
    EXACT_UP_TO,
    MIN_ARTICLES,
    PERMUTATIONS,
    GroupStats,
    Resampler,
    benjamini_hochberg,
    bootstrap_groups,
    permutation_test,
    permutations_for,
    trend,
)
from .store import Store

__all__ = ["build_dashboard", "write_dashboard"]

MAX_OUTLETS = 30  # rows of the outlet views: the largest outlets
MIN_WORDS_TOP = 150  # shorter articles do not compete for "most persuasive"
PAIR_WORK = 500_000_000  # article-measure sums the outlet-against-outlet tests may draw


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
    """Heatmap rows: per group, per measure, the value, interval, ratio to the rest and the
    flag (Benjamini-Hochberg over the whole heatmap)."""
    col_max = np.nanmax(np.where(np.isnan(stats.rate), -np.inf, stats.rate), axis=0) if len(stats.groups) else []
    rows = []
    for i, group in enumerate(stats.groups):
        small = int(stats.articles[i]) < MIN_ARTICLES
        cells = []
        for j, m in enumerate(measures):
            rate = float(stats.rate[i, j])
            top = float(col_max[j]) if np.isfinite(col_max[j]) and col_max[j] > 0 else 1.0
            sign = stats.flag(i, j)
            t = rate / top if not math.isnan(rate) else 0.0
            said = finding(stats, i, j, m.label.lower() if m.key == "all" else m.label, _prefix(what))
            cells.append({
                "measure": m.key, "rate": _fmt(rate, 2 if rate < 1 else 1), "fill": "#eceef1" if small else _mix(t),
                "dark": t > 0.55 and not small, "sign": sign,
                "title": (
                    f"{group} · {m.label}: {_fmt(rate, 2)} per 1,000 words "
                    f"(95% CI {_fmt(float(stats.low[i, j]), 2)} to {_fmt(float(stats.high[i, j]), 2)}); "
                    + (f"vs the rest: {said.split(': ', 1)[1]}" if said else "vs the rest: not compared")
                ),
            })  # fmt: skip
        rows.append({"group": group, "what": what, "articles": int(stats.articles[i]), "cells": cells,
                     "small": small})  # fmt: skip
    return rows


def _findings(stats: GroupStats, measures: list[Measure], what: str) -> list[dict[str, Any]]:
    """The flagged cells of a heatmap as sentences, the clearest first."""
    out = []
    assert stats.q_value is not None
    for i in range(len(stats.groups)):
        for j, m in enumerate(measures):
            sign = stats.flag(i, j)
            if sign:
                text = finding(stats, i, j, m.label.lower() if m.key == "all" else m.label, _prefix(what))
                assert stats.ratio is not None
                out.append({"text": text, "sign": sign, "measure": m.key, "group": stats.groups[i],
                            "q": float(stats.q_value[i, j]), "size": abs(math.log(max(float(stats.ratio[i, j]), 1e-3)))})  # fmt: skip
    return sorted(out, key=lambda f: (f["measure"] != "all", f["q"], -f["size"], f["text"]))


def _prefix(what: str) -> str:
    """Outlets are named as they are; a topic is said to be one ("Topic 3: ...")."""
    return "Topic" if what == "topic" else ""


def _shares(stats: GroupStats, names: Sequence[str], label: Callable[[str], str]) -> list[dict[str, Any]]:
    """Genre or frame mix: a row per genre or frame, a cell per outlet, each the share of the
    outlet's articles with its interval and how it compares with the other outlets'."""
    rows = []
    for j, name in enumerate(names):
        cells = []
        for i, group in enumerate(stats.groups):
            share = float(stats.rate[i, j])
            sign = stats.flag(i, j)
            n = int(stats.articles[i])
            if n < MIN_ARTICLES:
                compare = f"{n} articles, too few to compare (at least {MIN_ARTICLES})"
            else:
                assert stats.ratio is not None and stats.ratio_low is not None and stats.ratio_high is not None
                ci = (f"95% CI {times(float(stats.ratio_low[i, j]))}–{times(float(stats.ratio_high[i, j]))}; "
                      f"{n:,} articles")  # fmt: skip
                ratio = times(float(stats.ratio[i, j]))
                compare = (f"{ratio} times the other outlets' share ({ci})" if sign else
                           f"not shown to differ from the other outlets ({ratio} times, {ci})")  # fmt: skip
            cells.append({
                "outlet": group, "pct": "–" if math.isnan(share) else f"{share * 100:.0f}%",
                "fill": "#eceef1" if n < MIN_ARTICLES else _mix(0.0 if math.isnan(share) else share),
                "dark": share > 0.55 and n >= MIN_ARTICLES, "sign": sign,
                "title": f"{group} · {label(name)}: {_fmt(share * 100)}% of articles (95% CI "
                         f"{_fmt(float(stats.low[i, j]) * 100)}% to {_fmt(float(stats.high[i, j]) * 100)}%); {compare}",
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


def _pairs(stats: GroupStats, measures: list[Measure], counts: np.ndarray, words: np.ndarray,
           members: list[np.ndarray], seed: int) -> list[dict[str, Any]]:
    """Every pair of outlets, per measure: the difference with its interval, the ratio, and
    a permutation test of the two outlets' labels over their articles (Benjamini-Hochberg
    over the whole table)."""
    g = len(stats.groups)
    pairs = [(a, b) for a in range(g) for b in range(a + 1, g)]
    p = np.full((len(pairs), len(measures)), np.nan)
    # many pairs of small outlets: fewer permutations each, so the table stays within seconds
    work = sum(min(len(members[a]), len(members[b]), EXACT_UP_TO) for a, b in pairs) * len(measures)
    draws = min(permutations_for(len(pairs) * len(measures)), max(PERMUTATIONS // 2, PAIR_WORK // max(work, 1)))
    for k, (a, b) in enumerate(pairs):
        rows = np.concatenate([members[a], members[b]])
        p[k] = permutation_test(counts[rows], words[rows], [np.arange(len(members[a]))], seed=seed + k,
                                permutations=draws)[0]  # fmt: skip
    q = benjamini_hochberg(p)
    out = []
    for k, (a, b) in enumerate(pairs):
        diff, low, high = stats.difference(a, b)
        for j, m in enumerate(measures):
            if math.isnan(float(diff[j])):
                continue
            lo, hi = float(low[j]), float(high[j])
            clear = bool(q[k, j] <= ALPHA and (lo > 0 or hi < 0))  # the test, and an interval that agrees
            with np.errstate(all="ignore"):
                ratio = float(stats.rate[a, j] / stats.rate[b, j])
            small = min(int(stats.articles[a]), int(stats.articles[b])) < MIN_ARTICLES
            said = (f"{stats.groups[a]}: {times(ratio)} times {stats.groups[b]} for "
                    f"{m.label.lower() if m.key == 'all' else m.label}" if clear else
                    f"too few articles to compare (at least {MIN_ARTICLES} each)" if small else
                    "not shown to differ")  # fmt: skip
            out.append({
                "a": stats.groups[a], "b": stats.groups[b], "measure": m.key, "label": m.label,
                "rate_a": _fmt(float(stats.rate[a, j]), 2), "rate_b": _fmt(float(stats.rate[b, j]), 2),
                "diff": f"{float(diff[j]):+.2f}", "low": f"{lo:+.2f}", "high": f"{hi:+.2f}",
                "different": clear, "finding": said,
            })  # fmt: skip
    return out


def _corrected_rows(stats: GroupStats, measures: list[Measure], techniques: list[str],
                    quality: Quality | None, seed: int) -> list[dict[str, Any]]:
    """Per outlet and measure: the detected rate and the estimated true rate, each with its
    interval (the measures are "all" then one column per technique of ``techniques``)."""
    out = []
    for j, m in enumerate(measures):
        cols = list(range(1, len(measures))) if m.key == "all" else [j]
        names = [techniques[c - 1] for c in cols]
        fixed = correct(stats.detections[:, cols].astype(np.float64), stats.words, stats.replicates[:, :, cols],
                        names, quality, seed=seed) if quality is not None else None  # fmt: skip
        for i, group in enumerate(stats.groups):
            out.append({
                "group": group, "measure": m.key, "label": m.label, "articles": int(stats.articles[i]),
                "rate": _fmt(float(stats.rate[i, j]), 2),
                "ci": f"{_fmt(float(stats.low[i, j]), 2)} to {_fmt(float(stats.high[i, j]), 2)}",
                "corrected": _fmt(float(fixed.rate[i]), 2) if fixed else "no estimate",
                "corrected_ci": f"{_fmt(float(fixed.low[i]), 2)} to {_fmt(float(fixed.high[i]), 2)}" if fixed else "",
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


def _trends(selection: Selection, counts: np.ndarray, outlets: list[str], period: str,
            measures: list[Measure], shared: Resampler, resamples: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Per line of the time chart ("All outlets" and each outlet), per measure: the trend as a
    sentence, flagged with Benjamini-Hochberg over every line and measure of the chart."""
    years = years_of(selection, period)
    names = ["All outlets", *outlets]
    cells = len(names) * len(measures)
    found = [trend(counts, selection.words, years, resampler=shared, seed=seed, permutations=permutations_for(cells))]
    outlet_of = np.array(selection.outlet, dtype=object)
    for name in outlets:
        rows = np.flatnonzero(outlet_of == name)
        found.append(trend(counts[rows], selection.words[rows], years[rows], resamples=resamples, seed=seed,
                           permutations=permutations_for(cells)))  # fmt: skip
    q = benjamini_hochberg(np.stack([t.p_value for t in found]))
    out: dict[str, list[dict[str, Any]]] = {}
    for k, (name, t) in enumerate(zip(names, found, strict=True)):
        t.q_value = q[k]
        out[name] = [{"text": trend_finding(t, j, m.label, period), "flag": bool(q[k, j] <= ALPHA)}
                     for j, m in enumerate(measures)]  # fmt: skip
    return out


def build_dashboard(
    store: Store,
    *,
    filters: Filters | None = None,
    resamples: int = 1000,
    seed: int = 0,
    top: int = 20,
    href: Callable[[int], str | None] = lambda _id: None,
    quality: Quality | None = None,
) -> str:
    """The dashboard as one HTML document. ``href(article_id)``: the link to an article's
    report (None: no link); ``quality``: the model's held-out counts, for corrected rates."""
    filters = filters or Filters()
    quality, note = quality_note(store, quality, filters.min_score)
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
    outlet_stats = bootstrap_groups(counts, words, members, outlets, resampler=shared, seed=seed)
    outlet_stats.test(counts, words, members, seed=seed)
    topic_names, topic_members = selection.groups("topic")
    topic_stats = bootstrap_groups(counts, words, topic_members, topic_names, resampler=shared, seed=seed)
    topic_stats.test(counts, words, topic_members, seed=seed)
    genre_ind = np.array([[g == name for name in GENRE_NAMES] for g in selection.genre], dtype=np.float32).reshape(-1, len(GENRE_NAMES))
    ones = np.ones(len(selection))
    genre_stats = bootstrap_groups(genre_ind, ones, members, outlets, resampler=shared, per=1.0, seed=seed)
    genre_stats.test(genre_ind, ones, members, seed=seed)
    frames = _frame_counts(store, selection)
    frame_stats = bootstrap_groups(frames, ones, members, outlets, resampler=shared, per=1.0, seed=seed)
    frame_stats.test(frames, ones, members, seed=seed)
    months = {m for m in selection.month if m}
    period = "month" if len(months) >= 3 or not any(selection.week) else "week"
    time = _time_series(selection, counts, outlets, period, shared)
    time["trends"] = _trends(selection, counts, outlets, period, measures, shared, resamples, seed)
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
        "min_articles": MIN_ARTICLES,
        "alpha": ALPHA,
        "outlet_rows": _cells(outlet_stats, measures, "outlet"),
        "outlet_findings": _findings(outlet_stats, measures, "outlet"),
        "topic_rows": _cells(topic_stats, measures, "topic"),
        "topic_findings": _findings(topic_stats, measures, "topic"),
        "corrected": _corrected_rows(outlet_stats, measures, [selection.techniques[j] for j in used], quality, seed),
        "corrected_note": note,
        "genre_rows": _shares(genre_stats, GENRE_NAMES, genre_label),
        "frame_rows": _shares(frame_stats, FRAME_NAMES, frame_label),
        "pairs": _pairs(outlet_stats, measures, counts, words, members, seed),
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
    quality: Quality | None = None,
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
    html = build_dashboard(store, filters=filters, resamples=resamples, seed=seed, top=top, href=href,
                           quality=quality)
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
