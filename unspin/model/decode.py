"""Token and paragraph probabilities -> character spans and paragraph labels.

A word is in a technique's span when its best token clears the technique's threshold;
consecutive such words in one paragraph form a span, which therefore always starts and
ends on word boundaries of the original text, never inside "US-installed" or "Kremlin's".
Spans of different techniques may overlap; those of one technique are joined.

:func:`decode_article` tells one story per article: the paragraph head decides which
techniques a paragraph uses (a word the token head is very sure of can add one,
:func:`with_evidence`), a span is shown only where its paragraph agrees, every
paragraph label is backed by at least one span, and a span's confidence is its
paragraph's (the best span of a paragraph carries it, weaker ones proportionally less).
A Repetition highlight always holds something the article says more than once.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..document import Span
from ..sentences import sentence_bounds
from .meta import Inference
from .windows import paragraph_tokens

Lexical = Callable[[tuple[int, int], tuple[int, int]], "np.ndarray | None"]
"""The words view's rows for paragraphs [pa, pb), whose tokens are [a, b)."""


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
    start, end = _whole_words(text, int(offsets[run.a, 0]), int(offsets[run.b - 1, 1]))
    words = WORD.findall(text[start:end].lower())
    return (start, end) if any(w not in FUNCTION_WORDS for w in words) else None


JOINED_WORD = re.compile(r"\w+(?:[-'’]\w+)*")  # "US-installed", "Kremlin's"; not a closing quote


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to the whole hyphenated or apostrophised words it cuts: a reader
    rejects "The US-" where the text says "The US-installed"."""
    for m in JOINED_WORD.finditer(text, max(0, start - 60), min(len(text), end + 60)):
        if m.start() < start < m.end():
            start = m.start()
        if m.start() < end < m.end():
            end = m.end()
    return start, end





def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def _token_words(text: str, offsets: np.ndarray) -> list[str]:
    """The lower-cased word each token lies in ("" for punctuation). Words are looked up
    around the tokens given only, from and to a character no word holds."""
    lo, hi = int(offsets[0, 0]), int(offsets[-1, 1])
    while lo > 0 and _word_char(text[lo - 1]):
        lo -= 1
    while hi < len(text) and _word_char(text[hi]):
        hi += 1
    found = list(WORD.finditer(text, lo, hi))
    out = [""] * len(offsets)
    if found:
        starts = np.array([m.start() for m in found], dtype=np.int64)
        at = np.clip(np.searchsorted(starts, offsets[:, 0], side="right") - 1, 0, len(found) - 1)
        for i, j in enumerate(at):
            if found[j].start() <= offsets[i, 0] < found[j].end():
                out[i] = found[j].group().lower()
    return out


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"  # what \w matches


def word_roles(text: str, offsets: np.ndarray, counts: Counter[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """[N] ``content``: the token lies in a word that is not a function word; [N]
    ``repeatable``: a technique of ``repeated_only`` (model.json) may be shown there, on a word the article
    uses at least twice (plural and singular count as one) or on punctuation and function
    words, which may sit inside a repeated phrase. ``counts``: the article's count of every
    word stem, when the caller has it."""
    words = _token_words(text, offsets) if len(offsets) else []
    if counts is None:
        counts = Counter(_stem(m.group()) for m in WORD.finditer(text))
    content = np.array([w != "" and w not in FUNCTION_WORDS for w in words], dtype=bool)
    twice = np.array([w != "" and counts[_stem(w)] >= 2 for w in words], dtype=bool)
    return content, ~content | twice


def paragraph_peaks(token_probs: np.ndarray, token_para: np.ndarray, n_paragraphs: int) -> np.ndarray:
    """[P, T] each paragraph's highest token probability per technique."""
    peak = np.zeros((n_paragraphs, token_probs.shape[1]), dtype=token_probs.dtype)
    first, end = paragraph_tokens(token_para, n_paragraphs)
    for p in np.flatnonzero(end > first):
        peak[p] = token_probs[first[p] : end[p]].max(0)
    return peak


def with_evidence(
    paragraph_probs: np.ndarray, token_probs: np.ndarray, token_para: np.ndarray,
    paragraph_thresholds: np.ndarray, evidence: tuple[np.ndarray | float, np.ndarray | float] | None,
    style: str = "en",
) -> np.ndarray:
    """[P, T] paragraph probabilities where a word's own evidence can turn a label on.

    The paragraph head reads a whole paragraph, so one "puppet" in a long paragraph is
    diluted; the token head, trained on the English annotators' spans, is not. Given
    ``evidence`` (word, share), a paragraph with a word at least ``word`` sure of a
    technique (one threshold, or one per technique) carries it at its threshold, if its own
    probability is at least ``share`` (one, or one per technique) of that threshold. Only for the English annotation
    ``style``: the token head learned the English annotators' spans, and for the translated
    style the paragraph head already predicts its annotators' denser labelling."""
    if evidence is None or style != "en" or len(token_probs) == 0:
        return paragraph_probs
    peaks = paragraph_peaks(token_probs, token_para, len(paragraph_probs))
    return evidence_from_peaks(paragraph_probs, peaks, paragraph_thresholds, evidence)


def evidence_from_peaks(
    paragraph_probs: np.ndarray, peaks: np.ndarray, paragraph_thresholds: np.ndarray,
    evidence: tuple[np.ndarray | float, np.ndarray | float],
) -> np.ndarray:
    """:func:`with_evidence` given each paragraph's peak token probabilities [P, T], for a
    caller that tries many thresholds on the same article (``unspin.calibrate``)."""
    word, share = evidence
    fire = (peaks >= word) & (paragraph_probs >= share * paragraph_thresholds)
    return np.where(fire, np.maximum(paragraph_probs, paragraph_thresholds), paragraph_probs)


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
    lexical: np.ndarray | Lexical | None = None,
    repeated_only: tuple[str, ...] = Inference.repeated_only,
    phrase_level: np.ndarray | None = None,
) -> tuple[list[Span], np.ndarray]:
    """Spans and the [P, T] boolean paragraph decisions, consistent with each other.

    A paragraph label whose spans all fall under their threshold is shown on its
    strongest phrase: the words around the paragraph's peak that keep at least
    ``peak_share`` of it. A token's strength there is its probability relative to the
    paragraph's best plus, given ``lexical`` [N, T] (the words view's contributions,
    :meth:`unspin.model.heads.ParagraphWords.contributions`), its word's positive
    contribution relative to the paragraph's best: the phrase both views point to.

    ``lexical`` may also be a function of the paragraphs [pa, pb) and their tokens [a, b)
    that gives those rows only: a long article is decoded a group of paragraphs at a time
    (:data:`GROUP_TOKENS`), and so its words view is computed.

    Spans of the techniques marked in ``sentence_level`` (those annotators mark on whole
    clauses, like Doubt) grow to the sentences they touch: "lied" alone does not show what
    casts the doubt; those marked in ``phrase_level`` (whose annotated spans are almost never
    one word, like Flag_Waving) grow so when the span is a single word: "joined" alone is
    no flag-waving a reader can see. Techniques in ``repeated_only`` are shown only on what the article
    says more than once: the token head alone marked words used once ("Creator",
    "sensory") as Repetition.
    """
    on_para = paragraph_probs >= paragraph_thresholds
    if len(token_probs) == 0:
        return [], np.zeros_like(on_para)
    counts = Counter(_stem(m.group()) for m in WORD.finditer(text))
    spans: list[Span] = []
    for (pa, pb), (a, b) in _groups(token_para, len(on_para)):
        if a == b:  # paragraphs without a token: nothing to show, so no label
            on_para[pa:pb] = False
            continue
        spans += _decode_part(
            token_probs[a:b], paragraph_probs, on_para, (pa, pb), offsets[a:b], word_ids[a:b], token_para[a:b],
            span_thresholds, names, text, counts, gaps, peak_share, sentence_level,
            lexical((pa, pb), (a, b)) if callable(lexical) else None if lexical is None else lexical[a:b],
            repeated_only, phrase_level,
        )
    return sorted(spans, key=lambda sp: (sp.start, -sp.end, sp.technique)), on_para


GROUP_TOKENS = 4096  # decoded at a time: a long article's per-token copies stay this size


def _groups(token_para: np.ndarray, n_paragraphs: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Runs of whole paragraphs of at least GROUP_TOKENS tokens (the last may be shorter):
    ((first paragraph, end), (first token, end)) of each; one group for most articles."""
    first, end = paragraph_tokens(token_para, n_paragraphs)
    cuts, size = [0], 0
    for p in range(n_paragraphs - 1):
        size += int(end[p] - first[p])
        if size >= GROUP_TOKENS and end[p] > first[p]:
            cuts.append(p + 1)
            size = 0
    cuts.append(n_paragraphs)
    token_cuts = [0, *(int(end[c - 1]) for c in cuts[1:-1]), len(token_para)]
    return list(zip(zip(cuts[:-1], cuts[1:], strict=True), zip(token_cuts[:-1], token_cuts[1:], strict=True),
                    strict=True))


def _decode_part(
    token_probs: np.ndarray, paragraph_probs: np.ndarray, on_para: np.ndarray, paragraphs: tuple[int, int],
    offsets: np.ndarray, word_ids: np.ndarray, token_para: np.ndarray, span_thresholds: np.ndarray,
    names: tuple[str, ...] | list[str], text: str, counts: Counter[str], gaps: np.ndarray | None,
    peak_share: float, sentence_level: np.ndarray | None, lexical: np.ndarray | None,
    repeated_only: tuple[str, ...], phrase_level: np.ndarray | None = None,
) -> list[Span]:
    """:func:`decode_article` for the paragraphs [pa, pb), whose tokens are the arrays given
    (``on_para`` is the article's, and updated)."""
    pa, pb = paragraphs
    wprob = word_probs(token_probs, word_ids)
    lex = np.zeros_like(wprob) if lexical is None else np.clip(lexical, 0.0, None)
    words = _token_words(text, offsets)
    content, repeatable = word_roles(text, offsets, counts)
    only_repeated = [i for i, name in enumerate(names) if name in repeated_only]
    if only_repeated:
        keep = repeatable[:, None]
        wprob, lex = wprob.copy(), lex.copy()
        wprob[:, only_repeated] *= keep
        lex[:, only_repeated] *= keep
    inside = token_para >= 0
    runs: dict[tuple[int, int], list[Run]] = {}
    for t in np.flatnonzero(on_para[pa:pb].any(0)):
        on = (wprob[:, t] >= span_thresholds[t]) & inside
        if gaps is not None and gaps[t] > 0:
            on = _bridge(on, int(gaps[t]), token_para)
        for r in _runs(wprob, on, int(t), token_para):
            if on_para[r.para, t] and _visible(text, offsets, r):
                runs.setdefault((r.para, r.t), []).append(r)
    first, end = paragraph_tokens(token_para, len(on_para))
    for p, t in zip(*np.nonzero(on_para[pa:pb]), strict=True):
        p += pa
        if (p, t) in runs:
            continue
        a, b = int(first[p]), int(end[p])  # the paragraph's tokens: work on them alone
        if a == b:
            on_para[p, t] = False
            continue
        prob = wprob[a:b, t] / max(float(wprob[a:b, t].max()), 1e-9)
        said = lex[a:b, t] / max(float(lex[a:b, t].max()), 1e-9)
        strength = prob + said
        # The words view's "not" or "?" is evidence, but no phrase to centre on.
        peak = int((prob + said * content[a:b]).argmax())
        near = (strength >= peak_share * strength[peak]) & (strength > 0)
        grown = [Run(r.t, r.para, r.a + a, r.b + a, r.strength)
                 for r in _runs(wprob[a:b], near, int(t), token_para[a:b]) if r.a <= peak < r.b]
        if grown and _visible(text, offsets, grown[0]):
            runs[(int(p), int(t))] = grown
        else:
            on_para[p, t] = False  # nothing visible to show: no label either
    spans: list[Span] = []
    for (pi, ti), rs in runs.items():
        best = max(r.strength for r in rs)
        a, b = int(first[pi]), int(end[pi])
        shown: list[Span] = []
        for r in rs:
            start, end_ = _visible(text, offsets, r)  # type: ignore[misc]
            lone = phrase_level is not None and phrase_level[ti] and len(JOINED_WORD.findall(text[start:end_])) < 2
            if lone or (sentence_level is not None and sentence_level[ti]):
                start, end_ = sentence_bounds(text, start, end_, int(offsets[a, 0]), int(offsets[b - 1, 1]))
            shown.append(Span(technique=names[ti], start=start, end=end_,
                              score=round(float(paragraph_probs[pi, ti]) * r.strength / max(best, 1e-9), 4)))
        spans += _with_evidence(_merged(shown), wprob, lex, offsets, words, names)
    return spans


def _with_evidence(spans: list[Span], wprob: np.ndarray, lex: np.ndarray, offsets: np.ndarray,
                   words: list[str], names: tuple[str, ...] | list[str], most: int = 3) -> list[Span]:
    """Each span with the words inside it that drove it, strongest first: a word's
    probability plus what it adds to the words view's logit, both relative to the span's
    best, so a reader sees which words the model leaned on ("puppet", not "the")."""
    index = {name: i for i, name in enumerate(names)}
    out = []
    for sp in spans:
        t = index[sp.technique]
        inside = np.flatnonzero((offsets[:, 0] >= sp.start) & (offsets[:, 1] <= sp.end))
        strength: dict[str, float] = {}
        if len(inside):
            prob = wprob[inside, t] / max(float(wprob[inside, t].max()), 1e-9)
            said = lex[inside, t] / max(float(lex[inside, t].max()), 1e-9)
            for i, value in zip(inside, prob + said, strict=True):
                if words[i] and words[i] not in FUNCTION_WORDS:
                    strength[words[i]] = max(strength.get(words[i], 0.0), float(value))
        out.append(dataclasses.replace(sp, evidence=sorted(strength, key=lambda w: -strength[w])[:most]))
    return out


def _merged(spans: list[Span]) -> list[Span]:
    """One technique's spans in one paragraph, overlapping ones joined (two runs in one
    sentence, or two halves of "literal-mindedness"), each with its best score."""
    out: list[Span] = []
    for sp in sorted(spans, key=lambda sp: (sp.start, -sp.end)):
        if out and sp.start < out[-1].end:
            last = out[-1]
            out[-1] = Span(last.technique, last.start, max(last.end, sp.end), max(last.score, sp.score))
        else:
            out.append(sp)
    return out


def _bridge(on: np.ndarray, gap: int, token_para: np.ndarray) -> np.ndarray:
    """Set short False runs lying between two True runs of one paragraph to True."""
    edges = np.diff(np.r_[0, on.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = on.copy()
    for end, nxt in zip(ends[:-1], starts[1:], strict=True):
        if nxt - end <= gap and token_para[end - 1] == token_para[nxt]:
            out[end:nxt] = True
    return out
