"""Questions across a corpus: techniques per 1,000 words by outlet, topic, month, week or
genre, each with a bootstrap confidence interval, its ratio to the rest of the corpus, a
permutation test with the false discovery rate controlled across the table, the rate
corrected for the model's measured errors, and, over time, the trend as a slope.

:func:`load_selection` reads the analysed articles (with filters) into arrays once;
:func:`breakdown` groups them. The dashboard and the web page use the same two functions.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..report.labels import technique_info
from ..taxonomy import ABBREVIATIONS, TECHNIQUE_NAMES, normalize_label
from .correction import Corrected, Quality, corpus_models, correct, correct_total
from .stats import ALPHA, MIN_ARTICLES, GroupStats, Resampler, Trend, bootstrap_groups, trend
from .store import Store
from .tables import write_table

__all__ = [
    "BY",
    "Breakdown",
    "Filters",
    "Selection",
    "breakdown",
    "load_selection",
    "resolve_technique",
]

BY = ("outlet", "topic", "month", "week", "genre")
UNKNOWN = "(unknown)"
PERIODS = ("month", "week")  # compared by their trend, not one by one
COLUMNS = ("group", "articles", "words", "detections", "per_1k_words", "ci_low", "ci_high",
           "vs_rest", "vs_rest_low", "vs_rest_high", "ratio", "ratio_low", "ratio_high",
           "p_value", "q_value", "different", "corrected_per_1k_words", "corrected_low",
           "corrected_high", "finding")  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """Which analysed articles a question is about (empty means all), and which of their
    detections count: those scored at least ``min_score`` (``Settings.min_score``)."""

    outlets: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    since: str | None = None  # "YYYY-MM" or "YYYY-MM-DD", inclusive
    until: str | None = None
    min_score: float = 0.0

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = ["1"], []
        if self.outlets:
            clauses.append(f"coalesce(a.outlet, '{UNKNOWN}') IN ({','.join('?' * len(self.outlets))})")
            params += list(self.outlets)
        if self.since:
            clauses.append("a.published >= ?")
            params.append(_day(self.since, end=False))
        if self.until:
            clauses.append("a.published <= ?")
            params.append(_day(self.until, end=True))
        if self.topics:
            clauses.append(
                "a.id IN (SELECT at.article_id FROM article_topics at JOIN topics t "
                f"ON t.id = at.topic_id WHERE t.name IN ({','.join('?' * len(self.topics))}))"
            )
            params += list(self.topics)
        return " AND ".join(clauses), params


def _day(value: str, *, end: bool) -> str:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    if re.fullmatch(r"\d{4}-\d{2}", value):
        return value + ("-31" if end else "-01")
    if re.fullmatch(r"\d{4}", value):
        return value + ("-12-31" if end else "-01-01")
    raise InputError(f"{value!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD.")


def resolve_technique(name: str | None) -> str | None:
    """The canonical technique name for ``name`` (any spelling the taxonomy knows)."""
    if name is None:
        return None
    found = normalize_label(name)
    if found is None:  # an abbreviation (NC) or the start of a name (name_calling)
        key = re.sub(r"[^a-z]", "", name.lower())
        by_abbr = {a.lower(): t for t, a in ABBREVIATIONS.items()}
        starts = [t for t in TECHNIQUE_NAMES if re.sub(r"[^a-z]", "", t.lower()).startswith(key)]
        found = by_abbr.get(key) or (starts[0] if key and len(starts) == 1 else None)
    if found is None or found not in TECHNIQUE_NAMES:
        raise InputError(
            f"Unknown technique {name!r}; known techniques: {', '.join(TECHNIQUE_NAMES)}."
        )
    return found


@dataclass
class Selection:
    """The analysed articles a question is about, as arrays in article-id order."""

    ids: np.ndarray
    words: np.ndarray
    outlet: list[str]
    month: list[str | None]
    week: list[str | None]
    genre: list[str]
    counts: np.ndarray  # [N, len(techniques)] detections per technique
    techniques: tuple[str, ...]
    topics: dict[str, np.ndarray] = field(default_factory=dict)  # topic -> row indices

    def __len__(self) -> int:
        return len(self.ids)

    def groups(self, by: str) -> tuple[list[str], list[np.ndarray]]:
        """Group names and the rows of each, for ``by`` in :data:`BY`."""
        if by == "topic":
            names = sorted(self.topics)
            return names, [self.topics[n] for n in names]
        if by not in BY:
            raise InputError(f"Cannot group by {by!r}; choose one of {', '.join(BY)}.")
        keys: list[str | None] = getattr(self, by)
        rows: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if key is not None:
                rows.setdefault(key, []).append(i)
        names = sorted(rows)
        return names, [np.array(rows[n], dtype=np.int64) for n in names]


def rows_of(ids: np.ndarray, article_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``ids`` (sorted) of ``article_ids``, and which of those are there at all."""
    at = np.searchsorted(ids, article_ids)
    found = at < len(ids)
    found[found] = ids[at[found]] == article_ids[found]
    return at, found


def load_selection(
    store: Store,
    filters: Filters | None = None,
    *,
    techniques: Sequence[str] | None = TECHNIQUE_NAMES,
    topics: bool = True,
) -> Selection:
    """The analysed articles that pass ``filters``, with detections per technique (or, with
    ``techniques=None``, all detections in one column, without reading the spans unless a
    ``min_score`` leaves some out), and with ``topics``, the members of each topic."""
    filters = filters or Filters()
    where, params = filters.where()
    rows = store.rows(
        "SELECT a.id, a.words, coalesce(a.outlet, ?), a.month, a.week, coalesce(an.genre, ?), "
        f"an.detections FROM articles a JOIN analyses an ON an.article_id = a.id WHERE {where} "
        "ORDER BY a.id",
        [UNKNOWN, UNKNOWN, *params],
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 7
    ids = np.array(columns[0], dtype=np.int64)
    scored = ("s.score >= ?", [filters.min_score]) if filters.min_score > 0 else ("1", [])
    if techniques is None and filters.min_score <= 0:
        counts = np.array(columns[6], dtype=np.float32).reshape(-1, 1)
    elif techniques is None:
        counts = np.zeros((len(ids), 1), dtype=np.float32)
        joined = "JOIN articles a ON a.id = s.article_id" if params else ""
        found = store.rows(
            f"SELECT s.article_id, count(*) FROM spans s {joined} WHERE {scored[0]} AND {where} GROUP BY 1",
            [*scored[1], *params],
        ) if len(ids) else []  # fmt: skip
        if found:
            article_ids, n = zip(*found, strict=True)
            at, ok = rows_of(ids, np.array(article_ids, dtype=np.int64))
            counts[at[ok], 0] = np.array(n, dtype=np.float32)[ok]
    else:
        counts = np.zeros((len(ids), len(techniques)), dtype=np.float32)
        column = {t: j for j, t in enumerate(techniques)}
        marks = ",".join("?" * len(techniques))
        joined = "JOIN articles a ON a.id = s.article_id" if params else ""  # filters need it
        # for every technique, no IN: the (article_id, technique) index is read in order
        which = "1" if set(TECHNIQUE_NAMES) <= set(techniques) else f"s.technique IN ({marks})"
        found = store.rows(
            f"SELECT s.article_id, s.technique, count(*) FROM spans s {joined} "
            f"WHERE {which} AND {scored[0]} AND {where} GROUP BY 1, 2",
            [*(techniques if which != "1" else ()), *scored[1], *params],
        ) if len(ids) else []  # fmt: skip
        if found:
            article_ids, names, n = zip(*found, strict=True)
            at, ok = rows_of(ids, np.array(article_ids, dtype=np.int64))
            cols = np.array([column.get(t, -1) for t in names])
            ok &= cols >= 0  # a technique this taxonomy does not know (another model)
            counts[at[ok], cols[ok]] = np.array(n, dtype=np.float32)[ok]
    members: dict[str, np.ndarray] = {}
    links = store.rows(
        "SELECT t.name, at.article_id FROM article_topics at JOIN topics t ON t.id = at.topic_id "
        "ORDER BY t.kind, t.name, at.article_id"
    ) if topics else []  # fmt: skip
    if links and len(ids):
        names_, article_ids = zip(*links, strict=True)
        at, ok = rows_of(ids, np.array(article_ids, dtype=np.int64))
        name_arr = np.array(names_, dtype=object)
        for name in dict.fromkeys(names_):
            members[name] = at[ok & (name_arr == name)]
    return Selection(
        ids=ids,
        words=np.array(columns[1], dtype=np.float64),
        outlet=list(columns[2]),
        month=list(columns[3]),
        week=list(columns[4]),
        genre=list(columns[5]),
        counts=counts,
        techniques=tuple(techniques) if techniques is not None else ("all",),
        topics={k: v for k, v in members.items() if len(v)},
    )


def measure_label(technique: str | None) -> str:
    return technique_info(technique).label if technique else "all techniques"


def times(value: float) -> str:
    """A ratio as a reader quotes it: 1.6, 0.43, 12."""
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞"
    return f"{value:.2f}" if value < 0.995 else f"{value:.1f}" if value < 9.95 else f"{value:.0f}"


def finding(stats: GroupStats, i: int, j: int, label: str, what: str = "") -> str:
    """The sentence a reader can quote about group i, measure j ("" when its rate is unknown)."""
    n = int(stats.articles[i])
    name = f"{what} {stats.groups[i]}".strip()
    if stats.p_value is None or np.isnan(stats.p_value[i, j]):
        if n < MIN_ARTICLES:
            return f"{name}: {n} articles, too few to compare (at least {MIN_ARTICLES})"
        return ""
    assert stats.ratio is not None and stats.ratio_low is not None and stats.ratio_high is not None
    ci = f"95% CI {times(float(stats.ratio_low[i, j]))}–{times(float(stats.ratio_high[i, j]))}; {n:,} articles"
    ratio = times(float(stats.ratio[i, j]))
    if stats.flag(i, j):
        if stats.detections[i, j] == 0:
            return f"{name}: no {label} detected, less than the rest of the corpus (ratio {ci})"
        return f"{name}: {ratio} times the rest of the corpus for {label} ({ci})"
    return f"{name}: not shown to differ from the rest for {label} ({ratio} times, {ci})"


def trend_finding(t: Trend, j: int, label: str, period: str) -> str:
    """"Loaded language: +12% a year (95% CI +3% to +22%; ...)" or why there is no claim."""
    if np.isnan(t.p_value[j]):
        if np.isnan(t.change[j]) and t.articles >= MIN_ARTICLES and t.periods >= 3:
            return f"{label}: no detections, no trend"
        return (f"{label}: no trend claimed ({t.articles} dated articles over {t.periods} {period}s; "
                f"needs {MIN_ARTICLES} articles and 3 {period}s)")  # fmt: skip

    def pct(x: float) -> str:
        return "–" if math.isnan(x) else f"{x * 100:+.0f}%"

    q = t.q_value[j] if t.q_value is not None else t.p_value[j]
    what = "a year" if q <= ALPHA else "a year, not shown to differ from no trend"
    return (f"{label}: {pct(float(t.change[j]))} {what} (95% CI {pct(float(t.low[j]))} to "
            f"{pct(float(t.high[j]))}; {t.articles:,} articles over {t.periods} {period}s)")  # fmt: skip


@dataclass
class Breakdown:
    """One table: a row per group. ``technique`` None: all techniques together. Groups are
    tested against the rest (outlet, topic, genre); periods are not, their ``trend`` is."""

    by: str
    technique: str | None
    stats: GroupStats
    resamples: int
    corrected: Corrected | None = None
    quality_note: str = ""
    trend: Trend | None = None

    def rows(self) -> list[dict[str, Any]]:
        s = self.stats
        label = measure_label(self.technique)
        out: list[dict[str, Any]] = []
        for i, group in enumerate(s.groups):
            c = self.corrected
            out.append({
                "group": group,
                "articles": int(s.articles[i]),
                "words": int(s.words[i]),
                "detections": int(s.detections[i, 0]),
                "per_1k_words": _num(s.rate[i, 0]),
                "ci_low": _num(s.low[i, 0]),
                "ci_high": _num(s.high[i, 0]),
                "vs_rest": _num(s.vs_rest[i, 0]),
                "vs_rest_low": _num(s.vs_rest_low[i, 0]),
                "vs_rest_high": _num(s.vs_rest_high[i, 0]),
                "ratio": _num(s.ratio[i, 0]) if s.ratio is not None else None,
                "ratio_low": _num(s.ratio_low[i, 0]) if s.ratio_low is not None else None,
                "ratio_high": _num(s.ratio_high[i, 0]) if s.ratio_high is not None else None,
                "p_value": _num(s.p_value[i, 0], 6) if s.p_value is not None else None,
                "q_value": _num(s.q_value[i, 0], 6) if s.q_value is not None else None,
                "different": bool(s.flag(i, 0)),
                "corrected_per_1k_words": _num(c.rate[i]) if c else None,
                "corrected_low": _num(c.low[i]) if c else None,
                "corrected_high": _num(c.high[i]) if c else None,
                "finding": finding(s, i, 0, label, self.by.capitalize() if self.by in ("topic", "genre") else ""),
            })  # fmt: skip
        if self.by not in PERIODS:
            out.sort(key=lambda r: (-(r["per_1k_words"] or 0.0), r["group"]))
        return out

    @property
    def measure(self) -> str:
        return self.technique or "all techniques"

    def trend_text(self) -> str | None:
        if self.trend is None:
            return None
        return trend_finding(self.trend, 0, measure_label(self.technique).capitalize(), self.by)

    def summary(self) -> dict[str, Any]:
        """What the table claims and how, for the JSON output and the web page."""
        out: dict[str, Any] = {
            "by": self.by, "technique": self.technique, "confidence": self.stats.level,
            "resamples": self.resamples,
            "method": ("groups against the rest of the selection: permutation test of group labels over "
                       f"articles, Benjamini-Hochberg false discovery rate {ALPHA} over the table; "
                       f"no claim for a group of fewer than {MIN_ARTICLES} articles"
                       if self.by not in PERIODS else
                       f"periods: the trend (Poisson rate model, slope per year), its test permuting "
                       f"dates over articles; no claim below {MIN_ARTICLES} dated articles or 3 {self.by}s"),
            "min_articles": MIN_ARTICLES,
            "corrected": self.quality_note,
        }  # fmt: skip
        if self.trend is not None:
            t = self.trend
            out["trend"] = {
                "change_per_year": _num(t.change[0]), "low": _num(t.low[0]), "high": _num(t.high[0]),
                "p_value": _num(t.p_value[0], 6), "different": bool(t.p_value[0] <= ALPHA),
                "articles": t.articles, "periods": t.periods, "finding": self.trend_text(),
            }  # fmt: skip
        return out

    def to_json(self) -> str:
        return json.dumps({**self.summary(), "rows": self.rows()}, indent=2, ensure_ascii=False) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows())
        return buf.getvalue()

    def write_parquet(self, path: str) -> None:
        write_table(self.rows(), path, "parquet", columns=COLUMNS)


def _num(value: float, digits: int = 4) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else round(value, digits)


def quality_note(store: Store, quality: Quality | None, min_score: float = 0.0) -> tuple[Quality | None, str]:
    """The quality to correct with, if it fits the corpus and the detections counted, and what
    the corrected column says. The counts are of every detection the model makes, so they say
    nothing about what is left once a ``min_score`` hides some."""
    if quality is None:
        return None, ("not available: the model has no held-out quality counts "
                      "(python -m unspin.train.quality --write MODEL/model.json)")  # fmt: skip
    if min_score > 0:
        return None, (f"not available: the quality counts are for every detection, and only those "
                      f"scored {min_score:g} or more are counted here")  # fmt: skip
    models = corpus_models(store)
    if models != [quality.model]:
        return None, (f"not available: the quality counts are for model {quality.model}, this corpus "
                      f"was analysed by {', '.join(models) or 'no model'}")  # fmt: skip
    return quality, "an estimate: " + quality.describe()


def years_of(selection: Selection, period: str) -> np.ndarray:
    """Each article's date in years (its month or week), NaN when undated."""
    out = np.full(len(selection), np.nan)
    for i, key in enumerate(getattr(selection, period)):
        if key:
            y, rest = int(key[:4]), key[5:]
            out[i] = y + ((int(rest[:2]) - 1) / 12 + (int(rest[3:5]) - 1) / 365.25 if period == "week" else (int(rest) - 1) / 12)
    return out


def group_technique_counts(store: Store, filters: Filters, by: str, names: Sequence[str]) -> np.ndarray:
    """Detections per group of ``by`` and technique [G, T], counted in SQL: what the corrected
    total needs, without reading detections article by article."""
    key = {"outlet": f"coalesce(a.outlet, '{UNKNOWN}')", "month": "a.month", "week": "a.week",
           "genre": f"coalesce(an.genre, '{UNKNOWN}')", "topic": "tp.name"}[by]  # fmt: skip
    joins = "JOIN articles a ON a.id = s.article_id"
    if by == "genre":
        joins += " JOIN analyses an ON an.article_id = a.id"
    if by == "topic":
        joins += " JOIN article_topics atp ON atp.article_id = a.id JOIN topics tp ON tp.id = atp.topic_id"
    where, params = filters.where()
    if filters.min_score > 0:
        where, params = f"s.score >= ? AND {where}", [filters.min_score, *params]
    out = np.zeros((len(names), len(TECHNIQUE_NAMES)))
    row = {n: i for i, n in enumerate(names)}
    column = {t: j for j, t in enumerate(TECHNIQUE_NAMES)}
    # analysed articles only, as everywhere: spans exist only for them
    for group, technique, n in store.rows(
        f"SELECT {key}, s.technique, count(*) FROM spans s {joins} WHERE {where} GROUP BY 1, 2", params
    ):
        if group in row and technique in column:
            out[row[group], column[technique]] = n
    return out


def breakdown(
    store: Store,
    by: str,
    *,
    technique: str | None = None,
    filters: Filters | None = None,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    quality: Quality | None = None,
) -> Breakdown:
    """Detections per 1,000 words (of ``technique``, or of all) for each group of ``by``;
    ``quality``: the model's held-out counts, for the corrected rates."""
    filters = filters or Filters()
    technique = resolve_technique(technique)
    quality, note = quality_note(store, quality, filters.min_score)
    selection = load_selection(store, filters, techniques=(technique,) if technique else None,
                               topics=by == "topic")  # fmt: skip
    if by == "topic" and not selection.topics:
        raise InputError("This corpus has no topics yet: run unspin corpus topics DB first.")
    names, members = selection.groups(by)
    counts = selection.counts
    shared = Resampler(len(selection), resamples, seed)
    stats = bootstrap_groups(counts, selection.words, members, names, level=level, seed=seed, resampler=shared)
    if by not in PERIODS:
        stats.test(counts, selection.words, members, seed=seed)
    corrected = None
    if quality is not None:
        if technique is None:
            corrected = correct_total(group_technique_counts(store, filters, by, names), stats, quality,
                                      level=level, seed=seed)  # fmt: skip
        else:
            corrected = correct(stats.detections.astype(np.float64), stats.words, stats.replicates,
                                [technique], quality, level=level, seed=seed)  # fmt: skip
        if corrected is None:
            note = f"not available: no held-out estimate for {measure_label(technique)} (no true positive)"
        elif corrected.left_out:
            note += f"; leaves out {', '.join(map(measure_label, corrected.left_out))} (no held-out estimate)"
    found = None
    if by in PERIODS:
        found = trend(counts, selection.words, years_of(selection, by), resampler=shared, level=level, seed=seed)
    return Breakdown(by=by, technique=technique, stats=stats, resamples=resamples, corrected=corrected,
                     quality_note=note, trend=found)  # fmt: skip
