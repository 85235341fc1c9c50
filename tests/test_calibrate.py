"""Calibration rules: paragraph thresholds keep every technique's predicted rate within
bounds of its gold rate; word evidence is used only where it helps on the tuning split."""

from __future__ import annotations

import re

import numpy as np
import pytest

# Calibration runs without torch (the training loop needs it; these rules do not).
from unspin.model.windows import Encoded
from unspin.taxonomy import TECHNIQUE_NAMES
from unspin.train.calibrate import (
    MAX_RATE,
    MIN_RATE,
    UNMARKED,
    Decoded,
    Raw,
    _bound_evidence,
    _bound_rates,
    _english_shift,
    _evidence,
    _genre_prior,
    _label_thresholds,
    english_prior,
)
from unspin.train.data import LabeledArticle


def test_thresholds_neither_flood_nor_silence_a_technique() -> None:
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.0, 0.3, size=(400, 3))
    gold = np.zeros((400, 3))
    gold[:40, 0] = 1  # over-predicted at 0.1: about 267 of 400 clear it
    gold[:40, 1] = 1  # never predicted at 0.5
    gold[:, 2] = 0  # never occurs: left as it is
    out = _bound_rates(probs, gold, np.array([0.1, 0.5, 0.5]))
    counts = (probs >= out).sum(0)
    assert counts[0] <= MAX_RATE * 40 and out[0] > 0.1
    assert MIN_RATE * 40 <= counts[1] <= MAX_RATE * 40 and out[1] < 0.5
    assert out[2] == 0.5 and counts[2] == 0
    one = np.zeros((400, 1))
    one[7] = 1  # a technique seen once is predicted at least once
    assert (probs[:, :1] >= _bound_rates(probs[:, :1], one, np.array([0.9]))).sum() >= 1


NC = TECHNIQUE_NAMES.index("Name_Calling-Labeling")


LEAD = "the traitor and liar spoke"  # a first paragraph whose Name_Calling both heads find


def _tuning_article(text: str, sure: str, gold: bool, source: str = "en") -> Decoded:
    """After ``LEAD``, one paragraph whose head misses Name_Calling (0.2 against 0.3) while
    the token head is 0.9 sure of the word ``sure``; ``gold``: whether annotators marked it."""
    full = f"{LEAD}\n{text}"
    words = full.split()
    starts = np.array([m.start() for m in re.finditer(r"\S+", full)])
    offsets = np.stack([starts, starts + np.array([len(w) for w in words])], 1)
    lead = len(LEAD.split())
    start = full.index(sure, len(LEAD))
    spans = [(TECHNIQUE_NAMES[NC], 4, 11), (TECHNIQUE_NAMES[NC], 16, 20)] + ([(TECHNIQUE_NAMES[NC], start, start + len(sure))] if gold else [])
    article = LabeledArticle("1", full, [(0, 0, len(LEAD)), (1, len(LEAD) + 1, len(full))], spans=spans,
                             paragraph_labels={0: [TECHNIQUE_NAMES[NC]], 1: [TECHNIQUE_NAMES[NC]] if gold else []},
                             source=source)
    token = np.zeros((len(words), len(TECHNIQUE_NAMES)))
    token[[1, 3], NC] = 0.9
    token[lead + text.split().index(sure), NC] = 0.9
    paragraph = np.zeros((2, len(TECHNIQUE_NAMES)))
    paragraph[:, NC] = [0.9, 0.2]
    encoded = Encoded(np.arange(len(words)), offsets, np.arange(len(words)))
    token_para = np.array([0] * lead + [1] * (len(words) - lead))
    return Decoded(Raw(article, encoded, token_para, None), token, paragraph, None)


def _choose(decoded: list[Decoded]):
    k = len(TECHNIQUE_NAMES)
    return _evidence(decoded, np.full(k, 0.3), np.full(k, 0.5), np.zeros(k, dtype=int), 0.5, np.zeros(k, dtype=bool))


def test_word_evidence_is_used_only_where_it_finds_what_annotators_marked() -> None:
    # Four of each: enough Name_Calling spans (MIN_SUPPORT * 2) to trust the token head.
    right = [_tuning_article("they call the minister a puppet today", "puppet", gold=True)] * 4
    wrong = [_tuning_article("the council met on tuesday", "council", gold=False)] * 4
    chosen, note = _choose(right)
    assert chosen is not None and chosen["share"] <= 0.2 / 0.3 and chosen["word"][TECHNIQUE_NAMES[NC]] <= 0.9
    assert "without" in note
    assert _choose(wrong)[0] is None  # it would only add a label nobody marked
    # Two right, two wrong: eight Name_Calling labels against six in gold, over MAX_RATE.
    assert _choose(right[:2] + [_tuning_article("they call the minister a puppet today", "puppet", gold=False)] * 2
                   )[0] is None
    assert _choose(right[:1])[0] is None  # three spans: too few to trust the token head
    translated = _tuning_article("they call the minister a puppet today", "puppet", gold=True, source="mt-fr")
    assert _choose([translated] * 4)[0] is None  # it reads the English annotators' spans only


def test_labels_added_by_word_evidence_count_towards_the_rate_cap() -> None:
    probs = np.full((40, 2), 0.2)  # every paragraph under the 0.3 threshold...
    probs[:4] = 0.5  # ...but four, predicted by the paragraph head
    gold = np.zeros((40, 2))
    gold[:8] = 1
    peaks = np.zeros((40, 2))
    peaks[4:10] = 0.95  # the token head is very sure of a word in six more
    peaks[10:, 0] = 0.85  # and fairly sure in all the others, for the first technique
    supported = np.array([True, True])
    words = _bound_evidence(probs, peaks, gold, np.array([0.3, 0.3]), 0.8, 0.5, supported)
    # 4 + 36 labels would flood the first technique: its threshold rises until 4 + 6 <= 1.25 * 8
    assert words[0] == pytest.approx(0.9) and words[1] == pytest.approx(0.8)
    assert _bound_evidence(probs, peaks, np.zeros((40, 2)), np.array([0.3, 0.3]), 0.8, 0.5, supported).min() > 1.0
    assert _bound_evidence(probs, peaks, gold, np.array([0.3, 0.3]), 0.8, 0.5, ~supported).min() > 1.0


def test_genre_prior_moves_the_target_mix_towards_tune_without_costing_tune() -> None:
    # Tune: 6 opinion, 12 reporting, 2 satire, each far ahead of the others (a shift of
    # up to 1.5 in either direction changes none of them).
    gold = np.array([0] * 6 + [1] * 12 + [2] * 2)
    tune = np.log(np.full((20, 3), 0.025))
    tune[np.arange(20), gold] = np.log(0.95)
    # Target news: a third is narrowly satire over opinion; tune's mix says a tenth.
    target = np.log(np.tile([0.1, 0.8, 0.1], (30, 1)))
    target[:10] = np.log([0.44, 0.1, 0.46])
    offset, note = _genre_prior(tune, gold, target)
    predicted = np.bincount((target + offset).argmax(1), minlength=3)
    assert predicted[2] == 0 and predicted[0] == 10  # the narrow satire calls go to opinion
    assert offset[1] == 0  # offsets are relative to the most frequent genre
    assert "-> [10, 20, 0]" in note
    # Where the target already matches, nothing moves.
    same, _ = _genre_prior(tune, gold, tune)
    assert not same.any()
    # An offset that would cost tune its macro-F1 is never taken, whatever the target says.
    close = tune.copy()
    close[gold == 2] = np.log([0.45, 0.1, 0.45 + 1e-3])
    offset, _ = _genre_prior(close, gold, target)
    assert ((close + offset).argmax(1) == gold).all()


ABSENT = UNMARKED


def test_english_prior_gives_the_techniques_english_lacks_the_others_density(tmp_path) -> None:
    k = len(TECHNIQUE_NAMES)
    rng = np.random.default_rng(1)
    heads = {"paragraph_b": np.where(ABSENT, -20.0, rng.normal(-5, 1, k)).astype(np.float32),
             "paragraph_mt_b": np.where(ABSENT, 15.0, rng.normal(1, 1, k)).astype(np.float32),
             "pwords_b": np.full(k, -4.0, dtype=np.float32), "pwords_mt_b": np.full(k, 0.5, dtype=np.float32),
             "token_b": np.zeros(k, dtype=np.float32)}
    np.savez_compressed(tmp_path / "heads.npz", **heads)
    translated = heads["paragraph_b"] + heads["paragraph_mt_b"]
    note = english_prior(tmp_path, shift=0.25)
    with np.load(tmp_path / "heads.npz") as data:
        out = {key: data[key] for key in data.files}
    gap = np.median(heads["paragraph_mt_b"][~ABSENT])
    # English: the translated logit less the others' median offset, plus the shift.
    assert np.allclose(out["paragraph_b"][ABSENT], translated[ABSENT] - gap + 0.25)
    assert np.allclose(out["pwords_b"][ABSENT], -4.0 + 0.5 - 0.5 + 0.25)
    # Translated logits, the other techniques and the other heads stay as they were.
    assert np.allclose(out["paragraph_b"] + out["paragraph_mt_b"], translated)
    assert np.array_equal(out["paragraph_b"][~ABSENT], heads["paragraph_b"][~ABSENT])
    assert np.array_equal(out["token_b"], heads["token_b"])
    assert "shift +0.250" in note
    # Calibrating again with the same shift reproduces the file; another shift moves only English.
    before = (tmp_path / "heads.npz").read_bytes()
    english_prior(tmp_path, shift=0.25)
    assert (tmp_path / "heads.npz").read_bytes() == before
    english_prior(tmp_path, shift=0.0)
    with np.load(tmp_path / "heads.npz") as data:
        assert np.allclose(data["paragraph_b"][ABSENT], translated[ABSENT] - gap)
        assert np.allclose(data["paragraph_b"] + data["paragraph_mt_b"], translated)


def test_english_shift_predicts_the_missing_techniques_at_the_others_rate() -> None:
    rng = np.random.default_rng(2)
    n, k = 600, len(TECHNIQUE_NAMES)
    gold = rng.random((n, k)) < 0.1
    # The others: predicted on about half their gold paragraphs. The missing ones: ranked as
    # well, but two logits lower, so at a shift of 0 almost never predicted.
    logits = np.where(gold, rng.normal(0.0, 1.0, (n, k)), rng.normal(-4.0, 1.0, (n, k)))
    logits[:, ABSENT] -= 2.0
    shift, note = _english_shift(logits, gold.astype(float), np.full(k, 0.5), 1.0)
    predicted = 1 / (1 + np.exp(-(logits + shift * ABSENT))) >= 0.5
    rate = predicted.sum(0) / gold.sum(0)
    assert 1.5 <= shift <= 2.5
    assert abs(rate[ABSENT].mean() - rate[~ABSENT].mean()) < 0.15
    assert "without the shift" in note
    # Nothing to match when no translated paragraph uses them.
    assert _english_shift(logits, (gold & ~ABSENT).astype(float), np.full(k, 0.5), 1.0)[0] == 0.0


def test_thresholds_ignore_english_rows_of_the_techniques_english_lacks() -> None:
    # One technique, 200 rows: the first 100 English, unannotated for it and scored high;
    # the rest translated, where a probability of 0.3 separates gold from the others.
    probs = np.r_[np.full(100, 0.9), np.where(np.arange(100) < 20, 0.3, 0.05)][:, None]
    gold = np.r_[np.zeros(100), (np.arange(100) < 20).astype(float)][:, None]
    known = np.r_[np.zeros(100, bool), np.ones(100, bool)][:, None]
    name = ("Questioning_the_Reputation",)
    th = _label_thresholds(probs, gold > 0, name, known)[name[0]]
    assert 0.05 < th <= 0.3  # where the translated rows put it
    assert _bound_rates(probs, gold, np.array([th]), known)[0] == th  # 20 predicted against 20 gold
    assert _bound_rates(probs, gold, np.array([th]))[0] > 0.3  # counted, they flood it
