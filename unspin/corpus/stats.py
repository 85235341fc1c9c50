"""Rates per 1,000 words with bootstrap confidence intervals, for any grouping of articles.

The bootstrap resamples *articles*, because articles, not words, are the independent
units: one angry op-ed is many detections. It is the Poisson bootstrap (each article
counts Poisson(1) times in each resample), the large-sample form of drawing n of n
articles with replacement, which is cheap to draw for millions of articles. Every
resample is one set of article weights shared by every group, so the difference between a
group and the rest of the corpus, or between two groups, is bootstrapped from the same
draws and gets an honest interval too. A difference whose interval holds zero is noise as
far as this corpus can tell.

The rate of a group is its detections over its words (a ratio estimator, so a long article
weighs more than a short one), times 1,000. Intervals are percentile intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["GroupStats", "Resampler", "bootstrap_groups", "weights"]

CHUNK = 16  # resamples drawn at a time: bounds memory (CHUNK x articles floats)


def _poisson_table() -> np.ndarray:
    """Poisson(1) quantiles of 65,536 equal slices of [0, 1): a random uint16 looks its
    weight up here (counts above 8 have odds below 1 in 65,536 and are left out)."""
    cdf = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(20)])
    return np.searchsorted(cdf, (np.arange(65536) + 0.5) / 65536).astype(np.uint8)


_POISSON = _poisson_table()


def weights(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap weights in chunks [b, n] (uint8): how many times each article counts in
    each resample. Poisson(1) per article and resample (the Poisson bootstrap: for a
    corpus of any size the same as drawing n of n articles with replacement, and about
    five times cheaper to draw, 16 random bits per weight)."""
    bits = np.random.PCG64(seed)
    done = 0
    while done < resamples:
        b = min(CHUNK, resamples - done)
        words = -(-b * n // 4)  # uint64 words, 4 weights each
        yield _POISSON[bits.random_raw(words).view(np.uint16)[: b * n]].reshape(b, n)
        done += b


class Resampler:
    """The resamples of one selection of ``n`` articles, drawn once and shared by every
    grouping of it (the dashboard asks for several): kept in memory when small enough,
    else drawn again from the same seed, so every grouping sees the same resamples."""

    def __init__(self, n: int, resamples: int = 1000, seed: int = 0, *, keep_bytes: int = 300_000_000) -> None:
        self.n, self.resamples, self.seed = n, resamples, seed
        self._kept: list[np.ndarray] | None = [] if n * resamples <= keep_bytes else None
        self._complete = False

    def chunks(self) -> Iterator[np.ndarray]:
        if self._complete and self._kept is not None:
            yield from self._kept
            return
        kept: list[np.ndarray] = []
        for w in weights(self.n, self.resamples, self.seed):
            kept.append(w)
            yield w
        if self._kept is not None:
            self._kept, self._complete = kept, True


@dataclass
class GroupStats:
    """Per group and per measure (columns of the counts): the rate per 1,000 words, its
    interval, and the difference from the rest of the selection with its interval.
    ``replicates`` [groups, resamples, measures] holds the resampled rates, for pairwise
    comparisons (:meth:`difference`)."""

    groups: list[str]
    articles: np.ndarray  # [G]
    words: np.ndarray  # [G]
    detections: np.ndarray  # [G, M]
    rate: np.ndarray  # [G, M]
    low: np.ndarray
    high: np.ndarray
    vs_rest: np.ndarray  # rate minus the rate of every other article
    vs_rest_low: np.ndarray
    vs_rest_high: np.ndarray
    replicates: np.ndarray  # [G, B, M]
    level: float

    def difference(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Group a minus group b per measure: (difference, low, high)."""
        diff = self.rate[a] - self.rate[b]
        reps = self.replicates[a] - self.replicates[b]
        low, high = _interval(reps, self.level)
        return diff, low, high


def _interval(replicates: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along the resample axis (-2), ignoring NaN resamples (a group
    none of whose articles was drawn); NaN when there are none."""
    ordered = np.sort(replicates, axis=-2)  # NaN sorts last
    valid = (~np.isnan(ordered)).sum(axis=-2, keepdims=True)
    out = []
    for q in ((1 - level) / 2, (1 + level) / 2):
        pos = q * np.maximum(valid - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(valid - 1, 0))
        a = np.take_along_axis(ordered, lo, axis=-2)
        b = np.take_along_axis(ordered, hi, axis=-2)
        value = (a + (b - a) * (pos - lo)).squeeze(-2)
        out.append(np.where(valid.squeeze(-2) > 0, value, np.nan))
    return out[0], out[1]


def _ratio(counts: np.ndarray, words: np.ndarray, per: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(words > 0, counts / np.maximum(words, 1e-9) * per, np.nan)


def bootstrap_groups(
    counts: np.ndarray,
    words: np.ndarray,
    members: Sequence[np.ndarray],
    names: Sequence[str],
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    per: float = 1000.0,
    resampler: Resampler | None = None,
    rest: bool = True,
) -> GroupStats:
    """Rates of ``counts`` [articles, measures] per 1,000 ``words`` [articles] for each
    group, given as the row indices of its ``members`` (groups may overlap). With words of
    1 per article and ``per=1``, the rates are shares of articles. ``resampler``: resamples
    shared with other groupings of the same articles (else drawn from ``seed``). ``rest``:
    False leaves the differences from the rest out (NaN), which saves time."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 1:
        counts = counts[:, None]
    words = np.asarray(words, dtype=np.float64)
    members = [np.asarray(idx, dtype=np.int64) for idx in members]
    n, m = counts.shape
    g = len(members)
    resampler = resampler or Resampler(n, resamples, seed)
    if resampler.n != n:
        raise ValueError(f"the resampler is for {resampler.n} articles, not {n}")
    resamples = resampler.resamples
    table = np.concatenate([words[:, None], counts], axis=1).astype(np.float32)  # [N, 1+M]
    total = table.sum(axis=0, dtype=np.float64)
    sums = np.stack([table[idx].sum(axis=0, dtype=np.float64) for idx in members]) if g else np.zeros((0, m + 1))
    # disjoint groups (outlets, months) are read as slices of rows put in group order
    joined = np.concatenate(members) if g else np.zeros(0, dtype=np.int64)
    order = None
    if g and len(np.unique(joined)) == len(joined):
        order = np.concatenate([joined, np.setdiff1d(np.arange(n), joined)])
        bounds = np.cumsum([0] + [len(idx) for idx in members])
        picks: list[slice | np.ndarray] = [slice(int(bounds[i]), int(bounds[i + 1])) for i in range(g)]
        table = table[order]
    else:
        picks = list(members)
    group_reps = np.empty((g, resamples, m + 1), dtype=np.float64)
    total_reps = np.empty((resamples, m + 1), dtype=np.float64)
    at = 0
    if n:
        for chunk in resampler.chunks():
            w = chunk.astype(np.float32)
            if order is not None:
                w = w[:, order]
            b = len(w)
            total_reps[at : at + b] = w @ table
            for i, rows in enumerate(picks):
                group_reps[i, at : at + b] = w[:, rows] @ table[rows]
            at += b
    else:
        group_reps[:] = np.nan
        total_reps[:] = np.nan
    rate = _ratio(sums[:, 1:], sums[:, :1], per)
    reps = _ratio(group_reps[..., 1:], group_reps[..., :1], per).astype(np.float32)
    low, high = _interval(reps, level)
    if rest:
        others = total[None, :] - sums
        other_reps = total_reps[None] - group_reps
        vs_rest = rate - _ratio(others[:, 1:], others[:, :1], per)
        d_low, d_high = _interval(reps - _ratio(other_reps[..., 1:], other_reps[..., :1], per), level)
    else:
        vs_rest = d_low = d_high = np.full_like(rate, np.nan)
    return GroupStats(
        groups=list(names),
        articles=np.array([len(idx) for idx in members], dtype=np.int64),
        words=sums[:, 0].astype(np.int64),
        detections=sums[:, 1:].astype(np.int64),
        rate=rate, low=low, high=high,
        vs_rest=vs_rest, vs_rest_low=d_low, vs_rest_high=d_high,
        replicates=reps, level=level,
    )  # fmt: skip
