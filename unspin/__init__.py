"""unspin: how a news article tries to persuade its reader."""

from __future__ import annotations

from .analyze import analyze, analyze_many, load
from .compare import Comparison, compare
from .document import Analysis, Article, Paragraph, ParagraphLabels, Span
from .version import __version__

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
