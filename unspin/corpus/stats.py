"""Rates per 1,000 words with bootstrap confidence intervals, for any grouping of articles.

The bootstrap resamples *articles* (with replacement, over the whole selection), because
articles, not words, are the independent units: one angry op-ed is many detections. Every
resample is one set of article weights shared by every group, so the difference between a
group and the rest of the corpus, or between two groups, is bootstrapped from the same
draws and gets an honest interval too. A difference whose interval holds zero is noise as
far as this corpus can tell.

The rate of a group is its detections over its words (a ratio estimator, so a long article
weighs more than a short one), times 1,000. Intervals are percentile intervals.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["GroupStats", "bootstrap_groups", "weights"]

CHUNK = 16  # resamples drawn at a time: bounds memory (CHUNK x articles floats)


def weights(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap weights in chunks: each row counts how often each of the ``n`` articles
    was drawn in one resample of ``n`` draws with replacement."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        b = min(CHUNK, resamples - done)
        draws = rng.integers(0, n, size=(b, n), dtype=np.int64) + (np.arange(b) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.float32)
        done += b


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


def _rows(table: np.ndarray, idx: np.ndarray) -> slice | np.ndarray:
    """A slice when the members are contiguous (callers sort by group): no copy."""
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


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
) -> GroupStats:
    """Rates of ``counts`` [articles, measures] per 1,000 ``words`` [articles] for each
    group, given as the row indices of its ``members`` (groups may overlap). With words of
    1 per article and ``per=1``, the rates are shares of articles."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 1:
        counts = counts[:, None]
    words = np.asarray(words, dtype=np.float64)
    members = [np.asarray(idx, dtype=np.int64) for idx in members]
    joined = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
    if len(np.unique(joined)) == len(joined):
        # disjoint groups (outlets, months): put each group's rows together, so that every
        # resample reads them as one slice; the rows left out are still part of "the rest"
        order = np.concatenate([joined, np.setdiff1d(np.arange(len(words)), joined)])
        counts, words = counts[order], words[order]
        bounds = np.cumsum([0] + [len(idx) for idx in members])
        members = [np.arange(bounds[i], bounds[i + 1]) for i in range(len(members))]
    n, m = counts.shape
    g = len(members)
    table = np.concatenate([words[:, None], counts], axis=1).astype(np.float32)  # [N, 1+M]
    total = table.sum(axis=0, dtype=np.float64)
    sums = np.stack([table[idx].sum(axis=0, dtype=np.float64) for idx in members]) if g else np.zeros((0, m + 1))
    group_reps = np.empty((g, resamples, m + 1), dtype=np.float64)
    total_reps = np.empty((resamples, m + 1), dtype=np.float64)
    picks = [_rows(table, np.asarray(idx)) for idx in members]
    at = 0
    if n:
        for w in weights(n, resamples, seed):
            b = len(w)
            total_reps[at : at + b] = w @ table
            for i, rows in enumerate(picks):
                group_reps[i, at : at + b] = w[:, rows] @ table[rows]
            at += b
    else:
        group_reps[:] = np.nan
        total_reps[:] = np.nan
    rate = _ratio(sums[:, 1:], sums[:, :1], per)
    reps = _ratio(group_reps[..., 1:], group_reps[..., :1], per)
    rest = total[None, :] - sums
    rest_reps = total_reps[None] - group_reps
    vs_rest = rate - _ratio(rest[:, 1:], rest[:, :1], per)
    diff_reps = reps - _ratio(rest_reps[..., 1:], rest_reps[..., :1], per)
    low, high = _interval(reps, level)
    d_low, d_high = _interval(diff_reps, level)
    return GroupStats(
        groups=list(names),
        articles=np.array([len(idx) for idx in members], dtype=np.int64),
        words=sums[:, 0].astype(np.int64),
        detections=sums[:, 1:].astype(np.int64),
        rate=rate, low=low, high=high,
        vs_rest=vs_rest, vs_rest_low=d_low, vs_rest_high=d_high,
        replicates=reps.astype(np.float32), level=level,
    )  # fmt: skip
