"""Rates per 1,000 words with bootstrap confidence intervals, for any grouping of articles.

The bootstrap resamples *articles*, because articles, not words, are the independent
units: one angry op-ed is many detections. It is the Poisson bootstrap (each article
counts Poisson(1) times in each resample), the large-sample form of drawing n of n
articles with replacement, which is cheap to draw for millions of articles. Every
resample is one set of article weights shared by every group, so the difference between a
group and the rest of the corpus, or between two groups, and their ratio, are bootstrapped
from the same draws and get honest intervals too.

The rate of a group is its detections over its words (a ratio estimator, so a long article
weighs more than a short one), times 1,000. Intervals are percentile intervals, widened to
at least the Poisson (Jeffreys) interval of the counts: a group with no detection still
gets an interval from zero up to what its words could hide, never one of zero width.

Whether a group *differs* is not read off these intervals (hundreds of them checked at once
would flag noise): :func:`permutation_test` gives each cell a p-value whose error rate holds
for this data, and :func:`benjamini_hochberg` controls the false discovery rate across one
view. See docs/corpus.md, "How a difference is decided".
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALPHA",
    "MIN_ARTICLES",
    "GroupStats",
    "Resampler",
    "Trend",
    "benjamini_hochberg",
    "bootstrap_groups",
    "permutation_test",
    "permutations_for",
    "trend",
    "trend_test",
    "weights",
]

CHUNK = 16  # resamples drawn at a time: bounds memory (CHUNK x articles floats)
MIN_ARTICLES = 20  # no claim about a group of fewer articles: its rate is shown, never tested
ALPHA = 0.05  # false discovery rate allowed across the cells of one view
PERMUTATIONS = 2000  # at least; more when a view has many cells (see _permutations)
MAX_PERMUTATIONS = 20_000
EXACT_UP_TO = 1000  # groups (or rests) of up to this many articles: Monte Carlo permutations;
# larger ones: the permutation distribution's exact mean and variance, read as normal


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
    interval, the difference from the rest of the selection and the ratio to it, each with
    its interval. ``replicates`` [groups, resamples, measures] holds the resampled rates,
    for pairwise comparisons (:meth:`difference`). ``p_value`` and ``q_value`` (NaN: not
    tested) come from :func:`permutation_test` and :func:`benjamini_hochberg`."""

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
    ratio: np.ndarray | None = None  # rate over the rate of every other article
    ratio_low: np.ndarray | None = None
    ratio_high: np.ndarray | None = None
    p_value: np.ndarray | None = None
    q_value: np.ndarray | None = None

    def difference(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Group a minus group b per measure: (difference, low, high)."""
        diff = self.rate[a] - self.rate[b]
        reps = self.replicates[a] - self.replicates[b]
        low, high = _interval(reps, self.level)
        return diff, low, high

    def test(self, counts: np.ndarray, words: np.ndarray, members: Sequence[np.ndarray], *,
             seed: int = 0, min_articles: int = MIN_ARTICLES) -> GroupStats:
        """Fill ``p_value`` (each group against the rest, by permutations) and ``q_value``
        (Benjamini-Hochberg over every cell of this table, which is one view)."""
        self.p_value = permutation_test(counts, words, members, seed=seed, min_articles=min_articles)
        self.q_value = benjamini_hochberg(self.p_value)
        return self

    def flag(self, i: int, j: int, alpha: float = ALPHA) -> str:
        """"higher", "lower" or "" (not shown to differ) for group i, measure j: the test
        passes the false discovery rate and the ratio's interval agrees (excludes 1), so
        a flag never comes with an interval that says "maybe not"."""
        if self.q_value is None or not self.q_value[i, j] <= alpha:
            return ""
        if self.ratio_low is not None and self.ratio_high is not None:
            if self.ratio_low[i, j] > 1:
                return "higher"
            return "lower" if self.ratio_high[i, j] < 1 else ""
        return "higher" if self.vs_rest[i, j] > 0 else "lower"


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
        with np.errstate(invalid="ignore"):
            value = (a + (b - a) * (pos - lo)).squeeze(-2)
        out.append(np.where(valid.squeeze(-2) > 0, value, np.nan))
    return out[0], out[1]


def _ratio(counts: np.ndarray, words: np.ndarray, per: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(words > 0, counts / np.maximum(words, 1e-9) * per, np.nan)


def poisson_draws(counts: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """[draws, *counts.shape]: the Jeffreys posterior Gamma(count + 1/2) of Poisson means:
    what the counts alone (without overdispersion) leave uncertain, zero counts included."""
    rng = np.random.default_rng(seed)
    shape = np.asarray(counts, dtype=np.float64) + 0.5
    return rng.standard_gamma(np.broadcast_to(shape, (draws, *shape.shape)))


def _widen(low: np.ndarray, high: np.ndarray, draws: np.ndarray, level: float,
           zero: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of a bootstrap interval and the interval of Poisson ``draws`` [B, ...];
    the lower end is 0 where the count is ``zero`` (Jeffreys' convention)."""
    p_low, p_high = _interval(np.moveaxis(draws, 0, -1)[..., None], level)
    p_low, p_high = p_low[..., 0], p_high[..., 0]
    low = np.where(zero, 0.0, np.fmin(low, p_low))
    return low, np.fmax(high, p_high)


def _sums(table: np.ndarray, members: Sequence[np.ndarray], resampler: Resampler
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column sums of ``table`` [N, K] per group, and per group and resample [G, B, K] and
    for the whole table per resample [B, K]."""
    n, k = table.shape
    g, resamples = len(members), resampler.resamples
    sums = np.stack([table[idx].sum(axis=0, dtype=np.float64) for idx in members]) if g else np.zeros((0, k))
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
    group_reps = np.empty((g, resamples, k), dtype=np.float64)
    total_reps = np.empty((resamples, k), dtype=np.float64)
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
    return sums, group_reps, total_reps


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
    resampler = resampler or Resampler(n, resamples, seed)
    if resampler.n != n:
        raise ValueError(f"the resampler is for {resampler.n} articles, not {n}")
    table = np.concatenate([words[:, None], counts], axis=1).astype(np.float32)  # [N, 1+M]
    total = table.sum(axis=0, dtype=np.float64)
    sums, group_reps, total_reps = _sums(table, members, resampler)
    b = resampler.resamples
    rate = _ratio(sums[:, 1:], sums[:, :1], per)
    reps = _ratio(group_reps[..., 1:], group_reps[..., :1], per).astype(np.float32)
    low, high = _interval(reps, level)
    zero = sums[:, 1:] == 0
    draws = poisson_draws(sums[:, 1:], b, seed + 1)  # [B, G, M]
    low, high = _widen(low, high, _ratio(draws, sums[None, :, :1], per), level, zero)
    if per == 1.0 and n and np.all(words == 1):  # shares of articles: never above all of them
        high = np.minimum(high, 1.0)
    ratio = ratio_low = ratio_high = None
    if rest:
        others = total[None, :] - sums
        other_reps = total_reps[None] - group_reps
        rest_rate = _ratio(others[:, 1:], others[:, :1], per)
        vs_rest = rate - rest_rate
        rest_reps = _ratio(other_reps[..., 1:], other_reps[..., :1], per)
        d_low, d_high = _interval(reps - rest_reps, level)
        with np.errstate(all="ignore"):
            ratio = rate / rest_rate
            r_low, r_high = _interval((reps / rest_reps).astype(np.float64), level)
            other_draws = poisson_draws(others[:, 1:], b, seed + 2)
            ratio_draws = (draws / sums[None, :, :1]) / (other_draws / others[None, :, :1])
        ratio_low, ratio_high = _widen(r_low, r_high, ratio_draws, level, zero)
        zero_rest = others[:, 1:] == 0
        ratio_high = np.where(zero_rest, np.inf, ratio_high)
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
        ratio=ratio, ratio_low=ratio_low, ratio_high=ratio_high,
    )  # fmt: skip


# -- tests -----------------------------------------------------------------------------------


def permutations_for(cells: int, alpha: float = ALPHA) -> int:
    """Enough permutations that the smallest p-value they can give, 1 / (P + 1), passes
    Benjamini-Hochberg's first step over ``cells`` cells (else a view with many cells could
    never flag one), at least :data:`PERMUTATIONS`, at most :data:`MAX_PERMUTATIONS`."""
    return int(min(MAX_PERMUTATIONS, max(PERMUTATIONS, math.ceil(2 * cells / alpha))))


def _subset_sums(d: np.ndarray, k: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """[>= count, M]: sums of ``d`` [N, M] over uniformly random k-subsets of its rows (the
    consecutive blocks of random permutations: each block is a uniform k-subset)."""
    n, m = d.shape
    blocks = max(1, n // k)
    need = -(-count // blocks)
    per_chunk = max(1, 2_000_000 // max(1, blocks * k * m))
    out = []
    base = np.arange(n)
    while need > 0:
        c = min(per_chunk, need)
        perms = rng.permuted(np.tile(base, (c, 1)), axis=1)[:, : blocks * k].reshape(c * blocks, k)
        out.append(d[perms].sum(axis=1))
        need -= c
    return np.concatenate(out)


def _two_sided(sims: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Monte Carlo two-sided p-value: twice the smaller tail, each (1 + hits) / (1 + draws).
    Ties count as hits (discrete data ties often: every subset without a detection gives the
    same sum), within a tolerance for the order in which floating-point sums were added."""
    tol = 1e-7 * (np.abs(sims).max(axis=0) + np.abs(observed)) + 1e-12
    hi = (1 + (sims >= observed - tol).sum(axis=0)) / (len(sims) + 1)
    lo = (1 + (sims <= observed + tol).sum(axis=0)) / (len(sims) + 1)
    return np.minimum(1.0, 2 * np.minimum(hi, lo))


def _normal_p(z: np.ndarray) -> np.ndarray:
    return np.array([math.erfc(abs(float(v)) / math.sqrt(2)) if np.isfinite(v) else 1.0
                     for v in np.ravel(z)]).reshape(np.shape(z))  # fmt: skip


def permutation_test(
    counts: np.ndarray,
    words: np.ndarray,
    members: Sequence[np.ndarray],
    *,
    permutations: int | None = None,
    seed: int = 0,
    min_articles: int = MIN_ARTICLES,
) -> np.ndarray:
    """Two-sided p-values [G, M]: does each group's rate differ from the rest's?

    The null hypothesis is that group labels are exchangeable over articles (the group says
    nothing about an article's detections), which holds whatever the articles' lengths and
    densities and however many counts are zero. The statistic is the group's sum of
    residuals ``d = detections - r0 * words`` (``r0``: the rate of the whole selection),
    the score of a rate model. Its distribution under the null is drawn by permutations
    (random subsets of the group's size) when the group or the rest has at most
    :data:`EXACT_UP_TO` articles, else read from its exact mean (0) and variance under
    permutation, as normal (the central limit theorem for sampling without replacement).
    NaN (no claim) for a group or rest of fewer than ``min_articles`` articles."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 1:
        counts = counts[:, None]
    words = np.asarray(words, dtype=np.float64)
    n, m = counts.shape
    p = np.full((len(members), m), np.nan)
    total_words = float(words.sum())
    if not n or total_words <= 0:
        return p
    d = counts - words[:, None] * (counts.sum(axis=0) / total_words)  # [N, M], each column sums to 0
    spread = (d**2).mean(axis=0)
    rng = np.random.default_rng(seed)
    tested = sum(1 for idx in members if min(len(idx), n - len(idx)) >= min_articles)
    draws = permutations or permutations_for(tested * m)
    sims_of: dict[int, np.ndarray] = {}
    for g, idx in enumerate(members):
        k = len(idx)
        small = min(k, n - k)
        if small < min_articles:
            continue
        observed = d[np.asarray(idx, dtype=np.int64)].sum(axis=0)
        if small <= EXACT_UP_TO:
            if small not in sims_of:
                sims_of[small] = _subset_sums(d, small, draws, rng)
            sims = sims_of[small] if k == small else -sims_of[small]  # the group's sum = -the rest's
            p[g] = _two_sided(sims, observed)
        else:
            with np.errstate(all="ignore"):
                z = observed / np.sqrt(k * (n - k) / (n - 1) * spread)
            p[g] = _normal_p(z)
        p[g] = np.where(spread > 0, p[g], 1.0)  # no detections anywhere: nothing differs
    return p


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) over every non-NaN cell of ``p``:
    flagging the cells with q <= alpha keeps the expected share of false flags among all
    flags at or below alpha (for independent or positively dependent tests)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    flat = p.ravel()
    ok = np.flatnonzero(~np.isnan(flat))
    if not len(ok):
        return q
    order = np.argsort(flat[ok], kind="stable")
    ranked = flat[ok][order] * len(ok) / np.arange(1, len(ok) + 1)
    ranked = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    out = q.ravel()
    out[ok[order]] = ranked
    return out.reshape(p.shape)


# -- trends ----------------------------------------------------------------------------------


@dataclass
class Trend:
    """Per measure: the relative change of the rate per year (0.12: +12% a year) with its
    interval and the permutation p-value of "no trend" (NaN: not tested)."""

    change: np.ndarray  # [M]
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    articles: int
    periods: int
    q_value: np.ndarray | None = None


def _slope(c: np.ndarray, w: np.ndarray, t: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Maximum-likelihood slope of log rate on ``t`` (Poisson, log words as offset) from the
    per-period sums ``c`` and ``w`` [..., J] (sufficient for it); NaN with no detection."""
    beta = np.zeros(c.shape[:-1])
    total = c.sum(axis=-1)
    with np.errstate(all="ignore"):
        target = (c * t).sum(axis=-1) / total  # mean time of the detections
        for _ in range(iterations):
            ew = w * np.exp(np.clip(beta[..., None] * t, -50, 50))
            mass = ew.sum(axis=-1)
            mean = (ew * t).sum(axis=-1) / mass
            var = (ew * t**2).sum(axis=-1) / mass - mean**2
            step = (target - mean) / np.maximum(var, 1e-12)
            beta = np.clip(beta + step, -20, 20)
            if not np.nanmax(np.abs(step), initial=0.0) > 1e-7:  # Newton: converged
                break
    return np.where(total > 0, beta, np.nan)


def trend_test(counts: np.ndarray, words: np.ndarray, years: np.ndarray, *,
               permutations: int = PERMUTATIONS, seed: int = 0) -> np.ndarray:
    """Two-sided p-values [M] of "no trend": the dates permuted over the dated articles, the
    statistic the rate model's score for the slope, sum of (t - mean t) * residual."""
    dated = ~np.isnan(years)
    c, w, y = counts[dated], words[dated], years[dated]
    d = c - w[:, None] * (c.sum(axis=0) / w.sum())
    centred = y - y.mean()
    observed = centred @ d
    spread = (d**2).sum(axis=0)
    if len(y) <= 2 * EXACT_UP_TO:
        rng = np.random.default_rng(seed + 3)
        sims = []
        per_chunk = max(1, 4_000_000 // len(y))
        done = 0
        while done < permutations:
            k = min(per_chunk, permutations - done)
            sims.append(rng.permuted(np.tile(centred, (k, 1)), axis=1) @ d)
            done += k
        p = _two_sided(np.concatenate(sims), observed)
    else:
        with np.errstate(all="ignore"):
            z = observed / np.sqrt((centred**2).sum() * spread / (len(y) - 1))
        p = _normal_p(z)
    return np.where(spread > 0, p, 1.0)


def trend(
    counts: np.ndarray,
    words: np.ndarray,
    years: np.ndarray,
    *,
    resampler: Resampler | None = None,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    permutations: int = PERMUTATIONS,
    min_articles: int = MIN_ARTICLES,
) -> Trend:
    """The trend of each measure's rate over time, ``years`` [N] the articles' dates in
    years (NaN: undated, left out). The slope is a Poisson rate model's (log rate linear in
    time); its interval is bootstrapped over articles (the same resamples as every other
    number); its test permutes the dates over the dated articles (statistic: the model's
    score for the slope, sum of (t - mean t) * residual), so a trend is claimed only when
    the order in time matters beyond chance. Up to ``2 * EXACT_UP_TO`` dated articles the
    permutations are drawn, beyond that their exact mean and variance are read as normal."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 1:
        counts = counts[:, None]
    words = np.asarray(words, dtype=np.float64)
    years = np.asarray(years, dtype=np.float64)
    n, m = counts.shape
    dated = ~np.isnan(years)
    times = np.unique(years[dated])
    nan = np.full(m, np.nan)
    if dated.sum() < min_articles or len(times) < 3 or words[dated].sum() <= 0:
        return Trend(nan, nan.copy(), nan.copy(), nan.copy(), int(dated.sum()), len(times))
    t = times - times.mean()
    members = [np.flatnonzero(years == v) for v in times]
    table = np.concatenate([words[:, None], counts], axis=1).astype(np.float32)
    resampler = resampler or Resampler(n, resamples, seed)
    sums, reps, _ = _sums(table, members, resampler)
    beta = _slope(sums[:, 1:].T, sums[:, 0][None, :], t)  # [M]
    rep_beta = _slope(np.moveaxis(reps[..., 1:], 0, -1), reps[..., 0].T[:, None, :], t)  # [B, M]
    low, high = _interval(rep_beta.T[..., None].astype(np.float64), level)
    low, high = low[:, 0], high[:, 0]
    p = trend_test(counts, words, years, permutations=permutations, seed=seed)
    return Trend(np.expm1(beta), np.expm1(low), np.expm1(high), p, int(dated.sum()), len(times))
