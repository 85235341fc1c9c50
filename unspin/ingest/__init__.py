"""Turn what a user has (a file, a folder, a URL, a feed, stdin, pasted text) into
checked :class:`~unspin.document.Article` objects with exact paragraph offsets.

Public API: from_text, from_semeval, looks_like_semeval, from_html, from_feed, load,
iter_load, decode_bytes, check_text (plus expand/load_one for callers that want to
report progress or skip bad inputs one by one).
"""

from __future__ import annotations

from .detect import check_text, decode_bytes, detect_language
from .feed import from_feed, looks_like_feed
from .html import from_html, looks_like_html
from .sources import (
    SUPPORTED_SUFFIXES,
    articles_from_bytes,
    expand,
    iter_load,
    load,
    load_many,
    load_one,
)
from .text import from_parts, from_semeval, from_text, looks_like_semeval, split_paragraphs

__all__ = [
    "SUPPORTED_SUFFIXES",
    "articles_from_bytes",
    "check_text",
    "decode_bytes",
    "detect_language",
    "expand",
    "from_feed",
    "from_html",
    "from_parts",
    "from_semeval",
    "from_text",
    "iter_load",
    "load",
    "load_many",
    "load_one",
    "looks_like_feed",
    "looks_like_html",
    "looks_like_semeval",
    "split_paragraphs",
]
