"""``corpus add``: analyse every article of some sources into a corpus database, on all
cores, so that it can be stopped at any moment and run again with nothing lost or repeated.

How that holds:

* an article is keyed by the hash of its text; one already analysed by the current model
  is skipped, one analysed by an older model is analysed again (and only those);
* each new article's row (its id) is written when it is read, in input order, and its
  analysis whenever the worker processes (:func:`unspin.pool.run_tasks`) finish it: a long
  article holds back nothing, and a run resumed after a kill writes the same rows, under
  the same ids, as one that was never stopped;
* writes are batched into transactions (every ``batch`` articles or ``commit_seconds``): a
  kill loses at most the open transaction, whose articles are simply analysed again; each
  article's rows are written under a savepoint, so Ctrl-C or SIGTERM commits only whole
  articles, and the workers end with the main process, however it ends;
* a bad input or article is recorded in ``errors`` with its message and skipped; a later
  run tries it again, and removes the record once it succeeds.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..config import DEFAULT_SETTINGS, Settings
from ..errors import UnspinError
from ..pool import Task, Workers, lock, run_tasks
from .records import CorpusArticle, Findings, analyze_article, model_label, per_hour
from .sources import Failure, Metadata, Skipped, iter_articles
from .store import Store

__all__ = ["AddResult", "Interrupted", "Progress", "add"]

Progress = Callable[[int], None]
"""Called with how many more inputs (articles, failures, skips) are finished."""


@dataclass
class AddResult:
    """What one run did."""

    analysed: int = 0  # articles analysed and stored (new, or stale and analysed again)
    skipped: int = 0  # already analysed by this model, or a duplicate within the inputs
    failed: int = 0
    model: str = ""
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (input, message)

    @property
    def rate(self) -> float:
        """Articles analysed per hour."""
        return per_hour(self.analysed, self.seconds)

    def summary(self) -> str:
        return (
            f"analysed {self.analysed}, skipped {self.skipped} already analysed, "
            f"{self.failed} failed ({self.seconds:.1f} s, {self.rate:,.0f} articles/hour)"
        )


class _Writer:
    """Batched transactions; each article's rows under a savepoint."""

    def __init__(self, store: Store, batch: int, seconds: float) -> None:
        self.store, self.batch, self.seconds = store, batch, seconds
        self.pending = 0
        self.since = 0.0

    def _begin(self) -> None:
        if not self.store.db.in_transaction:
            self.store.begin()
            self.since = time.monotonic()

    def _one(self, write: Callable[[], object]) -> None:
        self._begin()
        db = self.store.db
        db.execute("SAVEPOINT one")
        try:
            write()
        except BaseException:
            db.execute("ROLLBACK TO one")
            db.execute("RELEASE one")
            raise
        db.execute("RELEASE one")
        self.pending += 1
        if self.pending >= self.batch or time.monotonic() - self.since >= self.seconds:
            self.commit()

    def reserve(self, article: CorpusArticle) -> None:
        self._one(lambda: self.store.reserve(article))

    def put(self, article: CorpusArticle, findings: Findings) -> None:
        self._one(lambda: self.store.put(article, findings))

    def error(self, source: str, message: str, content_hash: str | None, model: str) -> None:
        self._one(lambda: self.store.record_error(source, message, content_hash=content_hash, model=model))

    def clear(self, source: str) -> None:
        self._one(lambda: self.store.clear_error(source))

    def commit(self) -> None:
        self.store.commit()
        self.pending = 0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One ``corpus add`` per database at a time (readers are never blocked)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        lock(fd, path)
        yield
    finally:
        os.close(fd)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped ``add``; ``result``: what it did until then, all kept."""

    def __init__(self, result: AddResult) -> None:
        super().__init__()
        self.result = result


class _Run:
    """One ``add``: which inputs to analyse, and where each outcome is written."""

    def __init__(self, store: Store, writer: _Writer, result: AddResult, tick: Progress) -> None:
        self.store, self.writer, self.result, self.tick = store, writer, result, tick
        self.queued: set[str] = set()  # content hashes sent for analysis by this run

    def tasks(self, events: Iterable[CorpusArticle | Failure | Skipped]) -> Iterator[object]:
        """The articles to analyse as Tasks, each with its row reserved; the rest as is."""
        for event in events:
            if isinstance(event, CorpusArticle):
                found = self.store.lookup(event.content_hash)
                if event.content_hash in self.queued or (found is not None and found[1] == self.result.model):
                    event = Skipped(event.source)  # a copy, or done by this model already
                else:
                    self.queued.add(event.content_hash)
                    self.writer.reserve(event)
                    yield Task(event)
                    continue
            yield event

    def other(self, event: Failure | Skipped) -> None:
        if isinstance(event, Skipped):
            self.result.skipped += 1
            self.writer.clear(event.source)
        else:
            self._failed(event.source, event.error, event.content_hash)
        self.tick(1)

    def done(self, task: Task[CorpusArticle], outcome: Findings | Exception) -> None:
        article = task.payload
        if isinstance(outcome, Findings):
            self.writer.put(article, outcome)
            self.result.analysed += 1
        elif isinstance(outcome, UnspinError):
            self._failed(article.source, str(outcome), article.content_hash)
        else:  # a bug, but one article must not stop the run
            message = f"unexpected {type(outcome).__name__}: {outcome} (a bug in unspin; please report it)"
            self._failed(article.source, message, article.content_hash)
        self.tick(1)

    def _failed(self, source: str, message: str, content_hash: str | None) -> None:
        self.writer.error(source, message, content_hash, self.result.model)
        self.result.failed += 1
        self.result.errors.append((source, message))


def add(
    db: str | os.PathLike[str],
    sources: Iterable[str],
    *,
    settings: Settings = DEFAULT_SETTINGS,
    meta: Metadata | None = None,
    workers: int | None = None,
    batch: int = 200,
    commit_seconds: float = 2.0,
    progress: Progress | None = None,
) -> AddResult:
    """Analyse the articles of ``sources`` into the corpus database ``db`` (created if
    missing). With no sources, analyse again the stored articles the current model has not
    analysed (after a model upgrade). ``workers``: processes, by default one per core.

    Raises UnspinError only for the run as a whole (no model, the database unusable or busy);
    Ctrl-C or SIGTERM raises :class:`Interrupted` (a KeyboardInterrupt) after committing
    every article finished so far and stopping the worker processes.
    """
    sources = list(sources)
    result = AddResult(model=model_label(settings.model_dir))
    started = time.monotonic()
    with Store(db, create=True) as store, _locked(store.path):
        writer = _Writer(store, batch, commit_seconds)
        run = _Run(store, writer, result, progress or (lambda _n: None))
        pool = Workers(max(1, workers or os.cpu_count() or 1), analyze_article, settings)
        events = (
            iter_articles(sources, settings=settings, meta=meta or Metadata(),
                          skip_url=lambda url: store.source_done(url, result.model))
            if sources else store.stale_articles(result.model)
        )  # fmt: skip
        try:
            run_tasks(run.tasks(events), pool, run.done, run.other)
        except KeyboardInterrupt:
            writer.commit()  # every article written so far is whole: keep it
            pool.close(now=True)
            result.seconds = time.monotonic() - started
            raise Interrupted(result) from None
        except BaseException:
            store.rollback()  # a run that fails as a whole leaves the open transaction out
            pool.close(now=True)
            raise
        writer.commit()
        pool.close()
    result.seconds = time.monotonic() - started
    return result
