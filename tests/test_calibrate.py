"""Paragraph thresholds keep every technique's predicted rate within bounds of its gold rate."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="calibration is part of training (the `train` extra)")
from unspin.train.calibrate import MAX_RATE, MIN_RATE, _bound_rates  # noqa: E402


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
