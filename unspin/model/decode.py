"""Token probabilities -> character spans.

A word is in a technique's span when its best token clears the technique's threshold;
consecutive such words in one paragraph form a span, which therefore always starts and
ends on word boundaries of the original text. Spans of different techniques may overlap.
"""

from __future__ import annotations

import numpy as np

from ..document import Span


def decode_spans(
    probs: np.ndarray,
    offsets: np.ndarray,
    word_ids: np.ndarray,
    token_para: np.ndarray,
    thresholds: np.ndarray,
    names: tuple[str, ...] | list[str],
    text: str,
    gaps: np.ndarray | None = None,
) -> list[Span]:
    """``probs`` [N, T] calibrated; ``thresholds`` [T]; ``gaps`` [T]: the longest run of
    tokens under the threshold that still joins two parts of one span (long techniques such
    as doubt or causal oversimplification dip inside a clause). Returns spans sorted by start."""
    n = len(probs)
    if n == 0:
        return []
    # Word-level probability: the max over the word's tokens, broadcast back to tokens.
    new_word = np.r_[True, word_ids[1:] != word_ids[:-1]]
    starts = np.flatnonzero(new_word)
    word_max = np.maximum.reduceat(probs, starts, axis=0)
    token_word = np.cumsum(new_word) - 1
    wprob = word_max[token_word]  # [N, T]
    # A run breaks where the paragraph changes.
    para_break = np.r_[True, token_para[1:] != token_para[:-1]]
    spans = []
    for t in np.flatnonzero((wprob >= thresholds).any(0)):
        on = (wprob[:, t] >= thresholds[t]) & (token_para >= 0)
        if gaps is not None and gaps[t] > 0:
            on = _bridge(on, int(gaps[t]), token_para)
        edges = np.diff(np.r_[0, on.astype(np.int8), 0])
        run_starts = np.flatnonzero(edges == 1)
        run_ends = np.flatnonzero(edges == -1)
        for s, e in zip(run_starts, run_ends, strict=True):
            cuts = [s, *(np.flatnonzero(para_break[s + 1 : e]) + s + 1), e]
            for a, b in zip(cuts[:-1], cuts[1:], strict=False):
                start, end = int(offsets[a, 0]), int(offsets[b - 1, 1])
                if not any(ch.isalnum() for ch in text[start:end]):
                    continue
                score = float(wprob[a:b, t].mean())
                spans.append(Span(technique=names[t], start=start, end=end, score=round(score, 4)))
    spans.sort(key=lambda sp: (sp.start, -sp.end, sp.technique))
    return spans


def _bridge(on: np.ndarray, gap: int, token_para: np.ndarray) -> np.ndarray:
    """Set short False runs lying between two True runs of one paragraph to True."""
    edges = np.diff(np.r_[0, on.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = on.copy()
    for end, nxt in zip(ends[:-1], starts[1:], strict=True):
        if nxt - end <= gap and token_para[end - 1] == token_para[nxt]:
            out[end:nxt] = True
    return out
