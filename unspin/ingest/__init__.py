"""Turn what a user has (a file, a folder, a URL, a feed, stdin, pasted text) into
checked :class:`~unspin.document.Article` objects with exact paragraph offsets.

:func:`iter_items` is the one way to read sources: it yields, per input, the checked
articles or the error that refused the input. :func:`load_source` reads one source whole.
"""

from __future__ import annotations

from .detect import check_text, decode_bytes, detect_language
from .feed import from_feed, looks_like_feed
from .html import from_html, looks_like_html
from .sources import (
    SUPPORTED_SUFFIXES,
    Item,
    Source,
    Upload,
    articles_from_bytes,
    expand,
    iter_items,
    kind_of,
    load_one,
    load_source,
    read_file,
)
from .text import from_parts, from_semeval, from_text, looks_like_semeval, split_paragraphs

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Item",
    "Source",
    "Upload",
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
    "iter_items",
    "kind_of",
    "load_one",
    "load_source",
    "looks_like_feed",
    "looks_like_html",
    "looks_like_semeval",
    "read_file",
    "split_paragraphs",
]
