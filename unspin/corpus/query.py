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
from ..report.labels import ABBREVIATIONS
from ..taxonomy import TECHNIQUE_NAMES, normalize_label
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
    """Which analysed articles a question is about; empty means all."""

    outlets: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    since: str | None = None  # "YYYY-MM" or "YYYY-MM-DD", inclusive
    until: str | None = None

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


def load_selection(
    store: Store, filters: Filters | None = None, *, techniques: Sequence[str] = TECHNIQUE_NAMES
) -> Selection:
    where, params = (filters or Filters()).where()
    rows = store.rows(
        "SELECT a.id, a.words, coalesce(a.outlet, ?), a.month, a.week, coalesce(an.genre, ?) "
        f"FROM articles a JOIN analyses an ON an.article_id = a.id WHERE {where} ORDER BY a.id",
        [UNKNOWN, UNKNOWN, *params],
    )
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    counts = np.zeros((len(ids), len(techniques)), dtype=np.float32)
    column = {t: j for j, t in enumerate(techniques)}
    if len(ids):
        marks = ",".join("?" * len(techniques))
        for article_id, technique, n in store.rows(
            f"SELECT s.article_id, s.technique, count(*) FROM spans s JOIN articles a "
            f"ON a.id = s.article_id WHERE s.technique IN ({marks}) AND {where} GROUP BY 1, 2",
            [*techniques, *params],
        ):
            i = int(np.searchsorted(ids, article_id))
            if i < len(ids) and ids[i] == article_id:
                counts[i, column[technique]] = n
    topics: dict[str, list[int]] = {}
    for article_id, name in store.rows(
        "SELECT at.article_id, t.name FROM article_topics at JOIN topics t ON t.id = at.topic_id "
        "ORDER BY t.kind, t.name, at.article_id"
    ):
        i = int(np.searchsorted(ids, article_id))
        if i < len(ids) and ids[i] == article_id:
            topics.setdefault(name, []).append(i)
    return Selection(
        ids=ids,
        words=np.array([r[1] for r in rows], dtype=np.float64),
        outlet=[r[2] for r in rows],
        month=[r[3] for r in rows],
        week=[r[4] for r in rows],
        genre=[r[5] for r in rows],
        counts=counts,
        techniques=tuple(techniques),
        topics={k: np.array(v, dtype=np.int64) for k, v in topics.items()},
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
    selection = load_selection(store, filters, techniques=(technique,) if technique else TECHNIQUE_NAMES)
    if by == "topic" and not selection.topics:
        raise InputError("This corpus has no topics yet: run unspin corpus topics DB first.")
    names, members = selection.groups(by)
    counts = selection.counts if technique else selection.counts.sum(axis=1, keepdims=True)
    stats = bootstrap_groups(counts, selection.words, members, names, resamples=resamples,
                             level=level, seed=seed)  # fmt: skip
    return Breakdown(by=by, technique=technique, stats=stats, resamples=resamples)
