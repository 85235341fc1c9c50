"""Analyse many sources into a sink, in order (:func:`analyze_sources`): what the command line
(every format) and JSON Lines batches go through, by way of the one loop over many articles
(:func:`unspin.pool.run_tasks`, in this process); and the sink that makes a batch survive
interruptions (:class:`ResultsFile`).

:func:`analyze_to_jsonl` appends one complete line per analysis (flushed and fsynced) to its
output, so a run that is stopped (Ctrl-C, a kill, a crash) loses at most the article it was
working on. Started again on the same output, it skips the articles already there:

* the output is read first; complete lines are never dropped, and a last line cut short by
  a crash is removed (a last line that is complete but for its newline is kept);
* every article has a key, and an article whose key is already in the output is skipped;
* Ctrl-C or SIGTERM during a write is held back until the line is complete, so the file
  stays valid.

The lines are exactly ``Analysis.to_dict()`` (see ``unspin/report/schema.json``) and load
with :func:`unspin.report.jsonio.loads_jsonl`. The schema has no field for where an article
came from, so keys are computed from what the line holds:

* an article from the web (it has a URL: a fetched page, a feed entry): its id (the final
  URL, or the entry's guid or link), so a page whose text changed between runs is not
  analysed twice;
* anything else (a file, standard input): its source kind, id (the file name without its
  suffix) and the first half of its content hash (:func:`unspin.document.content_hash`, the
  corpus's key), so an edited file is analysed again.

Identical keys are counted, not merged: two copies of one article among the inputs give two
lines, and a resumed run skips as many as the output already holds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .analyze import analyze_with, installed_model
from .config import DEFAULT_SETTINGS, Settings
from .document import Analysis, Article, content_hash
from .errors import InputError, UnspinError
from .ingest import Item, Source, iter_items
from .model import Model
from .pool import InProcess, Task, lock, run_tasks, signals_held
from .report.jsonio import check_version, dumps_analysis

__all__ = [
    "BatchResult",
    "ErrorHandler",
    "Progress",
    "ResultsFile",
    "Sink",
    "analyze_sources",
    "analyze_to_jsonl",
    "article_key",
]

log = logging.getLogger("unspin.batch")

ErrorHandler = Callable[[str, Exception], None]
"""Called as ``(input, error)`` for an input that cannot be read or an article that cannot
be analysed; it may raise to stop the run. Errors other than UnspinError are bugs."""

Progress = Callable[[Item], None]
"""Called with each input once all of its articles are written, skipped or failed (an
:class:`~unspin.ingest.Item` knows how many inputs the run has in all)."""


class Sink(Protocol):
    """Where a run's analyses go: a report writer (:mod:`unspin.report.writers`), or a
    :class:`ResultsFile`, which holds analyses from an earlier run already."""

    def has_input(self, source: str) -> bool:
        """True for an input whose analyses it holds already: it is not even read."""
        ...

    def has(self, article: Article) -> bool:
        """True for an article whose analysis it holds already: it is not analysed."""
        ...

    def add(self, analysis: Analysis) -> None: ...

_WEB = ("http://", "https://")
_LINE_START = b'{"article": '  # how every line this module writes begins


@dataclass
class BatchResult:
    """What one run did: ``done`` analyses written, ``skipped`` already in the output,
    ``failed`` inputs or articles that could not be analysed (see ``errors``), of which
    ``unfound`` are sources that named nothing to read (no such file, an empty folder)."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    unfound: int = 0
    output: Path | None = None
    notes: list[str] = field(default_factory=list)  # each distinct note of the analyses
    errors: list[tuple[str, Exception]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0, or the exit code of the first error (1 for a bug)."""
        for _item, err in self.errors:
            return err.exit_code if isinstance(err, UnspinError) else 1
        return 0

    def summary(self) -> str:
        """One line, e.g. ``analysed 12, skipped 30 already in results.jsonl, 1 failed``."""
        where = f" already in {self.output}" if self.output is not None else ""
        line = f"analysed {self.done}, skipped {self.skipped}{where}, {self.failed - self.unfound} failed"
        if self.unfound:
            line += f", {self.unfound} {'source names' if self.unfound == 1 else 'sources name'} nothing to read"
        return line


def _key(text: str, id: str, url: str | None, source_kind: str) -> str:
    if url:
        return "web " + (id or url)
    return f"{source_kind} {id} {content_hash(text)[:32]}"


def article_key(article: Article) -> str:
    """The key under which an article's analysis is found again in a results file."""
    return _key(article.text, article.id, article.url, article.source_kind)


def _line_key(raw: bytes) -> str:
    """The key of one stored line; ValueError saying why it is not an unspin analysis."""
    data = json.loads(raw)  # JSONDecodeError and UnicodeDecodeError are ValueErrors
    try:
        check_version(data)
    except InputError as err:
        raise ValueError(str(err)) from None
    article = data["article"]
    if not isinstance(article, dict) or not isinstance(article.get("text"), str):
        raise ValueError('it has no "article" with a "text"')
    id, url, kind = article.get("id", ""), article.get("url"), article.get("source_kind", "text")
    if not isinstance(id, str) or not isinstance(kind, str) or not isinstance(url, str | None):
        raise ValueError("its article id, url or source_kind is not a string")
    return _key(article["text"], id, url, kind)


class ResultsFile:
    """A JSON Lines file of analyses as a :class:`Sink`: locked against a second run,
    repaired, its keys counted, and appended to line by line."""

    def __init__(self, path: Path, *, resume: bool) -> None:
        self.path = path
        self.keys: Counter[str] = Counter()  # of the lines not yet matched by this run
        self.added = 0  # lines this run wrote
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
        try:
            try:
                self.fd = os.open(path, flags | os.O_EXCL, 0o666)
                self.created = True
            except FileExistsError:
                self.fd = os.open(path, flags)
                self.created = False
        except OSError as exc:
            raise UnspinError(f"Cannot write {path}: {exc.strerror or exc}.") from None
        try:
            lock(self.fd, path, ", or write to another file")
            if not resume:
                os.ftruncate(self.fd, 0)
            self._repair(self._scan())
            self.size = os.fstat(self.fd).st_size
        except BaseException:
            self.close()
            raise
        self._dir_synced = not self.created

    def _scan(self) -> tuple[int, bool]:
        """Count the keys of the complete lines; return how many bytes to keep and whether
        the last kept line lacks its newline."""
        keep, missing_newline = 0, False
        with open(self.path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                complete = raw.endswith(b"\n")
                if raw.strip():
                    try:
                        key = _line_key(raw)
                    except ValueError as err:
                        if not complete and (
                            raw.startswith(_LINE_START) or _LINE_START.startswith(raw)
                        ):
                            break  # the cut line an interrupted run left: dropped
                        raise InputError(
                            f"Line {number} of {self.path} is not an unspin analysis ({err}), "
                            "so unspin will not add to this file: write to another file, or "
                            "start over (unspin analyze --restart) to replace it."
                        ) from None
                    self.keys[key] += 1
                keep += len(raw)
                missing_newline = not complete
        return keep, missing_newline

    def _repair(self, scan: tuple[int, bool]) -> None:
        keep, missing_newline = scan
        size = os.fstat(self.fd).st_size
        if size > keep:
            log.warning(
                "%s: removed an incomplete last line (%d bytes) left by an interrupted run; "
                "that article is analysed again.",
                self.path, size - keep,
            )  # fmt: skip
            os.ftruncate(self.fd, keep)
        if missing_newline:
            self._write(b"\n")

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        os.fsync(self.fd)

    def append(self, line: bytes) -> None:
        """Write one complete line and make it durable; on failure, remove what was written."""
        with signals_held():
            try:
                self._write(line)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(self.fd, self.size)
                raise UnspinError(f"Cannot write {self.path}: {exc.strerror or exc}.") from None
            self.size += len(line)
            self.added += 1  # counted before a held-back Ctrl-C is acted on
            if not self._dir_synced:  # make the new file's name durable too
                self._dir_synced = True
                with contextlib.suppress(OSError, AttributeError):
                    dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
                    try:
                        os.fsync(dir_fd)
                    finally:
                        os.close(dir_fd)

    def close(self) -> None:
        if self.fd < 0:
            return
        try:
            if self.created and os.fstat(self.fd).st_size == 0:
                # nothing was written: leave no empty file behind
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
        finally:
            os.close(self.fd)
            self.fd = -1

    def has_input(self, source: str) -> bool:
        key = "web " + source
        if source.lower().startswith(_WEB) and self.keys[key] > 0:
            self.keys[key] -= 1  # a page analysed already: no need to fetch it again
            return True
        return False

    def has(self, article: Article) -> bool:
        key = article_key(article)
        if self.keys[key] > 0:
            self.keys[key] -= 1  # counted, not merged: two copies of one article, two lines
            return True
        return False

    def add(self, analysis: Analysis) -> None:
        self.append((dumps_analysis(analysis, indent=None) + "\n").encode("utf-8"))


def _failed(result: BatchResult, item: str, err: Exception, on_error: ErrorHandler | None) -> None:
    result.failed += 1
    result.errors.append((item, err))
    if on_error is not None:
        on_error(item, err)
    elif isinstance(err, UnspinError):
        log.warning("%s: %s", item, err)
    else:
        raise err


def analyze_sources(
    sources: Iterable[Source],
    sink: Sink,
    *,
    settings: Settings = DEFAULT_SETTINGS,
    model: Model | None = None,
    progress: Progress | None = None,
    on_error: ErrorHandler | None = None,
) -> BatchResult:
    """Read every input of ``sources`` (:func:`unspin.ingest.iter_items`), analyse each
    article that ``sink`` does not hold yet, and add its analysis to ``sink``, in order.

    An input or article that fails is counted, passed to ``on_error`` (by default: logged,
    or raised if it is not an UnspinError, i.e. a bug) and skipped; the others still go
    through. ``model``: by default the one ``settings`` name, loaded only if some article
    needs analysing. KeyboardInterrupt (Ctrl-C, SIGTERM) passes through.
    """
    result = BatchResult()

    def tasks() -> Iterator[Task[Article] | Item]:
        for item in iter_items(sources, settings, skip=sink.has_input):
            result.skipped += item.skipped
            if item.error is not None:
                result.unfound += not item.found
                _failed(result, item.source, item.error, on_error)
            for article in item.articles:
                if sink.has(article):
                    result.skipped += 1
                else:
                    yield Task(article, item.source)
            yield item  # done: all its articles are through (this pool keeps their order)

    def done(task: Task[Article], outcome: Analysis | Exception) -> None:
        if isinstance(outcome, Exception):
            _failed(result, task.context, outcome, on_error)
            return
        sink.add(outcome)
        result.done += 1
        result.notes.extend(n for n in outcome.notes if n not in result.notes)

    pool = InProcess(_analysis, lambda: model if model is not None else installed_model(settings))
    run_tasks(tasks(), pool, done, progress or (lambda _item: None))
    return result


def _analysis(article: Article, model: Model | None) -> Analysis:
    return analyze_with(model, article)


def analyze_to_jsonl(
    sources: Iterable[Source],
    output: str | os.PathLike[str],
    *,
    resume: bool = True,
    settings: Settings = DEFAULT_SETTINGS,
    model: Model | None = None,
    progress: Progress | None = None,
    on_error: ErrorHandler | None = None,
) -> BatchResult:
    """Analyse every article of ``sources`` (files, directories, globs, URLs, "-", as for
    ``unspin analyze``) into the JSON Lines file ``output``, one line per article.

    With ``resume`` (the default) the analyses already in ``output`` are kept and their
    articles skipped; ``resume=False`` empties ``output`` first. Failures, ``model`` and
    ``progress``: as for :func:`analyze_sources`.

    Raises UnspinError when ``output`` cannot be written, is being written by another run,
    or holds a line that is not an unspin analysis. KeyboardInterrupt passes through, with
    every line written so far complete.
    """
    path = Path(output)
    with contextlib.closing(ResultsFile(path, resume=resume)) as sink:
        result = analyze_sources(
            sources, sink, settings=settings, model=model, progress=progress, on_error=on_error
        )
    result.output = path
    return result
