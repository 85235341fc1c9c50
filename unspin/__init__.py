"""unspin: how a news article tries to persuade its reader."""

from __future__ import annotations

from .analyze import analyze, analyze_many, load_articles
from .analyze import compare_articles as compare
from .compare import Comparison
from .document import Analysis, Article, Paragraph, ParagraphLabels, Span
from .report.summary import summarize
from .version import __version__

load = load_articles  # the old name, kept so that existing code runs: prefer load_articles

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
    "load_articles",
    "summarize",
]
