"""The multiple-instance loss that lets translated paragraphs' labels teach the token head."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch", reason="training needs the `train` extra")
from unspin.train.loop import MIL_SHARPNESS, mil_loss  # noqa: E402


def _log_mean_exp(values: list[float]) -> float:
    r = MIL_SHARPNESS
    return math.log(sum(math.exp(r * v) for v in values) / len(values)) / r


def test_mil_pools_each_paragraphs_tokens_with_a_soft_maximum() -> None:
    logits = torch.tensor([[[2.0], [-1.0], [0.5], [9.0]]])  # the last token is in no paragraph
    para = torch.tensor([[0, 0, 1, -1]])
    labels = torch.tensor([[1.0], [0.0]])
    got = mil_loss(logits, para, para >= 0, labels)
    pooled = torch.tensor([_log_mean_exp([2.0, -1.0]), _log_mean_exp([0.5])])
    want = torch.nn.functional.binary_cross_entropy_with_logits(pooled, labels[:, 0])
    assert float(got) == pytest.approx(float(want), rel=1e-5)
    assert -1.0 < float(pooled[0]) < 2.0 and float(pooled[0]) > (2.0 - 1.0) / 2  # nearer the max


def test_mil_moves_the_strongest_token_of_a_labelled_paragraph_most() -> None:
    logits = torch.tensor([[[3.0], [0.0], [-2.0]]], requires_grad=True)
    para = torch.zeros((1, 3), dtype=torch.long)
    mil_loss(logits, para, para >= 0, torch.tensor([[1.0]])).backward()
    grad = logits.grad[0, :, 0]
    assert (grad < 0).all() and grad[0] < grad[1] < grad[2]  # all pushed up, the peak the most
