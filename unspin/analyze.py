"""The library's front door: text or Article in, Analysis out; sources in, Articles out.

These are the public API's edge: given no settings, they read them from the environment
(:func:`unspin.config.load_settings`); everything they call is passed settings explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .compare import Comparison, check_count, compare
from .config import Settings, load_settings
from .document import Analysis, Article
from .errors import InputError, TooLargeError
from .ingest import Source, Upload, check_text, from_text, load_source
from .model import Model, load_model

NO_MODEL_NOTE = (
    "No trained model is installed: this analysis has no technique, genre or frame detections."
)
# The model's memory grows with tokens, about 5 KB each: this bounds one analysis near 1.2 GB.
# A million characters of English is about 220,000 tokens; of punctuation, a million.
MAX_TOKENS = 250_000


def installed_model(settings: Settings | None = None) -> Model | None:
    """The model ``settings`` name (by default: as the environment says, else the one
    shipped), or None when no model is installed."""
    settings = settings if settings is not None else load_settings()
    return load_model(settings.model_dir, threads=settings.threads)


def analyze_with(model: Model | None, article: Article, *, embedding: bool = False) -> Analysis:
    """``model``'s analysis of ``article``; without a model (none installed), an analysis
    with no detections that says so. Every analysis in unspin is made here. ``embedding``:
    the analysis also holds the article's embedding (``Analysis.embedding``, never
    serialised), from the same encoder pass: what the corpus's topics cluster by."""
    if model is None:
        return Analysis(article=article, notes=[NO_MODEL_NOTE])
    _check_tokens(model, article)
    return model.analyze(article, embedding=True) if embedding else model.analyze(article)


def _check_tokens(model: Model, article: Article) -> None:
    """TooLargeError for a text of more than MAX_TOKENS tokens. A token spans at least one
    character, so only texts longer than that are tokenized here."""
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None or len(article.text) <= MAX_TOKENS:
        return
    tokens = len(tokenizer.encode(article.text, add_special_tokens=False).ids)
    if tokens > MAX_TOKENS:
        name = article.url or article.id or "The text"
        raise TooLargeError(
            f"{name} is too long for the model ({tokens:,} tokens; the limit is "
            f"{MAX_TOKENS:,}, about 200,000 words of ordinary text): analyse a shorter part."
        )


def checked(item: object, settings: Settings) -> Article:
    """A text or Article from a caller of the API, checked like every input unspin reads
    (:func:`unspin.ingest.check_text`): only UnspinErrors get past this, never bad input."""
    if isinstance(item, str):
        if len(item) > settings.max_text_chars:  # refused before it is split into paragraphs
            check_text(Article(text=item), settings)
        item = from_text(item)
    elif not isinstance(item, Article):
        raise InputError(
            f"unspin analyses a text (str) or an unspin.Article, not {type(item).__name__}."
        )
    return check_text(item, settings)


def analyze(
    article: Article | str, *, model: Model | None = None, settings: Settings | None = None
) -> Analysis:
    """Analyse one article (or a plain text, split into paragraphs on blank lines) with
    ``model``, by default the installed one."""
    settings = settings if settings is not None else load_settings()
    return analyze_with(model or installed_model(settings), checked(article, settings))


def analyze_many(
    articles: Iterable[Article], *, model: Model | None = None, settings: Settings | None = None
) -> Iterator[Analysis]:
    """Analyse articles one by one, lazily, so a caller can show progress and stop early."""
    if isinstance(articles, str | bytes | Article):
        raise InputError("analyze_many takes several articles (a list of them); use analyze for one.")
    settings = settings if settings is not None else load_settings()
    model = model or installed_model(settings)
    for article in articles:
        yield analyze_with(model, checked(article, settings))


def compare_articles(
    items: Sequence[Analysis | Article | str],
    *,
    min_score: float | None = None,
    model: Model | None = None,
    settings: Settings | None = None,
    **limits: Any,
) -> Comparison:
    """Compare articles (``unspin.compare``): texts and Articles are analysed first with
    ``model``, by default the installed one; Analyses are compared as they are. Detections
    scored below ``min_score`` (by default ``settings.min_score``) are not counted.
    ``limits``: ``threshold``, ``ratio``, ``min_count`` of :func:`unspin.compare.compare`."""
    check_count(items)
    settings = settings if settings is not None else load_settings()
    min_score = settings.min_score if min_score is None else min_score
    if model is None and not all(isinstance(item, Analysis) for item in items):
        model = installed_model(settings)
    analyses = [
        item if isinstance(item, Analysis) else analyze_with(model, checked(item, settings))
        for item in items
    ]
    return compare(analyses, min_score=min_score, **limits)


def load_articles(source: Source, *, settings: Settings | None = None) -> list[Article]:
    """Articles from any source the CLI takes: a file, folder, glob, URL, feed or "-"."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str | Upload):
        raise InputError(
            f"unspin.load takes a path, URL or \"-\" (a str), not {type(source).__name__}."
        )
    return load_source(source, settings=settings if settings is not None else load_settings())
