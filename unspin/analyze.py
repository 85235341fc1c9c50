"""The library's front door: text or Article in, Analysis out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .document import Analysis, Article
from .model import Model, load_default

NO_MODEL_NOTE = (
    "No trained model is installed: this analysis has no technique, genre or frame detections."
)


def analyze(article: Article | str, *, model: Model | None = None) -> Analysis:
    """Analyse one article (or a plain text, split into paragraphs on blank lines)."""
    if isinstance(article, str):
        from .ingest import from_text

        article = from_text(article)
    model = model or load_default()
    if model is None:
        return Analysis(article=article, notes=[NO_MODEL_NOTE])
    return model.analyze(article)


def analyze_many(articles: Iterable[Article], *, model: Model | None = None) -> Iterator[Analysis]:
    """Analyse articles one by one, lazily, so a caller can show progress and stop early."""
    model = model or load_default()
    for article in articles:
        yield analyze(article, model=model)
