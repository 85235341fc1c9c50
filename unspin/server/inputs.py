"""What a request brings (pasted text, an uploaded file, a URL) -> checked Articles.

Blocking code, run in a worker thread. Nothing here opens a server file: uploads are the
request's bytes, and a URL is only ever given to :mod:`unspin.fetch` (through
:func:`unspin.ingest.load_one`, after checking that it *is* an http(s) URL, since
``load_one`` would read a plain path from disk).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from ..config import Settings
from ..document import Article
from ..errors import BlockedURLError, InputError, TooLargeError, UnspinError
from ..ingest import SUPPORTED_SUFFIXES, articles_from_bytes, check_text, load_one
from .errors import UnsupportedMediaError

MAX_URL_CHARS = 2048
_HTTP_URL = re.compile(r"^https?://", re.I)
_HAS_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
# Media types of readable uploads; browsers send octet-stream (or nothing) for unknown types.
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
_GENERIC_TYPES = frozenset({"", "application/octet-stream"})
UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES | {".md"}


@dataclass(frozen=True)
class TextInput:
    text: str
    name: str = "The text"


@dataclass(frozen=True)
class URLInput:
    url: str


@dataclass(frozen=True)
class FileInput:
    data: bytes
    filename: str
    content_type: str


@dataclass(frozen=True)
class LoadedInput:
    """Articles already read (a feed uploaded from the page), to analyse in a job."""

    articles: tuple[Article, ...]
    name: str


Input = TextInput | URLInput | FileInput | LoadedInput


def describe(item: Input) -> str:
    """How progress pages and error messages refer to an input."""
    if isinstance(item, URLInput):
        return item.url
    if isinstance(item, FileInput):
        return item.filename
    if isinstance(item, LoadedInput):
        return item.name
    first = " ".join(item.text.split())[:60]
    return first + ("\u2026" if len(first) == 60 else "") if first else "(empty text)"


def safe_filename(raw: str | None) -> str:
    """The upload's base name, without any directory part, short and printable."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(c for c in name if c.isprintable()).strip()[:100]
    return name or "the uploaded file"


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def upload_kind(filename: str, content_type: str) -> str | None:
    """The kind to parse an upload as ("text", "html", "feed"; None: sniff it), or
    UnsupportedMediaError for files unspin does not read (images, PDFs...)."""
    ctype = media_type(content_type)
    suffix = PurePosixPath(filename).suffix.lower()
    if ctype in HTML_TYPES:
        return "html"
    if ctype in FEED_TYPES:
        return "feed"
    if ctype in TEXT_TYPES:
        return None  # sniff: an HTML page saved as .txt is still HTML
    if ctype in _GENERIC_TYPES and (not suffix or suffix in UPLOAD_SUFFIXES):
        return None
    what = ctype if ctype not in _GENERIC_TYPES else f"a {suffix} file"
    raise UnsupportedMediaError(
        f"{filename} is {what}: unspin reads plain text (.txt), web pages (.html) and "
        "RSS/Atom feeds; copy the article text into a .txt file or paste it."
    )


def _checked(articles: list[Article], settings: Settings, name: str) -> list[Article]:
    """check_text on each; from a feed, entries that fail are dropped unless all fail."""
    if len(articles) == 1:
        return [check_text(articles[0], settings, name=name)]
    checked: list[Article] = []
    first_error: UnspinError | None = None
    for article in articles:
        try:
            checked.append(check_text(article, settings, name=article.url or article.id or name))
        except UnspinError as err:
            first_error = first_error or err
    if not checked:
        raise first_error or InputError(f"{name} has no article to analyse.")
    return checked


def load_text(item: TextInput, settings: Settings) -> list[Article]:
    # JSON may carry lone surrogates, which are not text: make them "?" (offsets unchanged).
    data = item.text.encode("utf-8", "replace")
    if len(item.text) > settings.max_text_chars:
        raise TooLargeError(
            f"{item.name} is too long ({len(item.text):,} characters; the limit is "
            f"{settings.max_text_chars:,}): analyse a shorter part of it."
        )
    articles = articles_from_bytes(data, name=item.name, kind="text", settings=settings)
    return _checked(articles, settings, item.name)


def load_file(item: FileInput, settings: Settings) -> list[Article]:
    kind = upload_kind(item.filename, item.content_type)
    if len(item.data) > settings.max_input_bytes:
        raise TooLargeError(
            f"{item.filename} is too large ({len(item.data) / 1e6:.1f} MB; the limit is "
            f"{settings.max_input_bytes / 1e6:.1f} MB): split it into smaller files."
        )
    stem = PurePosixPath(item.filename).stem
    articles = articles_from_bytes(
        item.data, name=item.filename, kind=kind, id=stem, settings=settings
    )
    return _checked(articles, settings, item.filename)


def check_url(url: str) -> str:
    """The URL, stripped, if it is an http(s) URL; else a clear refusal (never a path)."""
    url = url.strip()
    if not url:
        raise InputError("The URL is empty: paste the address of an article or a feed.")
    if len(url) > MAX_URL_CHARS:
        raise InputError(f"The URL is too long (more than {MAX_URL_CHARS:,} characters).")
    if _HTTP_URL.match(url):
        return url
    if _HAS_SCHEME.match(url):
        raise BlockedURLError(
            f"Refusing to fetch {url[:200]}: only http:// and https:// URLs can be fetched."
        )
    raise InputError(f"{url[:200]} is not a web address: it must start with http:// or https://.")


def load_url(item: URLInput, settings: Settings) -> list[Article]:
    return load_one(check_url(item.url), settings=settings)


def load(item: Input, settings: Settings) -> list[Article]:
    """Articles from one input, checked (not empty, not too long, English)."""
    if isinstance(item, URLInput):
        return load_url(item, settings)
    if isinstance(item, FileInput):
        return load_file(item, settings)
    if isinstance(item, LoadedInput):
        return list(item.articles)
    return load_text(item, settings)
