"""unspin: how a news article tries to persuade its reader."""

from __future__ import annotations

from .analyze import analyze, analyze_many
from .compare import Comparison, compare
from .document import Analysis, Article, Paragraph, ParagraphLabels, Span
from .version import __version__


def load(source: str, **options: object) -> list[Article]:
    """Articles from any source the CLI takes: a file, folder, glob, URL, feed or "-".

    Imported lazily: ingest pulls in HTML extraction, which ``import unspin`` need not pay for.
    """
    from .ingest import load as _load

    return _load(source, **options)  # type: ignore[arg-type]

__all__ = [
    "Analysis",
    "Article",
    "Comparison",
    "Paragraph",
    "ParagraphLabels",
    "Span",
    "__version__",
    "analyze",
    "analyze_many",
    "compare",
    "load",
]
