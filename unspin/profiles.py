"""An article's persuasion profile: the numbers behind the reports and comparisons.

Rates are per 1,000 words so that a long report and a short op-ed can be compared; the
strongest evidence is quoted as whole sentences because a bare phrase out of context is easy
to misread.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass

from .document import Analysis, Article, Paragraph, Span
from .sentences import sentence_bounds
from .taxonomy import CATEGORIES, TECHNIQUE_NAMES, category_of

__all__ = [
    "OTHER_CATEGORY",
    "Evidence",
    "Profile",
    "category_key",
    "paragraphs_of",
    "sentence_around",
]

OTHER_CATEGORY = "other"
"""Category key for technique names the taxonomy does not know (e.g. from a newer model)."""

_MAX_SENTENCE = 320  # longer "sentences" (lists, run-ons) are cut to a window around the span
_CONTEXT = 130
_WORD = re.compile(r"\S+")


def category_key(technique: str) -> str:
    """The technique's category key, or ``OTHER_CATEGORY`` for an unknown technique."""
    try:
        return category_of(technique).key
    except KeyError:
        return OTHER_CATEGORY


def paragraphs_of(article: Article) -> list[Paragraph]:
    """The article's paragraphs; a text without paragraph boundaries counts as one paragraph."""
    if article.paragraphs:
        return list(article.paragraphs)
    if not article.text.strip():
        return []
    return [Paragraph(index=0, start=0, end=len(article.text))]


def per_1000(count: float, words: int) -> float:
    return count * 1000.0 / words if words else 0.0


@dataclass(frozen=True)
class Evidence:
    """A detection quoted with its sentence: ``article.text[start:end]`` is the excerpt."""

    span: Span
    start: int
    end: int
    text: str
    paragraph: int | None
    cut_before: bool = False  # the excerpt starts mid-sentence (sentence was too long)
    cut_after: bool = False


def sentence_around(article: Article, span: Span) -> tuple[int, int, bool, bool]:
    """Expand ``span`` to its sentence, without leaving its paragraph.

    Returns ``(start, end, cut_before, cut_after)``; very long sentences are cut to a window
    around the span at word boundaries so that evidence stays quotable.
    """
    text = article.text
    para = article.paragraph_at(span.start)
    lo, hi = (para.start, para.end) if para else (0, len(text))
    s_start, s_end = sentence_bounds(text, span.start, span.end, lo, hi)
    s_start, s_end = min(s_start, span.start), max(s_end, min(span.end, hi))
    cut_before = cut_after = False
    if s_end - s_start > _MAX_SENTENCE:
        if span.start - s_start > _CONTEXT:
            ws = text.find(" ", span.start - _CONTEXT, span.start)
            if ws != -1:
                s_start, cut_before = ws + 1, True
        if s_end - span.end > _CONTEXT:
            ws = text.rfind(" ", span.end, span.end + _CONTEXT)
            if ws != -1:
                s_end, cut_after = ws, True
    return s_start, s_end, cut_before, cut_after


def _evidence(analysis: Analysis, spans: list[Span], top: int) -> tuple[Evidence, ...]:
    """The strongest spans, one per sentence, the best of each technique first for variety."""
    ranked = sorted(spans, key=lambda s: (-s.score, s.start, s.end, s.technique))
    chosen: list[tuple[Span, tuple[int, int, bool, bool]]] = []
    used: set[tuple[int, int]] = set()
    seen_techniques: set[str] = set()
    for variety_pass in (True, False):
        for span in ranked:
            if len(chosen) >= top:
                break
            if variety_pass and span.technique in seen_techniques:
                continue
            bounds = sentence_around(analysis.article, span)
            if bounds[:2] in used:
                continue
            used.add(bounds[:2])
            seen_techniques.add(span.technique)
            chosen.append((span, bounds))
    chosen.sort(key=lambda c: (-c[0].score, c[0].start))
    out = []
    for span, (start, end, cut_before, cut_after) in chosen:
        para = analysis.article.paragraph_at(span.start)
        out.append(
            Evidence(
                span=span,
                start=start,
                end=end,
                text=analysis.article.text[start:end],
                paragraph=para.index if para else None,
                cut_before=cut_before,
                cut_after=cut_after,
            )
        )
    return tuple(out)


def _density(article: Article, spans: list[Span], bins: int) -> tuple[float, ...]:
    """Spans per 1,000 words in ``bins`` stretches of equal word count, by span start."""
    starts = [m.start() for m in _WORD.finditer(article.text)]
    words = len(starts)
    if not words:
        return tuple(0.0 for _ in range(bins))
    counts = [0] * bins
    for span in spans:
        word = max(0, bisect.bisect_right(starts, span.start) - 1)
        counts[min(bins - 1, word * bins // words)] += 1
    out = []
    for i in range(bins):
        in_bin = (i + 1) * words // bins - i * words // bins
        out.append(per_1000(counts[i], in_bin))
    return tuple(out)


def _touched(paragraphs: list[Paragraph], spans: list[Span]) -> set[int]:
    """Indices of the paragraphs that at least one span overlaps."""
    ordered = sorted(paragraphs, key=lambda p: p.start)
    starts = [p.start for p in ordered]
    out: set[int] = set()
    for s in spans:
        k = max(0, bisect.bisect_right(starts, s.start) - 1)
        while k < len(ordered) and ordered[k].start < s.end:
            if ordered[k].end > s.start:
                out.add(ordered[k].index)
            k += 1
    return out


def _measured(analysis: Analysis) -> bool:
    """False when nothing was detected because nothing ran (no model installed)."""
    return bool(
        analysis.model_id
        or analysis.spans
        or analysis.paragraphs
        or analysis.genre
        or analysis.genre_scores
        or analysis.frame_scores
    )


@dataclass(frozen=True)
class Profile:
    """How intensely, and how, an article persuades, at detections scoring >= ``min_score``.

    ``counts``/``per_1000`` hold only techniques found (in taxonomy order);
    ``category_counts``/``category_per_1000`` hold every category, zeros included, so that
    profiles line up in comparisons.
    """

    min_score: float
    words: int
    paragraphs: int
    paragraphs_with_technique: int
    span_count: int
    counts: dict[str, int]
    per_1000: dict[str, float]
    category_counts: dict[str, int]
    category_per_1000: dict[str, float]
    density: tuple[float, ...]
    evidence: tuple[Evidence, ...]
    measured: bool

    @property
    def total_per_1000(self) -> float:
        return per_1000(self.span_count, self.words)

    @property
    def paragraph_share(self) -> float:
        """Share (0..1) of paragraphs with at least one technique."""
        return self.paragraphs_with_technique / self.paragraphs if self.paragraphs else 0.0

    def rate(self, technique: str) -> float:
        return self.per_1000.get(technique, 0.0)

    @classmethod
    def from_analysis(
        cls, analysis: Analysis, *, min_score: float = 0.0, bins: int = 10, top: int = 5
    ) -> Profile:
        article = analysis.article
        spans = [
            s
            for s in analysis.spans_at_least(min_score)
            if 0 <= s.start < s.end <= len(article.text)
        ]
        words = article.word_count
        counts = Counter(s.technique for s in spans)
        order = {name: i for i, name in enumerate(TECHNIQUE_NAMES)}
        techniques = sorted(counts, key=lambda t: (order.get(t, len(order)), t))
        cat_counts: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
        for name in techniques:
            key = category_key(name)
            cat_counts[key] = cat_counts.get(key, 0) + counts[name]
        paragraphs = paragraphs_of(article)
        labelled = {
            p.index
            for p in analysis.paragraphs
            if any(score >= min_score for score in p.techniques.values())
        }
        with_technique = len(labelled & {p.index for p in paragraphs} | _touched(paragraphs, spans))
        return cls(
            min_score=min_score,
            words=words,
            paragraphs=len(paragraphs),
            paragraphs_with_technique=with_technique,
            span_count=len(spans),
            counts={t: counts[t] for t in techniques},
            per_1000={t: per_1000(counts[t], words) for t in techniques},
            category_counts=cat_counts,
            category_per_1000={k: per_1000(v, words) for k, v in cat_counts.items()},
            density=_density(article, spans, max(1, bins)),
            evidence=_evidence(analysis, spans, top),
            measured=_measured(analysis),
        )
