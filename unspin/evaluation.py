"""Scores used by threshold tuning and by ``benchmarks/accuracy.py``.

Span F1 follows SemEval-2020 Task 11: a predicted span earns partial credit for its
overlap with gold spans of the same technique (normalised by its own length for
precision, by the gold span's length for recall). Overlapping spans of one technique
are merged first so a region is never counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

SpanTuple = tuple[str, int, int]  # technique, start, end


def merge_spans(spans: Iterable[SpanTuple]) -> dict[str, list[tuple[int, int]]]:
    by: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for tech, s, e in sorted(spans, key=lambda x: (x[0], x[1], x[2])):
        if e <= s:
            continue
        cur = by[tech]
        if cur and s <= cur[-1][1]:
            cur[-1] = (cur[-1][0], max(cur[-1][1], e))
        else:
            cur.append((s, e))
    return by


@dataclass
class SpanCounts:
    """Sums over articles; precision and recall are micro-averaged over spans."""

    p_credit: float = 0.0
    r_credit: float = 0.0
    n_pred: int = 0
    n_gold: int = 0

    def add(self, pred: Iterable[SpanTuple], gold: Iterable[SpanTuple]) -> None:
        p, g = merge_spans(pred), merge_spans(gold)
        for tech, ps in p.items():
            self.n_pred += len(ps)
            gs = g.get(tech, [])
            for s, e in ps:
                self.p_credit += sum(max(0, min(e, ge) - max(s, gs_)) for gs_, ge in gs) / (e - s)
        for tech, gs in g.items():
            self.n_gold += len(gs)
            ps = p.get(tech, [])
            for s, e in gs:
                self.r_credit += sum(max(0, min(e, pe) - max(s, ps_)) for ps_, pe in ps) / (e - s)

    @property
    def precision(self) -> float:
        return self.p_credit / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.r_credit / self.n_gold if self.n_gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def span_f1(pred: Sequence[Sequence[SpanTuple]], gold: Sequence[Sequence[SpanTuple]]) -> SpanCounts:
    counts = SpanCounts()
    for p, g in zip(pred, gold, strict=True):
        counts.add(p, g)
    return counts


def f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def multilabel_f1(
    pred: Sequence[Iterable[str]], gold: Sequence[Iterable[str]], labels: Sequence[str]
) -> dict[str, float]:
    """Micro- and macro-F1 over items with label sets (macro over ``labels``)."""
    per = {name: [0, 0, 0] for name in labels}
    for p, g in zip(pred, gold, strict=True):
        ps, gs = set(p), set(g)
        for name in ps | gs:
            if name not in per:
                continue
            c = per[name]
            if name in ps and name in gs:
                c[0] += 1
            elif name in ps:
                c[1] += 1
            else:
                c[2] += 1
    tp, fp, fn = (sum(c[i] for c in per.values()) for i in range(3))
    present = [c for c in per.values() if c[0] + c[2] > 0]  # classes with gold support
    return {
        "micro_f1": f1(tp, fp, fn),
        "macro_f1": sum(f1(*c) for c in present) / len(present) if present else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
    }


def macro_f1_single(pred: Sequence[str], gold: Sequence[str], labels: Sequence[str]) -> float:
    """Macro-F1 for single-label classification, over labels present in gold or pred."""
    scores = []
    for name in labels:
        tp = sum(p == name and g == name for p, g in zip(pred, gold, strict=True))
        fp = sum(p == name and g != name for p, g in zip(pred, gold, strict=True))
        fn = sum(p != name and g == name for p, g in zip(pred, gold, strict=True))
        if tp + fp + fn:
            scores.append(f1(tp, fp, fn))
    return sum(scores) / len(scores) if scores else 0.0


def best_threshold(
    probs: np.ndarray, gold: np.ndarray, grid: Iterable[float], *, default: float | None = None
) -> tuple[float, float]:
    """The threshold on ``grid`` giving the highest F1 (the first one on ties) and that F1.

    When no threshold scores above zero: ``default`` if given, else the grid's first value.
    """
    gold = np.asarray(gold, dtype=bool)
    thresholds = list(grid)
    best_th = thresholds[0] if default is None else default
    best_f = -1.0 if default is None else 0.0
    for th in thresholds:
        pred = probs >= th
        f = 2 * float((pred & gold).sum()) / max(float(pred.sum() + gold.sum()), 1.0)
        if f > best_f:
            best_f, best_th = f, th
    return float(best_th), max(best_f, 0.0)


# -- reliability: do displayed confidences mean what they say? ------------------------------

def char_precision(start: int, end: int, gold: Sequence[tuple[int, int]]) -> float:
    """The share of [start, end) inside the (merged) ``gold`` spans of one technique."""
    inside = sum(max(0, min(end, ge) - max(start, gs)) for gs, ge in gold)
    return inside / (end - start) if end > start else 0.0


@dataclass
class Bin:
    low: float
    high: float
    count: int
    mean_score: float
    observed: float


def reliability(scores: Sequence[float], targets: Sequence[float], width: float = 0.2) -> list[Bin]:
    """Score bins of ``width``: how many detections, their mean displayed score and the
    observed mean target (the share right, or the mean character precision)."""
    x, y = np.asarray(scores, dtype=float), np.asarray(targets, dtype=float)
    out = []
    edges = np.round(np.arange(0.0, 1.0, width), 6)
    for low in edges:
        high = min(1.0, low + width)
        inside = (x >= low) & ((x < high) | (high >= 1.0))
        if inside.any():
            out.append(Bin(float(low), float(high), int(inside.sum()), float(x[inside].mean()),
                           float(y[inside].mean())))
    return out


def expected_calibration_error(bins: Sequence[Bin]) -> float:
    total = sum(b.count for b in bins)
    return sum(b.count * abs(b.mean_score - b.observed) for b in bins) / total if total else 0.0
