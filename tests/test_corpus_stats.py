"""The corpus statistics: tests that hold their error rate under the null, find real effects,
control the false discovery rate, give honest intervals for zero counts, and correct rates
for the model's measured errors. Synthetic data shaped like news: articles of very different
lengths, overdispersed counts, many zeros."""

from __future__ import annotations

import numpy as np
import pytest

from unspin.corpus.correction import correct, quality_of
from unspin.corpus.stats import (
    EXACT_UP_TO,
    MIN_ARTICLES,
    benjamini_hochberg,
    bootstrap_groups,
    permutation_test,
    trend,
)


def news_like(n: int, rng: np.random.Generator, rate: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Words and detections: lengths from 80 to 3,000 words, each article's own density
    (gamma, so a few articles hold most detections), Poisson counts (most of them zero)."""
    words = np.exp(rng.uniform(np.log(80), np.log(3000), n))
    density = rng.gamma(0.3, rate / 0.3, n)  # per 1,000 words, very uneven
    return words, rng.poisson(density * words / 1000).astype(float)


def groups(labels: np.ndarray, k: int) -> list[np.ndarray]:
    return [np.flatnonzero(labels == g) for g in range(k)]


@pytest.mark.parametrize("n, k", [(240, 4), (2 * EXACT_UP_TO + 400, 2)])
def test_permutation_p_values_are_uniform_under_the_null(n: int, k: int) -> None:
    """(240, 4): Monte Carlo permutations; (2,400, 2): groups beyond EXACT_UP_TO, the
    normal reading of the permutation distribution."""
    rng = np.random.default_rng(11)
    p = []
    for trial in range(150 if n < 1000 else 60):
        words, counts = news_like(n, rng)
        labels = rng.integers(k, size=n)
        p.append(permutation_test(counts, words, groups(labels, k), seed=trial)[0, 0])
    p_ = np.array(p)
    assert not np.isnan(p_).any()
    assert (p_ <= 0.05).mean() <= 0.09, "false positives above the nominal level"
    assert (p_ <= 0.05).mean() + (p_ > 0.95).mean() > 0.02, "never extreme: the test is blind"
    for cut in (0.25, 0.5, 0.75):  # the shape of a uniform distribution
        assert abs((p_ <= cut).mean() - cut) < 0.15, f"P(p <= {cut}) = {(p_ <= cut).mean():.2f}"


def test_a_real_difference_is_found_with_its_size() -> None:
    rng = np.random.default_rng(3)
    words, counts = news_like(400, rng)
    labels = rng.integers(4, size=400)
    members = groups(labels, 4)
    counts[members[2]] = counts[members[2]] * 2 + rng.poisson(4 * words[members[2]] / 1000)  # about 3 times
    s = bootstrap_groups(counts, words, members, list("abcd"), seed=1).test(counts, words, members)
    assert s.flag(2, 0) == "higher"
    assert s.ratio is not None and s.ratio_low is not None and s.ratio_high is not None
    assert 1.0 < s.ratio_low[2, 0] < s.ratio[2, 0] < s.ratio_high[2, 0]
    assert s.ratio_low[2, 0] < 3.0 < s.ratio_high[2, 0]
    assert [s.flag(g, 0) for g in (0, 1, 3)] != ["higher"] * 3


def test_benjamini_hochberg() -> None:
    p = np.array([[0.01, 0.04], [0.03, np.nan], [0.5, 0.002]])
    q = benjamini_hochberg(p)
    # sorted p: 0.002, 0.01, 0.03, 0.04, 0.5 (m = 5): p * m / rank, then the running minimum from the top
    expected = np.array([[0.025, 0.05], [0.05, np.nan], [0.5, 0.01]])
    assert np.allclose(q, expected, equal_nan=True)
    assert np.isnan(benjamini_hochberg(np.full((2, 2), np.nan))).all()
    # a thousand null p-values: nothing survives, though about 50 are below 0.05
    null = np.random.default_rng(0).uniform(size=1000)
    assert (null <= 0.05).sum() > 30 and (benjamini_hochberg(null) <= 0.05).sum() == 0


def test_small_groups_are_not_tested() -> None:
    rng = np.random.default_rng(2)
    words, counts = news_like(200, rng)
    members = [np.arange(MIN_ARTICLES - 1), np.arange(MIN_ARTICLES - 1, 200)]
    p = permutation_test(counts, words, members)
    assert np.isnan(p).all(), "a group of too few articles (and so its rest) makes no claim"


def test_zero_counts_get_intervals_of_non_zero_width() -> None:
    rng = np.random.default_rng(4)
    words, counts = news_like(300, rng)
    members = [np.arange(40), np.arange(40, 300)]
    counts[:40] = 0
    s = bootstrap_groups(counts, words, members, ["none", "rest"], seed=0)
    assert s.detections[0, 0] == 0 and s.rate[0, 0] == 0
    assert s.low[0, 0] == 0 < s.high[0, 0], "a rate of zero still has an upper end"
    # the Jeffreys upper end for a count of 0 over W words: about 2.5 / W (x 1,000)
    assert s.high[0, 0] == pytest.approx(2.5 / words[:40].sum() * 1000, rel=0.3)
    assert s.ratio_low is not None and s.ratio_high is not None
    assert s.ratio_low[0, 0] == 0 < s.ratio_high[0, 0] < np.inf
    assert np.all(s.low <= s.rate) and np.all(s.rate <= s.high)


def test_trend_is_found_when_real_and_not_otherwise() -> None:
    rng = np.random.default_rng(8)
    n = 400
    words, counts = news_like(n, rng)
    years = rng.integers(24, size=n) / 12.0  # two years of months
    null_p = [trend(news_like(n, r)[1], words, years, resamples=200, seed=i).p_value[0]
              for i, r in enumerate(np.random.default_rng(s) for s in range(60))]  # fmt: skip
    assert np.mean(np.array(null_p) <= 0.05) <= 0.1
    rising = rng.poisson(words / 1000 * 3.0 * 2.0 ** years)  # doubling every year
    t = trend(rising, words, years, resamples=400)
    assert t.p_value[0] <= 0.01
    assert t.low[0] < 1.0 < t.high[0], "the interval holds the true +100% a year"
    flat = trend(np.zeros(n), words, years, resamples=100)
    assert np.isnan(flat.change[0]) and flat.p_value[0] == 1.0


QUALITY = {"id": "m", "version": "1", "quality": {"source": "held out", "articles": 80, "unit": "paragraph",
           "techniques": {"Loaded_Language": {"tp": 120, "fp": 120, "fn": 60},
                          "Doubt": {"tp": 0, "fp": 3, "fn": 40}}}}  # fmt: skip


def test_rates_corrected_for_the_models_errors() -> None:
    q = quality_of(QUALITY)
    assert q is not None and q.model == "m 1"
    assert q.factor("Loaded_Language") == pytest.approx(180 / 240)  # (tp + fn) / (tp + fp)
    assert q.factor("Doubt") is None and q.factor("Slogans") is None
    assert quality_of({"id": "m"}) is None
    assert quality_of({"quality": {"techniques": {"Doubt": {"tp": "x"}}}}) is None
    rng = np.random.default_rng(5)
    words, counts = news_like(300, rng)
    members = [np.arange(150), np.arange(150, 300)]
    s = bootstrap_groups(counts, words, members, ["a", "b"], seed=0)
    c = correct(s.detections.astype(float), s.words, s.replicates, ["Loaded_Language"], q)
    assert c is not None and not c.left_out
    assert np.allclose(c.rate, s.rate[:, 0] * 0.75)
    raw_width, corrected_width = s.high[:, 0] - s.low[:, 0], c.high - c.low
    assert np.all(corrected_width > raw_width * 0.75), "precision and recall add their own uncertainty"
    assert np.all(c.low < c.rate) and np.all(c.rate < c.high)
    assert correct(s.detections.astype(float), s.words, s.replicates, ["Doubt"], q) is None


def test_quality_read_from_the_model_meta() -> None:
    from unspin.model import DEFAULT_DIR
    from unspin.model.meta import read_meta

    meta = read_meta(DEFAULT_DIR)
    q = quality_of(meta)
    assert q is not None and q.model == f"{meta.id} {meta.version}"
    assert q == quality_of(meta.to_dict()), "a ModelMeta and its parsed model.json read alike"


def test_topic_names_use_informative_words() -> None:
    from unspin.corpus.topics import _tokens

    words = _tokens("Trump's letters wasn't never called the affidavit they're at the State-run border")
    assert words == ["trump", "letters", "affidavit", "state-run", "border"]


def test_ties_count_against_a_claim() -> None:
    """Shares of articles tie everywhere (every subset without the rare genre sums alike):
    an outlet with none of 2 satire articles in 300 is not "lower"."""
    satire = np.zeros(300)
    satire[[5, 9]] = 1
    p = permutation_test(satire, np.ones(300), [np.arange(20, 78), np.arange(78, 140)])
    assert np.all(p == 1.0)


def test_quality_counts_paragraph_labels_per_technique() -> None:
    from unspin.train.data import LabeledArticle
    from unspin.train.quality import paragraph_counts

    article = LabeledArticle(id="1", text="a\nb\nc", lines=[(0, 0, 1), (1, 2, 3), (2, 4, 5)],
                             paragraph_labels={0: ["Loaded_Language"], 1: ["Doubt", "Loaded_Language"], 2: []})  # fmt: skip
    predicted = [{0: ["Loaded_Language", "Doubt"], 1: ["Loaded_Language"], 2: ["Slogans"]}]
    counts = paragraph_counts(predicted, [article])
    assert counts["Loaded_Language"] == {"tp": 2, "fp": 0, "fn": 0}
    assert counts["Doubt"] == {"tp": 0, "fp": 1, "fn": 1}
    assert counts["Slogans"] == {"tp": 0, "fp": 1, "fn": 0}
    assert quality_of({"quality": {"techniques": counts}}) is not None
