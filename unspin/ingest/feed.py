"""RSS/Atom feed -> one Article per entry, from the entry's HTML content, or from its
linked page (fetched safely) when the feed only carries a link or a teaser."""

from __future__ import annotations

import io
import logging
import re
import time
from html.parser import HTMLParser
from typing import Any

from ..config import DEFAULT_SETTINGS, Settings
from ..document import Article
from ..errors import InputError, UnspinError
from ..fetch import fetch
from .html import Extracted, extract, from_html
from .text import from_parts

log = logging.getLogger("unspin.ingest")

_FEED_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<\?[^>]*>\s*)*<(rss|feed|rdf:RDF)\b", re.S
)
_SUBSET_END = re.compile(rb"\]\s*>")
# An entry with only a summary shorter than this is a teaser: read the linked page instead.
_TEASER_CHARS = 500


def looks_like_feed(data: bytes | str) -> bool:
    head = data[:4096]
    raw = head.encode("utf-8", "replace") if isinstance(head, str) else head
    return bool(_FEED_START.match(raw.lstrip(b"\xef\xbb\xbf")))


def without_doctype(raw: bytes) -> bytes:
    """The feed without its DOCTYPE. A feed needs none, and its internal subset can define
    entities, which the XML parser expands (up to 100 times the input before it objects: a
    5 MB feed could become 500 MB) or, as external entities, would read files and URLs."""
    start = raw.find(b"<!DOCTYPE")
    if start < 0:
        return raw
    close = raw.find(b">", start)
    bracket = raw.find(b"[", start)
    if 0 <= bracket < close or (close < 0 and bracket >= 0):
        end = _SUBSET_END.search(raw, bracket)
        close = end.end() - 1 if end else len(raw) - 1
    return raw[:start] + raw[close + 1 :] if close >= 0 else raw[:start]


def _entry_html(entry: Any) -> str:
    """The longest HTML the entry carries: full content if any, else the summary."""
    candidates = [c.get("value", "") for c in entry.get("content", []) or []]
    candidates.append(entry.get("summary", "") or "")
    return max(candidates, key=len)


_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "section",
        "article",
        "tr",
        "table",
        "pre",
        "hr",
    ]
)


class _TextCollector(HTMLParser):
    """Text of an HTML fragment, a line break at each block element; no script/style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _fragment_paragraphs(html: str) -> list[str]:
    """Fallback for short summaries trafilatura declines: plain text, one line per block."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return [line.strip() for line in "".join(collector.parts).splitlines() if line.strip()]


def _iso_date(entry: Any) -> str | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return time.strftime("%Y-%m-%d", parsed)
    return entry.get("published") or entry.get("updated") or None


def _from_link(link: str, settings: Settings) -> Article:
    response = fetch(link, settings=settings)
    return from_html(response.body, url=response.final_url, source_kind="feed", max_tags=settings.max_html_tags)


def from_feed(
    data: str | bytes,
    *,
    url: str | None = None,
    fetch_links: bool = True,
    settings: Settings = DEFAULT_SETTINGS,
) -> list[Article]:
    """Articles from a feed document. Entries that yield no text are logged and skipped;
    InputError when the document is not a feed or no entry has text."""
    import feedparser  # a fifth of a second to import: only when a feed is read

    raw = without_doctype(data.encode("utf-8") if isinstance(data, str) else data)
    # A BytesIO, never a str: feedparser would open a str that looks like a URL or path.
    headers = {"content-location": url} if url else None
    parsed = feedparser.parse(io.BytesIO(raw), response_headers=headers)
    where = url or "the feed"
    if not parsed.entries:
        if parsed.get("bozo") and not parsed.get("version"):
            raise InputError(f"{where} is not a valid RSS or Atom feed.")
        raise InputError(f"{where} has no entries.")
    outlet = parsed.feed.get("title") or None
    articles: list[Article] = []
    for i, entry in enumerate(parsed.entries, start=1):
        title = entry.get("title") or None
        link = entry.get("link") or None
        entry_id = entry.get("id") or link or f"{where}#{i}"
        html = _entry_html(entry)
        found = extract(html, max_tags=settings.max_html_tags) if html.strip() else None
        if found is None and html.strip():
            paragraphs = _fragment_paragraphs(html)
            found = Extracted(paragraphs=paragraphs) if paragraphs else None
        text_len = sum(len(p) for p in found.paragraphs) if found else 0
        article: Article | None = None
        has_content = bool(entry.get("content"))  # full text, not just a summary
        if link and fetch_links and not has_content and text_len < _TEASER_CHARS:
            try:
                article = _from_link(link, settings)
            except UnspinError as err:
                fallback = " (using the feed's summary instead)" if found else ""
                log.warning("feed entry %r: %s%s", title or entry_id, err, fallback)
        if article is None and found is not None:
            article = from_parts(title, found.paragraphs, source_kind="feed")
        if article is None:
            log.warning("feed entry %r has no text to analyse; skipped.", title or entry_id)
            continue
        article.id = entry_id
        article.title = article.title or title
        article.url = article.url or link
        article.outlet = outlet or article.outlet
        article.author = entry.get("author") or article.author
        article.published = _iso_date(entry) or article.published
        article.source_kind = "feed"
        articles.append(article)
    if not articles:
        raise InputError(f"No entry of {where} has article text to analyse.")
    return articles
