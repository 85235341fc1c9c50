"""Rates corrected for the model's measured errors: an estimate of how often a technique is
really there, beside how often the model detects it.

The model's ``model.json`` may carry a ``"quality"`` section (written by
``python -m unspin.train.quality``): per technique, the counts of true positives, false
positives and false negatives on held-out labelled articles. Adjusted classify-and-count
then estimates the true count as detected x precision / recall, that is detected x
(tp + fn) / (tp + fp): the held-out ratio of what annotators mark to what the model marks.
The correction's own uncertainty is carried into the interval: in each bootstrap resample,
precision and recall are drawn from their Beta posteriors (Jeffreys priors) given the
counts. A technique with no true positive held out has no estimate (its recall could be
anything), and neither has a model without the section: the corrected column says so.

The counts are paragraph labels; applied to span rates, the correction assumes the model
over- or under-detects a technique by the same factor in spans as in paragraphs, and that
the corpus's articles are like the held-out ones (news, read as English).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelError
from ..model import DEFAULT_DIR
from ..model.meta import ModelMeta, read_meta
from ..taxonomy import TECHNIQUE_NAMES
from .stats import _interval, poisson_draws

__all__ = ["Quality", "corpus_models", "load_quality", "quality_of"]


@dataclass(frozen=True)
class Quality:
    """The held-out counts of one model: technique -> (tp, fp, fn)."""

    model: str  # "id version"
    source: str
    articles: int
    unit: str
    counts: dict[str, tuple[int, int, int]]

    def estimable(self, technique: str) -> bool:
        tp, _fp, _fn = self.counts.get(technique, (0, 0, 0))
        return tp > 0

    def factor(self, technique: str) -> float | None:
        """precision / recall = (tp + fn) / (tp + fp), or None without an estimate."""
        if not self.estimable(technique):
            return None
        tp, fp, fn = self.counts[technique]
        return (tp + fn) / (tp + fp)

    def factor_draws(self, technique: str, draws: int, seed: int) -> np.ndarray | None:
        """[draws] of precision / recall from Beta(tp + 1/2, fp + 1/2) / Beta(tp + 1/2, fn + 1/2)."""
        if not self.estimable(technique):
            return None
        tp, fp, fn = self.counts[technique]
        rng = np.random.default_rng([seed, len(technique), sum(map(ord, technique))])
        return rng.beta(tp + 0.5, fp + 0.5, draws) / rng.beta(tp + 0.5, fn + 0.5, draws)

    def describe(self) -> str:
        return (f"detected x precision / recall, with precision and recall from the {self.unit} labels of "
                f"{self.articles} held-out articles ({self.source}); model {self.model}")  # fmt: skip


def quality_of(meta: ModelMeta | Mapping[str, Any]) -> Quality | None:
    """The ``"quality"`` section of a model's metadata (a :class:`ModelMeta`, or parsed
    model.json), or None when it is missing or malformed: the one place that reads it."""
    if isinstance(meta, ModelMeta):
        section: Any = meta.quality
        model = f"{meta.id} {meta.version}"
    else:
        section, model = meta.get("quality"), f"{meta.get('id', '?')} {meta.get('version', '?')}"
    if not isinstance(section, Mapping) or not isinstance(section.get("techniques"), Mapping):
        return None
    counts: dict[str, tuple[int, int, int]] = {}
    for technique, c in section["techniques"].items():
        try:
            tp, fp, fn = (int(c[k]) for k in ("tp", "fp", "fn"))
        except (TypeError, KeyError, ValueError):
            return None
        if min(tp, fp, fn) < 0:
            return None
        counts[str(technique)] = (tp, fp, fn)
    return Quality(
        model=model,
        source=str(section.get("source", "held-out articles")),
        articles=int(section.get("articles", 0) or 0),
        unit=str(section.get("unit", "paragraph")),
        counts=counts,
    )


def corpus_models(store: Any) -> list[str]:
    """"id version" of every model whose analyses a corpus holds (read from the index)."""
    return [m for (m,) in store.rows(
        "SELECT DISTINCT model_id || ' ' || model_version FROM analyses ORDER BY 1")]  # fmt: skip


def load_quality(model_dir: str | None) -> Quality | None:
    """The quality of the model in ``model_dir`` (None: the shipped one), read from its
    model.json without loading the model; None when there is none."""
    try:
        return quality_of(read_meta(model_dir or DEFAULT_DIR))
    except ModelError:
        return None


@dataclass
class Corrected:
    """Estimated true rates per group [G], with their intervals; ``left_out``: techniques
    detected here that have no estimate (not in the corrected rate)."""

    rate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    left_out: list[str]


def correct(
    detections: np.ndarray,
    words: np.ndarray,
    replicates: np.ndarray,
    techniques: list[str],
    quality: Quality,
    *,
    level: float = 0.95,
    seed: int = 0,
    per: float = 1000.0,
) -> Corrected | None:
    """The corrected rate of each group, summed over ``techniques`` (the columns of
    ``detections`` [G, T] and of the rate ``replicates`` [G, B, T]; ``words`` [G]). Its
    interval holds the bootstrap, the Poisson uncertainty of the counts (as in
    :func:`unspin.corpus.stats.bootstrap_groups`) and that of precision and recall. None
    when no technique has an estimate."""

    g, b, _t = replicates.shape
    keep = [j for j, t in enumerate(techniques) if quality.estimable(t)]
    if not keep:
        return None
    left_out = [t for j, t in enumerate(techniques) if j not in keep and detections[:, j].any()]
    factors = np.stack([quality.factor_draws(techniques[j], b, seed) for j in keep], axis=1)  # type: ignore[misc]
    point = np.array([quality.factor(techniques[j]) for j in keep], dtype=np.float64)
    with np.errstate(all="ignore"):
        w = np.maximum(words.astype(np.float64), 1e-9)[:, None]
        rate = (detections[:, keep] / w * per) @ point
        reps = np.nansum(replicates[:, :, keep].astype(np.float64) * factors[None], axis=2)  # [G, B]
        reps = np.where(np.isnan(replicates[:, :, keep]).all(axis=2), np.nan, reps)
        draws = poisson_draws(detections[:, keep], b, seed + 4)  # [B, G, T']
        poisson = (draws / w[None] * per * factors[:, None, :]).sum(axis=2)  # [B, G]
    low, high = _interval(reps[..., None], level)
    p_low, p_high = _interval(poisson.T[..., None], level)
    zero = detections[:, keep].sum(axis=1) == 0
    low = np.where(zero, 0.0, np.fmin(low[:, 0], p_low[:, 0]))
    high = np.fmax(high[:, 0], p_high[:, 0])
    rate = np.where(words > 0, rate, np.nan)
    return Corrected(rate, low, high, left_out)


def correct_total(
    by_technique: np.ndarray,
    stats: Any,
    quality: Quality,
    *,
    level: float = 0.95,
    seed: int = 0,
    per: float = 1000.0,
) -> Corrected | None:
    """The corrected rate of all techniques together, for the groups of ``stats`` (a
    :class:`~unspin.corpus.stats.GroupStats` of the total), from their detections per
    technique ``by_technique`` [G, T] (``TECHNIQUE_NAMES`` order). Each resample of the total
    rate is scaled by the group's correction factor, the mean of the techniques' factors
    weighted by the group's mix, with the factors drawn from their Beta posteriors and the
    mix from the counts' Poisson uncertainty: the article-level bootstrap is the total's, so
    no per-article counts per technique need to be read."""

    g, b, _m = stats.replicates.shape
    names = list(TECHNIQUE_NAMES)
    keep = [j for j, t in enumerate(names) if quality.estimable(t)]
    if not keep:
        return None
    left_out = [t for j, t in enumerate(names) if j not in keep and by_technique[:, j].any()]
    factors = np.zeros((b, len(names)))
    for j in keep:
        factors[:, j] = quality.factor_draws(names[j], b, seed)  # type: ignore[assignment]
    point = np.array([quality.factor(t) or 0.0 for t in names])
    mix = poisson_draws(by_technique, b, seed + 5)  # [B, G, T]
    with np.errstate(all="ignore"):
        scale = (mix * factors[:, None, :]).sum(axis=2) / mix.sum(axis=2)  # [B, G]
        total = by_technique.sum(axis=1)
        scale_point = np.where(total > 0, (by_technique @ point) / total, np.nan)
        rate = stats.rate[:, 0] * np.where(total > 0, scale_point, 1.0)
        reps = stats.replicates[:, :, 0].astype(np.float64) * scale.T  # [G, B]
        w = np.maximum(stats.words.astype(np.float64), 1e-9)
        poisson = poisson_draws(total, b, seed + 6) / w[None] * per * scale  # [B, G]
    low, high = _interval(reps[..., None], level)
    p_low, p_high = _interval(poisson.T[..., None], level)
    zero = total == 0
    low = np.where(zero, 0.0, np.fmin(low[:, 0], p_low[:, 0]))
    high = np.fmax(high[:, 0], p_high[:, 0])
    return Corrected(rate, low, high, left_out)
