"""Token and paragraph probabilities -> character spans and paragraph labels.

A word is in a technique's span when its best token clears the technique's threshold;
consecutive such words in one paragraph form a span, which therefore always starts and
ends on word boundaries of the original text. Spans of different techniques may overlap.

:func:`decode_article` tells one story per article: the paragraph head decides which
techniques a paragraph uses, a span is shown only where its paragraph agrees, every
paragraph label is backed by at least one span, and a span's confidence is its
paragraph's (the best span of a paragraph carries it, weaker ones proportionally less).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..document import Span


@dataclass
class Run:
    """A candidate span: technique ``t``, tokens [a, b), in paragraph ``para``."""

    t: int
    para: int
    a: int
    b: int
    strength: float  # mean word-level probability over the run


def word_probs(probs: np.ndarray, word_ids: np.ndarray) -> np.ndarray:
    """Word-level probability (the max over the word's tokens), broadcast back to tokens."""
    new_word = np.r_[True, word_ids[1:] != word_ids[:-1]]
    word_max = np.maximum.reduceat(probs, np.flatnonzero(new_word), axis=0)
    return word_max[np.cumsum(new_word) - 1]


def _runs(wprob: np.ndarray, on: np.ndarray, t: int, token_para: np.ndarray) -> list[Run]:
    para_break = np.r_[True, token_para[1:] != token_para[:-1]]
    edges = np.diff(np.r_[0, on.astype(np.int8), 0])
    out = []
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        cuts = [s, *(np.flatnonzero(para_break[s + 1 : e]) + s + 1), e]
        for a, b in zip(cuts[:-1], cuts[1:], strict=False):
            out.append(Run(t, int(token_para[a]), int(a), int(b), float(wprob[a:b, t].mean())))
    return out


# A highlight must hold a word that can carry a technique: a token head whose signal is
# spread thin over a paragraph peaks on words like "a" or "of", and a reader rightly
# rejects such a highlight.
FUNCTION_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves s t d ll m re ve
""".split())  # noqa: SIM905 (a word list reads best as text)
WORD = re.compile(r"\w+")


def _visible(text: str, offsets: np.ndarray, run: Run) -> tuple[int, int] | None:
    start, end = int(offsets[run.a, 0]), int(offsets[run.b - 1, 1])
    words = WORD.findall(text[start:end].lower())
    return (start, end) if any(w not in FUNCTION_WORDS for w in words) else None


# A sentence ends at . ! or ? (and any closing quote or bracket) before the next sentence's
# first character, which is not a lower-case letter ("U.S. officials" is one sentence).
SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[^a-z\s]|\s*$)")


def _sentences(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """The whole sentences of ``text[lo:hi]`` that ``text[start:end]`` touches."""
    ends = [m.end() for m in SENTENCE_END.finditer(text, lo, hi)]
    s = max((x for x in ends if x <= start), default=lo)
    e = min((x for x in ends if x >= end), default=hi)
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def decode_article(
    token_probs: np.ndarray,
    paragraph_probs: np.ndarray,
    offsets: np.ndarray,
    word_ids: np.ndarray,
    token_para: np.ndarray,
    span_thresholds: np.ndarray,
    paragraph_thresholds: np.ndarray,
    names: tuple[str, ...] | list[str],
    text: str,
    gaps: np.ndarray | None = None,
    peak_share: float = 0.5,
    sentence_level: np.ndarray | None = None,
) -> tuple[list[Span], np.ndarray]:
    """Spans and the [P, T] boolean paragraph decisions, consistent with each other.

    A paragraph label whose spans all fall under their threshold is shown on its
    strongest phrase: the words around the paragraph's peak token that keep at least
    ``peak_share`` of the peak probability. Spans of the techniques marked in
    ``sentence_level`` (those annotators mark on whole clauses, like Doubt) grow to the
    sentences they touch: "lied" alone does not show what casts the doubt.
    """
    on_para = paragraph_probs >= paragraph_thresholds
    n = len(token_probs)
    if n == 0:
        return [], np.zeros_like(on_para)
    wprob = word_probs(token_probs, word_ids)
    inside = token_para >= 0
    runs: dict[tuple[int, int], list[Run]] = {}
    for t in np.flatnonzero(on_para.any(0)):
        on = (wprob[:, t] >= span_thresholds[t]) & inside
        if gaps is not None and gaps[t] > 0:
            on = _bridge(on, int(gaps[t]), token_para)
        for r in _runs(wprob, on, int(t), token_para):
            if on_para[r.para, t] and _visible(text, offsets, r):
                runs.setdefault((r.para, r.t), []).append(r)
    for p, t in zip(*np.nonzero(on_para), strict=True):
        if (p, t) in runs:
            continue
        tokens = np.flatnonzero(token_para == p)
        if len(tokens) == 0:
            on_para[p, t] = False
            continue
        peak = tokens[int(wprob[tokens, t].argmax())]
        near = (wprob[:, t] >= peak_share * wprob[peak, t]) & (token_para == p)
        grown = [r for r in _runs(wprob, near, int(t), token_para) if r.a <= peak < r.b]
        if grown and _visible(text, offsets, grown[0]):
            runs[(int(p), int(t))] = grown
        else:
            on_para[p, t] = False  # nothing visible to show: no label either
    spans: dict[tuple[int, int, int], Span] = {}
    for (pi, ti), rs in runs.items():
        best = max(r.strength for r in rs)
        tokens = np.flatnonzero(token_para == pi)
        for r in rs:
            start, end = _visible(text, offsets, r)  # type: ignore[misc]
            if sentence_level is not None and sentence_level[ti]:
                start, end = _sentences(text, start, end, int(offsets[tokens[0], 0]), int(offsets[tokens[-1], 1]))
            score = round(float(paragraph_probs[pi, ti]) * r.strength / max(best, 1e-9), 4)
            key = (ti, start, end)
            if key not in spans or spans[key].score < score:  # two runs in one sentence: one span
                spans[key] = Span(technique=names[ti], start=start, end=end, score=score)
    return sorted(spans.values(), key=lambda sp: (sp.start, -sp.end, sp.technique)), on_para


def _bridge(on: np.ndarray, gap: int, token_para: np.ndarray) -> np.ndarray:
    """Set short False runs lying between two True runs of one paragraph to True."""
    edges = np.diff(np.r_[0, on.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = on.copy()
    for end, nxt in zip(ends[:-1], starts[1:], strict=True):
        if nxt - end <= gap and token_para[end - 1] == token_para[nxt]:
            out[end:nxt] = True
    return out
