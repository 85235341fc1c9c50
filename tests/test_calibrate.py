"""Calibration rules: paragraph thresholds keep every technique's predicted rate within
bounds of its gold rate; word evidence is used only where it helps on the tuning split."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="calibration is part of training (the `train` extra)")
from unspin.model.windows import Encoded  # noqa: E402
from unspin.taxonomy import TECHNIQUE_NAMES  # noqa: E402
from unspin.train.calibrate import MAX_RATE, MIN_RATE, Decoded, Raw, _bound_rates, _evidence  # noqa: E402
from unspin.train.data import LabeledArticle  # noqa: E402


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


def _tuning_article(text: str, sure: str, gold: bool) -> Decoded:
    """One paragraph whose head misses Name_Calling (0.2 against 0.3) while the token head is
    0.9 sure of the word ``sure``; ``gold``: whether annotators marked that word."""
    words = text.split(" ")
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    offsets = np.stack([starts, starts + np.array([len(w) for w in words])], 1)
    start = text.index(sure)
    article = LabeledArticle("1", text, [(0, 0, len(text))],
                             spans=[(TECHNIQUE_NAMES[NC], start, start + len(sure))] if gold else [],
                             paragraph_labels={0: [TECHNIQUE_NAMES[NC]] if gold else []})
    token = np.zeros((len(words), len(TECHNIQUE_NAMES)))
    token[words.index(sure), NC] = 0.9
    paragraph = np.zeros((1, len(TECHNIQUE_NAMES)))
    paragraph[0, NC] = 0.2
    encoded = Encoded(np.arange(len(words)), offsets, np.arange(len(words)))
    return Decoded(Raw(article, encoded, np.zeros(len(words), dtype=int), None), token, paragraph, None)


def _choose(decoded: list[Decoded]):
    k = len(TECHNIQUE_NAMES)
    return _evidence(decoded, np.full(k, 0.3), np.full(k, 0.5), np.zeros(k, dtype=int), 0.5, np.zeros(k, dtype=bool))


def test_word_evidence_is_used_only_where_it_finds_what_annotators_marked() -> None:
    right = [_tuning_article("they call the minister a puppet today", "puppet", gold=True)]
    wrong = [_tuning_article("the council met on tuesday", "council", gold=False)]
    chosen, note = _choose(right)
    assert chosen is not None and chosen["word"] <= 0.9 and chosen["share"] <= 0.2 / 0.3
    assert "without" in note
    assert _choose(wrong)[0] is None  # it would only add a label nobody marked
