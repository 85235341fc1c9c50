"""What the corpus stores about one article, and the one per-article analysis step.

:func:`analyze_article` is the unit of work everywhere: the worker processes of
``corpus add`` and the Dask tasks of the distributed path call it unchanged, so both give
the same rows for the same article and model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..analyze import analyze_with, installed_model
from ..config import Settings
from ..document import Article, Paragraph, content_hash
from ..errors import ModelError
from ..model import DEFAULT_DIR, Model

__all__ = [
    "CorpusArticle",
    "Findings",
    "analyze_article",
    "content_hash",
    "corpus_model",
    "model_label",
    "per_hour",
]


def per_hour(articles: int, seconds: float) -> float:
    """A throughput in articles per hour."""
    return articles / seconds * 3600 if seconds else 0.0


def _periods(published: str | None) -> tuple[str | None, str | None]:
    """(month "YYYY-MM", week: the ISO week's Monday "YYYY-MM-DD") of an ISO date."""
    if not published:
        return None, None
    day = date.fromisoformat(published)
    monday = date.fromordinal(day.toordinal() - day.weekday())
    return published[:7], monday.isoformat()


@dataclass
class CorpusArticle:
    """One article with the metadata the corpus groups by. ``source`` names the input it was
    read from (a path, a URL, ``table.jsonl:12``); errors are recorded under it."""

    content_hash: str
    text: str
    source: str
    source_kind: str = "text"
    title: str | None = None
    url: str | None = None
    outlet: str | None = None
    domain: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    language: str | None = None
    words: int = 0
    external_id: str | None = None
    paragraphs: list[tuple[int, int]] = field(default_factory=list)

    @property
    def month(self) -> str | None:
        return _periods(self.published)[0]

    @property
    def week(self) -> str | None:
        return _periods(self.published)[1]

    @classmethod
    def from_article(cls, article: Article, *, source: str) -> CorpusArticle:
        return cls(
            content_hash=content_hash(article.text), text=article.text, source=source,
            source_kind=article.source_kind, title=article.title, url=article.url,
            outlet=article.outlet, published=article.published, language=article.language,
            words=article.word_count, external_id=article.id or None,
            paragraphs=[(p.start, p.end) for p in article.paragraphs],
        )  # fmt: skip

    def to_article(self) -> Article:
        return Article(
            text=self.text, id=self.external_id or "", title=self.title, url=self.url,
            outlet=self.outlet, published=self.published, language=self.language,
            source_kind=self.source_kind,
            paragraphs=[Paragraph(i, s, e) for i, (s, e) in enumerate(self.paragraphs)],
        )  # fmt: skip


@dataclass
class Findings:
    """What the model says about one article, without the article (cheap to send between
    processes). Spans: (technique, start, end, score, paragraph); paragraph labels:
    (paragraph, technique, score); ``embedding``: float16 bytes, or None."""

    model_id: str
    model_version: str
    spans: list[tuple[str, int, int, float, int | None]]
    paragraph_labels: list[tuple[int, str, float]]
    genre: str | None
    genre_scores: dict[str, float]
    frames: list[str]
    frame_scores: dict[str, float]
    embedding: bytes | None = None

    @property
    def model(self) -> str:
        return f"{self.model_id} {self.model_version}"


def model_label(model_dir: str | None) -> str:
    """"id version" of the model in ``model_dir`` (None: the shipped one), read from its
    model.json without loading it: the main process of ``corpus add`` only needs this."""
    path = (Path(model_dir) if model_dir else DEFAULT_DIR) / "model.json"
    try:
        meta = json.loads(path.read_text("utf-8"))
        return f"{meta['id']} {meta['version']}"
    except FileNotFoundError:
        raise ModelError(
            f"No trained model at {path.parent}: corpus analysis needs one (see UNSPIN_MODEL_DIR)."
        ) from None
    except (OSError, ValueError, KeyError) as err:
        raise ModelError(f"The model in {path.parent} is missing or broken ({err}).") from None


def corpus_model(settings: Settings) -> Model | None:
    """The model for corpus work: the one ``settings`` name, single-threaded, since corpus
    runs use one process per core instead (loaded once per process, by ``model.load``)."""
    return installed_model(settings.with_options(threads=1))


def analyze_article(article: CorpusArticle, model: Model | None) -> Findings:
    """Analyse one article, with its embedding: the step every corpus path runs unchanged."""
    doc = article.to_article()
    analysis = analyze_with(model, doc, embedding=True)
    spans = []
    for s in analysis.spans:
        paragraph = doc.paragraph_at(s.start)
        spans.append((s.technique, s.start, s.end, s.score, paragraph.index if paragraph else None))
    return Findings(
        model_id=analysis.model_id or "",
        model_version=analysis.model_version or "",
        spans=spans,
        paragraph_labels=[
            (p.index, t, score) for p in analysis.paragraphs for t, score in p.techniques.items()
        ],
        genre=analysis.genre,
        genre_scores=dict(analysis.genre_scores),
        frames=list(analysis.frames),
        frame_scores=dict(analysis.frame_scores),
        embedding=analysis.embedding,
    )
