"""The data model every layer passes along: Article -> Paragraph -> Span, and Analysis.

All offsets are Python string indices (code points) into ``Article.text``, which is kept
exactly as read: nothing normalises it, so offsets stay valid against the source file.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "1.1"

# A detection is "likely" when its paragraph label's calibrated confidence reaches this:
# right more often than not. Reports lead with likely detections; the rest are "possible".
LIKELY = 0.5
LEVELS = ("likely", "possible")


def level_of(confidence: float) -> str:
    """The level a reader is shown for a paragraph label's calibrated confidence."""
    return "likely" if confidence >= LIKELY else "possible"


def content_hash(text: str) -> str:
    """What makes two articles the same article: SHA-256 (hex) of the exact text. The
    corpus keys articles by it; a results file of ``unspin analyze`` keeps its first half."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Paragraph:
    """A paragraph as a slice of the article text: ``article.text[start:end]``."""

    index: int
    start: int
    end: int
    line: int | None = None  # 1-based line in the SemEval article layout (title is line 1)


@dataclass
class Article:
    """One article: its exact text, metadata and paragraph boundaries."""

    text: str
    id: str = ""
    title: str | None = None
    url: str | None = None
    outlet: str | None = None
    author: str | None = None
    published: str | None = None  # ISO 8601 date as found in the source
    language: str | None = None
    source_kind: str = "text"  # text | semeval | html | url | feed
    file: str | None = None  # the name (no folder) of the local file it was read from
    paragraphs: list[Paragraph] = field(default_factory=list)

    def paragraph_at(self, offset: int) -> Paragraph | None:
        """The paragraph containing character ``offset``, if any. Paragraphs are in reading
        order, so this is a binary search: reports and the model ask it once per span, and a
        long article has thousands of both."""
        i = bisect.bisect_right(self.paragraphs, offset, key=lambda p: p.start) - 1
        if i >= 0 and self.paragraphs[i].start <= offset < self.paragraphs[i].end:
            return self.paragraphs[i]
        return None

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        data = dict(data)
        data["paragraphs"] = [Paragraph(**p) for p in data.get("paragraphs", [])]
        return cls(**data)


@dataclass
class Span:
    """A detected (or annotated) use of a technique at ``text[start:end]``. Spans may overlap."""

    technique: str
    start: int
    end: int
    score: float = 1.0
    """Displayed confidence: the expected share of the span's characters that an annotator
    would mark with this technique (1 for gold annotations)."""
    level: str = "likely"
    """``likely`` or ``possible``: the level of the paragraph label the span shows."""
    evidence: list[str] = field(default_factory=list)
    """The words that drove the detection, strongest first."""

    def text(self, article: Article) -> str:
        return article.text[self.start : self.end]


@dataclass
class ParagraphLabels:
    """The techniques detected in one paragraph, with their calibrated scores."""

    index: int
    techniques: dict[str, float] = field(default_factory=dict)


@dataclass
class Analysis:
    """What unspin says about one article.

    ``genre_scores`` and ``frame_scores`` hold every class's probability; ``genre`` and
    ``frames`` are the decisions after the model's tuned thresholds.
    """

    article: Article
    spans: list[Span] = field(default_factory=list)
    paragraphs: list[ParagraphLabels] = field(default_factory=list)
    genre: str | None = None
    genre_scores: dict[str, float] = field(default_factory=dict)
    frames: list[str] = field(default_factory=list)
    frame_scores: dict[str, float] = field(default_factory=dict)
    model_id: str | None = None
    model_version: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "no model installed: no detections"
    levels: dict[str, Any] = field(default_factory=dict)
    """What the model's likely and possible detections were measured to be worth on held-out
    news (``labels_right``: the share of paragraph labels right; ``span_precision``: the mean
    share of a highlight's characters an annotator marks), for the reports' legend."""
    # the article's embedding (float16 bytes), only when asked for (the corpus's topics);
    # not part of the serialised format
    embedding: bytes | None = field(default=None, repr=False, compare=False)

    def spans_at_least(self, min_score: float) -> list[Span]:
        return [s for s in self.spans if s.score >= min_score]

    def likely(self) -> Analysis:
        """The same analysis with its likely detections only: what reports lead with."""
        return dataclasses.replace(
            self,
            spans=[s for s in self.spans if s.level == "likely"],
            paragraphs=[
                ParagraphLabels(p.index, {t: v for t, v in p.techniques.items() if v >= LIKELY})
                for p in self.paragraphs
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for span, out in zip(self.spans, d["spans"], strict=True):
            out["text"] = span.text(self.article)  # the quote, so a reader of the JSON need not slice
        del d["embedding"]
        d["schema_version"] = SCHEMA_VERSION
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        data = {k: v for k, v in data.items() if k != "schema_version"}
        data["article"] = Article.from_dict(data["article"])
        data["spans"] = [Span(**{k: v for k, v in s.items() if k != "text"}) for s in data.get("spans", [])]
        data["paragraphs"] = [ParagraphLabels(**p) for p in data.get("paragraphs", [])]
        return cls(**data)
