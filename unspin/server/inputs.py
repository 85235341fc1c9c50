"""What a request brings (pasted text, an uploaded file, a URL) -> checked Articles.

Blocking code, run in a worker thread. Every input is read through :mod:`unspin.ingest`,
as the command line reads its own: texts and uploads as :class:`~unspin.ingest.Upload`
(the request's bytes: nothing here opens a server file), a URL only after checking that it
*is* an http(s) URL (``ingest`` would read a plain path from disk), and so only ever through
:mod:`unspin.fetch`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from ..config import Settings
from ..document import Article
from ..errors import BlockedURLError, InputError
from ..ingest import SUPPORTED_SUFFIXES, Source, Upload, kind_of, load_source
from ..ingest.sources import FEED_TYPES, HTML_TYPES, TEXT_TYPES
from .errors import UnsupportedMediaError

MAX_URL_CHARS = 2048
_HTTP_URL = re.compile(r"^https?://", re.I)
_HAS_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
# Browsers send octet-stream (or nothing) for types they do not know.
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
    """The kind to parse an upload as (see :func:`unspin.ingest.kind_of`), or
    UnsupportedMediaError for files unspin does not read (images, PDFs...)."""
    ctype = media_type(content_type)
    suffix = PurePosixPath(filename).suffix.lower()
    readable = ctype in TEXT_TYPES | HTML_TYPES | FEED_TYPES or (
        ctype in _GENERIC_TYPES and (not suffix or suffix in UPLOAD_SUFFIXES)
    )
    if not readable:
        what = ctype if ctype not in _GENERIC_TYPES else f"a {suffix} file"
        raise UnsupportedMediaError(
            f"{filename} is {what}: unspin reads plain text (.txt), web pages (.html) and "
            "RSS/Atom feeds; copy the article text into a .txt file or paste it."
        )
    return kind_of(ctype, filename)


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


def source_of(item: TextInput | URLInput | FileInput) -> Source:
    """The input as :mod:`unspin.ingest` reads it."""
    if isinstance(item, URLInput):
        return check_url(item.url)
    if isinstance(item, FileInput):
        kind = upload_kind(item.filename, item.content_type)
        stem = PurePosixPath(item.filename).stem
        return Upload(item.data, item.filename, kind=kind, id=stem)
    # JSON may carry lone surrogates, which are not text: make them "?" (offsets unchanged).
    return Upload(item.text.encode("utf-8", "replace"), item.name, kind="text")


def read_articles(item: Input, settings: Settings) -> list[Article]:
    """Articles from one input, checked (not empty, not too long, English)."""
    if isinstance(item, LoadedInput):
        return list(item.articles)
    return load_source(source_of(item), settings=settings)
