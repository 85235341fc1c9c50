"""HTML page -> Article: trafilatura finds the main text (no menus, ads, footers) and the
title, author, date and site name. The article text is rebuilt in the SemEval layout."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from ..config import DEFAULT_SETTINGS, over_limit
from ..document import Article
from ..errors import InputError
from .text import from_parts

# trafilatura logs every page it cannot use; without a handler Python would print those
# records on stderr. unspin reports the problem itself, as an InputError.
for _name in ("trafilatura", "htmldate", "courlan"):
    logging.getLogger(_name).addHandler(logging.NullHandler())

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)


@dataclass
class Extracted:
    title: str | None = None
    author: str | None = None
    published: str | None = None
    outlet: str | None = None
    url: str | None = None
    paragraphs: list[str] = field(default_factory=list)


def looks_like_html(data: bytes | str) -> bool:
    head = data[:2048]
    raw = head.encode("utf-8", "replace") if isinstance(head, str) else head
    return bool(_HTML_START.match(raw.lstrip(b"\xef\xbb\xbf")))


def _field(doc: Any, name: str) -> Any:
    """trafilatura >= 2 returns a Document object, 1.x a dict."""
    return doc.get(name) if isinstance(doc, dict) else getattr(doc, name, None)


def extract(html: str | bytes, *, url: str | None = None, max_tags: int = DEFAULT_SETTINGS.max_html_tags
            ) -> Extracted | None:
    """Main text and metadata of a page, or None when trafilatura finds no text."""
    from trafilatura import bare_extraction  # half a second to import: only for HTML

    if isinstance(html, bytes | bytearray):
        html = bytes(html)
    if not (html.strip() if isinstance(html, str) else html.strip()):
        return None
    tags = html.count("<") if isinstance(html, str) else html.count(b"<")
    if tags > max_tags:
        raise InputError(
            f"{url or 'The page'} has {over_limit(tags, max_tags, 'HTML tags', 'max_html_tags')}; "
            "an article's page has a few thousand: save the article's text as a .txt file instead."
        )
    try:
        doc = bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
        )
    except (ValueError, TypeError, AttributeError, LookupError):
        # lxml and trafilatura raise these on some broken documents
        return None
    if doc is None:
        return None
    text = _field(doc, "text") or ""
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    if not paragraphs:
        return None
    return Extracted(
        title=_field(doc, "title") or None,
        author=_field(doc, "author") or None,
        published=_field(doc, "date") or None,
        outlet=_field(doc, "sitename") or _field(doc, "hostname") or None,
        url=url or _field(doc, "url") or None,
        paragraphs=paragraphs,
    )


def from_html(
    html: str | bytes, *, url: str | None = None, id: str = "", source_kind: str = "html",
    max_tags: int = DEFAULT_SETTINGS.max_html_tags,
) -> Article:
    """An Article from an HTML page; InputError when no article text can be found."""
    found = extract(html, url=url, max_tags=max_tags)
    if found is None:
        where = url or "the HTML"
        raise InputError(
            f"No article text found in {where}: it may be a front page, a paywall, or a page "
            "built by JavaScript; copy the article text into a .txt file instead."
        )
    return from_parts(
        found.title,
        found.paragraphs,
        id=id or url or "",
        url=found.url,
        outlet=found.outlet,
        author=found.author,
        published=found.published,
        source_kind=source_kind,
    )
