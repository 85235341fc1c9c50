"""Corpus analysis: many articles into one SQLite database, then questions across them
(which outlets and topics use which techniques, and how that changes over time), each
answer with a bootstrap confidence interval. See docs/corpus.md.
"""

from __future__ import annotations

from .records import CorpusArticle, Findings, analyze_article, corpus_model
from .runner import AddResult, add
from .sources import Columns, Metadata, load_outlet_map
from .store import Status, Store, open_store

__all__ = [
    "AddResult",
    "Columns",
    "CorpusArticle",
    "Findings",
    "Metadata",
    "Status",
    "Store",
    "add",
    "analyze_article",
    "corpus_model",
    "load_outlet_map",
    "open_store",
]
