"""Where articles come from: a file, a directory, a glob, stdin ("-"), a URL, or bytes
already in memory (an :class:`Upload`).

:func:`iter_items` is the one loop over sources: the command line, batch files, the server
and the corpus tool all read their inputs through it. Every source is size-checked before
it is read whole: files by ``stat``, streams by reading at most one byte past the cap.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..config import DEFAULT_SETTINGS, Settings
from ..document import Article
from ..errors import InputError, TooLargeError, UnspinError
from ..fetch import fetch
from .detect import check_text, decode_bytes
from .feed import from_feed, looks_like_feed
from .html import from_html, looks_like_html
from .text import from_semeval, from_text, looks_like_semeval, semeval_id

TEXT_SUFFIXES = frozenset({".txt", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml"}
)
_URL = re.compile(r"^https?://", re.I)
# Other schemes are sent to the fetcher too, so that they are refused with a clear message.
_OTHER_SCHEME = re.compile(r"^(file|ftp|ftps|data|javascript|gopher|ws|wss|sftp|ssh):", re.I)
_GLOB_CHARS = re.compile(r"[*?\[]")

log = logging.getLogger("unspin.ingest")


@dataclass(frozen=True)
class Upload:
    """Bytes already in memory (an upload, a pasted text), read like a file called ``name``."""

    data: bytes
    name: str  # how messages refer to it
    kind: str | None = None  # "text", "html" or "feed"; None: from the name, else sniffed
    id: str = ""


Source = str | Upload
"""A path, directory, glob, URL or "-" (standard input), or an :class:`Upload`."""


@dataclass(frozen=True)
class Item:
    """One input of a run, read: its checked articles, or the error that refused it."""

    source: str  # the file, URL or "-"; the upload's name; or a source that did not expand
    total: int  # how many items the run yields in all (for progress)
    articles: tuple[Article, ...] = ()
    error: UnspinError | None = None
    skipped: bool = False  # ``skip`` said it is done already: not read
    found: bool = True  # False: the source names nothing to read (no such file, empty folder)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def _too_large(name: str, cap: int, size: int | None = None) -> TooLargeError:
    what = (
        f"too large ({_mb(size)}; the limit is {_mb(cap)})"
        if size
        else f"larger than the {_mb(cap)} limit"
    )
    return TooLargeError(
        f"{name} is {what}: split it into smaller files, or raise UNSPIN_MAX_INPUT_BYTES."
    )


def read_capped(stream: BinaryIO, *, name: str, cap: int) -> bytes:
    """Read a stream in chunks, refusing it as soon as it passes ``cap`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(1 << 20, cap + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            raise _too_large(name, cap)
        chunks.append(chunk)


def read_file(path: Path, *, cap: int) -> bytes:
    """A file's bytes; its size is checked with ``stat`` before anything is read."""
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path} is a directory.")
        if stat.S_ISREG(st.st_mode) and st.st_size > cap:
            raise _too_large(str(path), cap, st.st_size)
        with path.open("rb") as f:
            return read_capped(f, name=str(path), cap=cap)
    except FileNotFoundError:
        raise InputError(f"No such file or URL: {path}") from None
    except PermissionError:
        raise InputError(f"Cannot read {path}: permission denied.") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory.") from None
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def _from_decoded(text: str, *, id: str, url: str | None, source_kind: str) -> Article:
    if looks_like_semeval(text):
        kind = "semeval" if source_kind == "text" else source_kind
        return from_semeval(text, id=semeval_id(id), url=url, source_kind=kind)
    return from_text(text, id=id, url=url, source_kind=source_kind)


def kind_of(media_type: str = "", name: str = "") -> str | None:
    """How to parse an input: "html" or "feed" by its media type, else by the suffix of its
    name; None: sniff the bytes (text, or a page or feed saved as .txt)."""
    if media_type in HTML_TYPES:
        return "html"
    if media_type in FEED_TYPES:
        return "feed"
    if media_type in TEXT_TYPES:
        return None
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in FEED_SUFFIXES:
        return "feed"
    return None


def _sniff(data: bytes) -> str:
    if looks_like_feed(data):
        return "feed"
    if looks_like_html(data):
        return "html"
    return "text"


def articles_from_bytes(
    data: bytes,
    *,
    name: str,
    kind: str | None = None,
    id: str = "",
    url: str | None = None,
    settings: Settings = DEFAULT_SETTINGS,
) -> list[Article]:
    """Parse raw bytes as ``kind`` ("text", "html", "feed") or, if None, by sniffing."""
    kind = kind or _sniff(data)
    if kind == "feed":
        return from_feed(data, url=url, settings=settings)
    if kind == "html":
        return [
            from_html(_html_input(data, name), url=url, id=id, source_kind="url" if url else "html")
        ]
    text = decode_bytes(data, name=name)
    return [_from_decoded(text, id=id, url=url, source_kind="url" if url else "text")]


def _html_input(data: bytes, name: str) -> str | bytes:
    """UTF-8 HTML as text; other bytes go to trafilatura, which reads ``<meta charset>``."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:65536]:
        return decode_bytes(data, name=name)  # UTF-16/32 with a BOM, else "binary" error
    return data


def _load_url(url: str, settings: Settings) -> list[Article]:
    response = fetch(url, settings=settings)
    body = response.body
    kind = kind_of(response.content_type) or _sniff(body)
    if kind != "feed" and response.encoding:  # a feed declares its encoding itself
        # a wrong charset header (LookupError, UnicodeDecodeError): let decode_bytes guess
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            body = body.decode(response.encoding).encode("utf-8")
    return articles_from_bytes(
        body, name=response.final_url, kind=kind, id=response.final_url,
        url=response.final_url, settings=settings,
    )  # fmt: skip


def _load_stdin(settings: Settings) -> list[Article]:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is not None:
        data = read_capped(stream, name="stdin", cap=settings.max_input_bytes)
    else:  # a text-only stdin replacement
        data = sys.stdin.read(settings.max_input_bytes + 1).encode("utf-8")
        if len(data) > settings.max_input_bytes:
            raise _too_large("stdin", settings.max_input_bytes)
    return articles_from_bytes(data, name="stdin", id="stdin", settings=settings)


def _load_upload(upload: Upload, settings: Settings) -> list[Article]:
    cap = settings.max_input_bytes
    if len(upload.data) > cap:
        raise _too_large(upload.name, cap, len(upload.data))
    kind = upload.kind or kind_of(name=upload.name)
    return articles_from_bytes(
        upload.data, name=upload.name, kind=kind, id=upload.id, settings=settings
    )


def expand(source: str) -> list[str]:
    """One source -> the single inputs it stands for: a directory -> its supported files
    (sorted, not recursive, hidden files skipped); a glob -> matching files (sorted)."""
    if source == "-" or _URL.match(source) or _OTHER_SCHEME.match(source):
        return [source]
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(
            str(p)
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_SUFFIXES
        )
        if not files:
            kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
            raise InputError(f"{source} has no files unspin can read ({kinds}).")
        return files
    if path.exists():
        return [str(path)]
    if _GLOB_CHARS.search(source):
        matches = sorted(
            p for p in glob.glob(os.path.expanduser(source), recursive=True) if os.path.isfile(p)
        )
        if not matches:
            raise InputError(f"No files match {source}.")
        return matches
    raise InputError(f"No such file or URL: {source}")


def _name(source: Source) -> str:
    if isinstance(source, Upload):
        return source.name
    return "stdin" if source == "-" else source


def load_one(source: Source, *, settings: Settings = DEFAULT_SETTINGS) -> list[Article]:
    """Read, parse and check one input: a file, "-" or a URL (as :func:`expand` gives
    them), or an :class:`Upload`.

    A feed yields one article per entry; entries that fail the checks are logged and
    skipped, unless none passes.
    """
    if isinstance(source, Upload):
        articles = _load_upload(source, settings)
    elif source == "-":
        articles = _load_stdin(settings)
    elif _URL.match(source) or _OTHER_SCHEME.match(source):
        articles = _load_url(source, settings)
    else:
        path = Path(source).expanduser()
        data = read_file(path, cap=settings.max_input_bytes)
        articles = articles_from_bytes(
            data, name=str(path), kind=kind_of(name=path.name), id=path.stem, settings=settings
        )
        for article in articles:
            article.file = path.name  # reports name the file, not "Source unknown"
    if len(articles) == 1:
        return [check_text(articles[0], settings, name=_name(source))]
    checked: list[Article] = []
    first_error: UnspinError | None = None
    for article in articles:
        try:
            checked.append(check_text(article, settings, name=article.url or article.id))
        except UnspinError as err:
            first_error = first_error or err
            log.warning("%s", err)
    if not checked:
        assert first_error is not None
        raise first_error
    return checked


def iter_items(
    sources: Iterable[Source],
    settings: Settings = DEFAULT_SETTINGS,
    *,
    skip: Callable[[str], bool] | None = None,
) -> Iterator[Item]:
    """Every input of ``sources``, read, as one :class:`Item` each, lazily and in order.

    Directories and globs are expanded first, so that a source that matches nothing is
    reported before any input is read; then each input is read, parsed and checked (see
    :func:`load_one`). An input that fails gives an Item with its error and the run goes on;
    bugs and Ctrl-C propagate. ``skip(source)`` returning True skips an input before it is
    read (a resumed run that already holds it): its Item is ``skipped``.
    """
    refused: list[tuple[str, UnspinError]] = []
    inputs: list[Source] = []
    for source in sources:
        if isinstance(source, Upload):
            inputs.append(source)
            continue
        try:
            inputs.extend(expand(source))
        except UnspinError as err:
            refused.append((source, err))
    total = len(refused) + len(inputs)
    for name, problem in refused:
        yield Item(name, total, error=problem, found=False)
    for one in inputs:
        name = one.name if isinstance(one, Upload) else one
        if skip is not None and skip(name):
            yield Item(name, total, skipped=True)
            continue
        try:
            articles = load_one(one, settings=settings)
        except UnspinError as err:
            yield Item(name, total, error=err)
            continue
        yield Item(name, total, articles=tuple(articles))


def load_source(source: Source, *, settings: Settings = DEFAULT_SETTINGS) -> list[Article]:
    """All articles of one source (see :func:`iter_items`); the first error is raised."""
    articles: list[Article] = []
    for item in iter_items([source], settings):
        if item.error is not None:
            raise item.error
        articles.extend(item.articles)
    return articles
