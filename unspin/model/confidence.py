"""Displayed confidences that mean what they say.

The heads' probabilities decide what is detected; what a reader is shown is mapped onto
what was measured on held-out news: a paragraph label's confidence is the probability that
the paragraph uses the technique, and a span's is the share of its characters that fall
inside an annotated span of that technique (its expected character precision). Each map is
a Platt scaling of the raw score's logit (two numbers per head, pooled over techniques:
rare techniques have too few held-out detections for a map of their own), fitted on the
tuning articles and checked on the validation articles by ``benchmarks/accuracy.py``.

A detection is *likely* when its paragraph label's confidence is at least :data:`LIKELY`
(right more often than not), else *possible*; reports lead with likely detections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..document import LIKELY, level_of

__all__ = ["LIKELY", "Confidence", "Platt", "fit_platt", "level_of"]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Platt:
    """``sigmoid(a * logit(score) + b)``: the identity at a=1, b=0."""

    a: float = 1.0
    b: float = 0.0

    def __call__(self, score: np.ndarray | float) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a * _logit(np.asarray(score)) + self.b)))

    def to_dict(self) -> dict[str, float]:
        return {"a": round(self.a, 4), "b": round(self.b, 4)}


def fit_platt(scores: np.ndarray, targets: np.ndarray, *, prior: Platt = Platt(),
              strength: float = 1.0) -> Platt:
    """The Platt map minimising log-loss of ``targets`` (in [0, 1]: a fraction is a
    character precision) given ``scores``, with an L2 pull of ``strength`` towards
    ``prior``: with a few dozen judgements the map moves only as far as they support."""
    x, y = _logit(scores), np.clip(np.asarray(targets, dtype=np.float64), 0.0, 1.0)
    w = np.array([prior.a, prior.b])
    anchor = w.copy()
    design = np.c_[x, np.ones_like(x)]
    for _ in range(50):  # Newton's method: the loss is convex in (a, b)
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        grad = design.T @ (p - y) + strength * (w - anchor)
        hess = (design * (p * (1 - p))[:, None]).T @ design + strength * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Platt(float(w[0]), float(w[1]))


@dataclass(frozen=True)
class Confidence:
    """The model's maps from raw scores to displayed confidences, with what each level's
    detections were measured to be worth (``levels``: level -> measured precision, for the
    legend; empty when not measured)."""

    paragraph: Platt = Platt()
    span: Platt = Platt()
    levels: Mapping[str, Any] = field(default_factory=dict)
    fitted_on: str = ""

    @classmethod
    def from_meta(cls, section: Mapping[str, Any] | None) -> Confidence:
        """From ``model.json``'s ``confidence`` section; a model without one shows its raw
        probabilities (models before 2.7.0)."""
        if not section:
            return cls()
        return cls(
            paragraph=Platt(**section["paragraph"]),
            span=Platt(**section["span"]),
            levels=dict(section.get("levels", {})),
            fitted_on=str(section.get("fitted_on", "")),
        )

    def to_meta(self) -> dict[str, Any]:
        return {
            "paragraph": self.paragraph.to_dict(),
            "span": self.span.to_dict(),
            "levels": dict(self.levels),
            "fitted_on": self.fitted_on,
        }

