"""Where articles come from: a file, a directory, a glob, stdin ("-") or a URL.

Every source is size-checked before it is read whole: files by ``stat``, streams by
reading at most one byte past the cap.
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
from pathlib import Path
from typing import BinaryIO

from ..config import Settings, load_settings
from ..document import Article
from ..errors import InputError, TooLargeError, UnspinError
from .detect import check_text, decode_bytes
from .feed import from_feed, looks_like_feed
from .html import from_html, looks_like_html
from .text import from_semeval, from_text, looks_like_semeval, semeval_id

TEXT_SUFFIXES = frozenset({".txt", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES
_URL = re.compile(r"^https?://", re.I)
# Other schemes are sent to the fetcher too, so that they are refused with a clear message.
_OTHER_SCHEME = re.compile(r"^(file|ftp|ftps|data|javascript|gopher|ws|wss|sftp|ssh):", re.I)
_GLOB_CHARS = re.compile(r"[*?\[]")

log = logging.getLogger("unspin.ingest")
ErrorHandler = Callable[[str, UnspinError], None]


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


def articles_from_bytes(
    data: bytes,
    *,
    name: str,
    kind: str | None = None,
    id: str = "",
    url: str | None = None,
    settings: Settings | None = None,
) -> list[Article]:
    """Parse raw bytes as ``kind`` ("text", "html", "feed") or, if None, by sniffing."""
    settings = settings or load_settings()
    if kind is None:
        if looks_like_feed(data):
            kind = "feed"
        elif looks_like_html(data):
            kind = "html"
        else:
            kind = "text"
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


def _kind_for_suffix(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in FEED_SUFFIXES:
        return "feed"
    return None  # .txt and anything else: sniff (an HTML page saved as .txt is still HTML)


def _load_url(url: str, settings: Settings) -> list[Article]:
    from ..fetch import fetch

    response = fetch(url, settings=settings)
    ctype = response.content_type
    kind: str | None = None
    if ctype in ("text/html", "application/xhtml+xml"):
        kind = "html"
    elif ctype.endswith(("rss+xml", "atom+xml", "rdf+xml")):
        kind = "feed"
    elif ctype == "text/plain":
        kind = "text"
    body = response.body
    if kind in ("text", "html") and response.encoding:
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


def load_one(item: str, *, settings: Settings | None = None) -> list[Article]:
    """Read, parse and check one input (a file, "-" or a URL) as returned by :func:`expand`.

    A feed yields one article per entry; entries that fail the checks are logged and
    skipped, unless none passes.
    """
    settings = settings or load_settings()
    if item == "-":
        articles = _load_stdin(settings)
    elif _URL.match(item) or _OTHER_SCHEME.match(item):
        articles = _load_url(item, settings)
    else:
        path = Path(item).expanduser()
        data = read_file(path, cap=settings.max_input_bytes)
        articles = articles_from_bytes(
            data, name=str(path), kind=_kind_for_suffix(path), id=path.stem, settings=settings
        )
    if len(articles) == 1:
        return [check_text(articles[0], settings, name=item if item != "-" else "stdin")]
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


def iter_load(
    source: str, *, settings: Settings | None = None, on_error: ErrorHandler | None = None
) -> Iterator[Article]:
    """Articles from one source, lazily. Errors raise, or, with ``on_error``, are passed to
    it as ``(input, error)`` and the remaining inputs of a directory or glob still load."""
    settings = settings or load_settings()
    try:
        items = expand(source)
    except UnspinError as err:
        if on_error is None:
            raise
        on_error(source, err)
        return
    for item in items:
        try:
            articles = load_one(item, settings=settings)
        except UnspinError as err:
            if on_error is None:
                raise
            on_error(item, err)
            continue
        yield from articles


def load(source: str, *, settings: Settings | None = None) -> list[Article]:
    """All articles of one source (see :func:`iter_load`)."""
    return list(iter_load(source, settings=settings))


def load_many(
    sources: Iterable[str],
    *,
    settings: Settings | None = None,
    on_error: ErrorHandler | None = None,
) -> Iterator[Article]:
    """Articles of several sources in order (see :func:`iter_load`)."""
    for source in sources:
        yield from iter_load(source, settings=settings, on_error=on_error)
