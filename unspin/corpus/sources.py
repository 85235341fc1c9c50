"""What ``corpus add`` reads: everything ``unspin analyze`` takes (files, folders, globs,
URLs, feeds, through :mod:`unspin.ingest` and its one SSRF-safe fetcher), plus tables of
articles (JSON Lines, CSV/TSV, Parquet: one row per article, columns configurable) and URL
lists (a ``.urls`` or ``.txt`` file holding only http(s) URLs, one per line).

Every article leaves here as a :class:`~unspin.corpus.records.CorpusArticle` with its outlet
and date resolved (see :class:`Metadata`), or as a :class:`Failure` naming its input.
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import InputError, UnspinError
from ..ingest import check_text, expand, from_plain, iter_items
from ..ingest.sources import read_file
from .records import CorpusArticle

__all__ = [
    "TABLE_SUFFIXES",
    "Columns",
    "Failure",
    "Metadata",
    "iter_articles",
    "load_outlet_map",
    "normalize_date",
    "registered_domain",
]

TABLE_SUFFIXES = frozenset({".jsonl", ".ndjson", ".csv", ".tsv", ".parquet"})
URL_LIST_SUFFIXES = frozenset({".urls", ".txt"})
_URL = re.compile(r"^https?://\S+$", re.I)


@dataclass(frozen=True)
class Columns:
    """Which columns of a table hold what; only ``text`` is required in each row."""

    text: str = "text"
    url: str = "url"
    title: str = "title"
    outlet: str = "outlet"
    date: str = "date"
    id: str = "id"


@dataclass(frozen=True)
class Metadata:
    """How outlets are resolved: the article's own outlet (page or feed metadata, a table
    column), else ``outlet``, else its URL's registered domain. ``outlet_map`` then merges
    names: a mapped domain wins, then a mapped outlet name."""

    columns: Columns = field(default_factory=Columns)
    outlet: str | None = None
    outlet_map: dict[str, str] = field(default_factory=dict)

    def resolve(self, article: CorpusArticle, *, raw_date: object = None) -> CorpusArticle:
        article.domain = registered_domain(article.url) if article.url else None
        name = (article.outlet or "").strip() or self.outlet or article.domain
        if article.domain and article.domain in self.outlet_map:
            name = self.outlet_map[article.domain]
        elif name and (name in self.outlet_map or name.lower() in self.outlet_map):
            name = self.outlet_map.get(name) or self.outlet_map[name.lower()]
        article.outlet = name or None
        article.published = normalize_date(raw_date if raw_date is not None else article.published)
        return article


@dataclass(frozen=True)
class Failure:
    """An input or article that could not be read; ``content_hash`` when it was read."""

    source: str
    error: str
    content_hash: str | None = None


@dataclass(frozen=True)
class Skipped:
    """A URL whose article is already analysed by this model: not fetched again."""

    source: str


Event = CorpusArticle | Failure | Skipped


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """A small TOML file of the user's (``what`` names it in messages)."""
    try:
        return tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as err:
        raise InputError(f"Cannot read {what} {path}: {err.strerror or err}.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{what.capitalize()} {path} is not valid TOML ({err}).") from None


def load_outlet_map(path: str | Path) -> dict[str, str]:
    """The ``[outlets]`` table of a TOML file: ``"domain or name" = "Outlet"``."""
    data = read_toml(path, "the outlet map")
    table = data.get("outlets")
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise InputError(
            f'The outlet map {path} needs an [outlets] table of "domain or name" = "Outlet" lines.'
        )
    return {str(k).strip().lower() if "." in k else str(k).strip(): v for k, v in table.items()}


def registered_domain(url: str) -> str | None:
    """``https://news.bbc.co.uk/x`` -> ``bbc.co.uk`` (public suffix list shipped with ``tld``)."""
    from tld import get_fld

    try:
        found = get_fld(url, fail_silently=True)
    except Exception:  # tld raises for odd hosts (IP literals, ports) in some versions
        found = None
    if found:
        return str(found).lower()
    host = re.sub(r"^https?://", "", url, flags=re.I).split("/")[0].split(":")[0]
    return host.lower() or None


def normalize_date(value: object) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date, datetime, ISO 8601 or RFC 2822 string; None
    when there is none or it cannot be read (the article is kept, undated)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return normalize_date(parsed)
    except ValueError:
        pass
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return f"{text}-01"
    try:
        return normalize_date(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


# -- tables -------------------------------------------------------------------------------


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number from 1, row) of a JSON Lines, CSV/TSV or Parquet file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(
                f"Reading {path} needs pyarrow: pip install 'unspin[corpus]'."
            ) from None
        try:
            table = pq.ParquetFile(path)
            number = 0
            for batch in table.iter_batches(batch_size=512):
                for row in batch.to_pylist():
                    number += 1
                    yield number, row
        except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
            raise InputError(f"Cannot read {path} as Parquet ({err}).") from None
        return
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as f:
            if suffix in (".csv", ".tsv"):
                csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # whole articles
                reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
                for number, row in enumerate(reader, start=1):
                    yield number, row
                return
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as err:
                    yield number, {"__error__": f"not valid JSON ({err})"}
                    continue
                yield number, row if isinstance(row, dict) else {"__error__": "not a JSON object"}
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text.") from None
    except csv.Error as err:
        raise InputError(f"{path} is not valid CSV ({err}).") from None
    except OSError as err:
        raise InputError(f"Cannot read {path}: {err.strerror or err}.") from None


def _cell(row: dict[str, Any], column: str) -> Any:
    value = row.get(column)
    if isinstance(value, str):
        value = value.strip()
    return value if value not in ("", None) else None


def _table_articles(path: Path, settings: Settings, meta: Metadata) -> Iterator[Event]:
    cols = meta.columns
    for number, row in _rows(path):
        source = f"{path}:{number}"
        if "__error__" in row:
            yield Failure(source, f"{source} is {row['__error__']}.")
            continue
        if number == 1 and cols.text not in row:
            raise InputError(
                f"{path} has no {cols.text!r} column (it has: {', '.join(map(str, row)) or 'none'}); "
                "name the text column with --text-column."
            )
        text = row.get(cols.text)
        if not isinstance(text, str) or not text.strip():
            yield Failure(source, f"{source} has no text in its {cols.text!r} column.")
            continue
        title = _cell(row, cols.title)
        url = _cell(row, cols.url)
        ext_id = _cell(row, cols.id)
        try:
            article = check_text(
                from_plain(
                    text, id=str(ext_id) if ext_id is not None else "",
                    title=str(title) if title is not None else None,
                    url=str(url) if url is not None else None,
                    outlet=str(o) if (o := _cell(row, cols.outlet)) is not None else None,
                ),
                settings,
                name=source,
            )  # fmt: skip
        except UnspinError as err:
            yield Failure(source, str(err))
            continue
        record = CorpusArticle.from_article(article, source=source)
        yield meta.resolve(record, raw_date=_cell(row, cols.date))


# -- everything else, through unspin.ingest ----------------------------------------------


def _url_list(path: Path, settings: Settings) -> list[str] | None:
    """The URLs of a file that holds nothing else, or None (then it is an article)."""
    if path.suffix.lower() not in URL_LIST_SUFFIXES:
        return None
    data = read_file(path, cap=settings.max_input_bytes)
    try:
        lines = [line.strip() for line in data.decode("utf-8-sig").splitlines()]
    except UnicodeDecodeError:
        return None
    urls = [line for line in lines if line and not line.startswith("#")]
    if urls and all(_URL.match(u) for u in urls):
        return urls
    if path.suffix.lower() == ".urls":
        bad = next(u for u in urls if not _URL.match(u)) if urls else "(nothing)"
        raise InputError(f"{path} is a URL list, but holds {bad[:80]!r}, which is not an http(s) URL.")
    return None


def _ingested(
    inputs: list[str], settings: Settings, meta: Metadata, skip_url: Callable[[str], bool]
) -> Iterator[Event]:
    """Files, URLs and feeds through the one ingest loop (and its SSRF-safe fetcher)."""
    skip = lambda name: bool(_URL.match(name)) and skip_url(name)  # noqa: E731
    for item in iter_items(inputs, settings, skip=skip):
        if item.skipped:
            yield Skipped(item.source)
        elif item.error is not None:
            yield Failure(item.source, str(item.error))
        for i, article in enumerate(item.articles):
            # a feed's entries are errors and duplicates of their own: name each by its link
            many = len(item.articles) > 1
            source = (article.url or f"{item.source}#{i + 1}") if many else item.source
            yield meta.resolve(CorpusArticle.from_article(article, source=source))


def iter_articles(
    sources: Iterable[str],
    *,
    settings: Settings,
    meta: Metadata,
    skip_url: Callable[[str], bool] = lambda _url: False,
) -> Iterator[Event]:
    """Every article of ``sources`` in order, as a CorpusArticle, Failure or Skipped.
    ``skip_url(url)``: True for a URL already analysed, which is then not fetched."""
    plain: list[str] = []  # inputs for unspin.ingest, read in one go to keep their order
    for source in sources:
        try:
            items = expand(source)
        except UnspinError:
            plain.append(source)  # ingest reports it, in its place
            continue
        for item in items:
            path = Path(item)
            table = path.suffix.lower() in TABLE_SUFFIXES and path.is_file()
            try:
                urls = None if table or not path.is_file() else _url_list(path, settings)
            except UnspinError as err:
                yield from _ingested(plain, settings, meta, skip_url)
                plain = []
                yield Failure(item, str(err))
                continue
            if not table and urls is None:
                plain.append(item)
                continue
            yield from _ingested(plain, settings, meta, skip_url)
            plain = []
            if table:
                try:
                    yield from _table_articles(path, settings, meta)
                except UnspinError as err:
                    yield Failure(item, str(err))
            else:
                yield from _ingested(urls or [], settings, meta, skip_url)
    yield from _ingested(plain, settings, meta, skip_url)


def count_inputs(sources: Iterable[str], settings: Settings) -> int | None:
    """About how many articles ``sources`` hold (rows of tables, lines of URL lists, one per
    other file or URL; a feed counts once), for the progress bar; None if unknown."""
    total = 0
    for source in sources:
        try:
            items = expand(source)
        except UnspinError:
            continue
        for item in items:
            path = Path(item)
            suffix = path.suffix.lower()
            try:
                if suffix == ".parquet" and path.is_file():
                    import pyarrow.parquet as pq

                    total += pq.ParquetFile(path).metadata.num_rows
                elif suffix in TABLE_SUFFIXES and path.is_file():
                    with path.open("rb") as f:
                        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
                    total += max(lines - (suffix in (".csv", ".tsv")), 0)
                elif path.is_file() and (urls := _url_list(path, settings)) is not None:
                    total += len(urls)
                else:
                    total += 1
            except (ImportError, OSError, ValueError, UnspinError):
                return None
    return total
