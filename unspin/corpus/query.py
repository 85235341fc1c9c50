"""Questions across a corpus: techniques per 1,000 words by outlet, topic, month, week or
genre, each with a bootstrap confidence interval and its difference from the rest.

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
from ..taxonomy import ABBREVIATIONS, TECHNIQUE_NAMES, normalize_label
from .stats import GroupStats, bootstrap_groups
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
COLUMNS = ("group", "articles", "words", "detections", "per_1k_words", "ci_low", "ci_high",
           "vs_rest", "vs_rest_low", "vs_rest_high", "different")  # fmt: skip


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


@dataclass
class Breakdown:
    """One table: a row per group. ``technique`` None: all techniques together."""

    by: str
    technique: str | None
    stats: GroupStats
    resamples: int

    def rows(self) -> list[dict[str, Any]]:
        s = self.stats
        out: list[dict[str, Any]] = []
        for i, group in enumerate(s.groups):
            low, high = float(s.vs_rest_low[i, 0]), float(s.vs_rest_high[i, 0])
            out.append({
                "group": group,
                "articles": int(s.articles[i]),
                "words": int(s.words[i]),
                "detections": int(s.detections[i, 0]),
                "per_1k_words": _num(s.rate[i, 0]),
                "ci_low": _num(s.low[i, 0]),
                "ci_high": _num(s.high[i, 0]),
                "vs_rest": _num(s.vs_rest[i, 0]),
                "vs_rest_low": _num(low),
                "vs_rest_high": _num(high),
                "different": bool(low > 0 or high < 0),
            })  # fmt: skip
        if self.by in ("outlet", "topic", "genre"):
            out.sort(key=lambda r: (-(r["per_1k_words"] or 0.0), r["group"]))
        return out

    @property
    def measure(self) -> str:
        return self.technique or "all techniques"

    def to_json(self) -> str:
        return json.dumps(
            {"by": self.by, "technique": self.technique, "confidence": self.stats.level,
             "resamples": self.resamples, "rows": self.rows()},
            indent=2, ensure_ascii=False,
        ) + "\n"  # fmt: skip

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows())
        return buf.getvalue()

    def write_parquet(self, path: str) -> None:
        write_table(self.rows(), path, "parquet", columns=COLUMNS)


def _num(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 4)


def breakdown(
    store: Store,
    by: str,
    *,
    technique: str | None = None,
    filters: Filters | None = None,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Breakdown:
    """Detections per 1,000 words (of ``technique``, or of all) for each group of ``by``."""
    filters = filters or Filters()
    technique = resolve_technique(technique)
    selection = load_selection(store, filters, techniques=(technique,) if technique else None,
                               topics=by == "topic")
    if by == "topic" and not selection.topics:
        raise InputError("This corpus has no topics yet: run unspin corpus topics DB first.")
    names, members = selection.groups(by)
    stats = bootstrap_groups(selection.counts, selection.words, members, names, resamples=resamples,
                             level=level, seed=seed)  # fmt: skip
    return Breakdown(by=by, technique=technique, stats=stats, resamples=resamples)
