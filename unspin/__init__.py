"""unspin: how a news article tries to persuade its reader."""

from __future__ import annotations

from .analyze import analyze, analyze_many
from .compare import Comparison, compare
from .document import Analysis, Article, Paragraph, ParagraphLabels, Span

__version__ = "0.1.0"

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
]
