"""``corpus add``: analyse every article of some sources into a corpus database, on all
cores, so that it can be stopped at any moment and run again with nothing lost or repeated.

How that holds:

* an article is keyed by the hash of its text; one already analysed by the current model
  is skipped, one analysed by an older model is analysed again (and only those);
* articles go to worker processes (one model each, loaded once) in input order, and their
  results are written back in that same order, so a run resumed after a kill writes the
  same rows, under the same ids, as one that was never stopped;
* writes are batched into transactions (every ``batch`` articles or ``commit_seconds``): a
  kill loses at most the open transaction, whose articles are simply analysed again; each
  article's rows are written under a savepoint, so Ctrl-C commits only whole articles;
* a bad input or article is recorded in ``errors`` with its message and skipped; a later
  run tries it again, and removes the record once it succeeds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import forkserver, get_context
from pathlib import Path

from ..config import DEFAULT_SETTINGS, Settings
from ..errors import UnspinError
from .records import CorpusArticle, Findings, analyze_article, load_model, model_label, per_hour
from .sources import Failure, Metadata, Skipped, iter_articles
from .store import Store

__all__ = ["AddResult", "Progress", "add"]

Progress = Callable[[int], None]
"""Called with how many more inputs (articles, failures, skips) are finished."""

CHUNK = 4  # articles per task sent to a worker: fewer round trips, still fine-grained


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


# -- worker processes --------------------------------------------------------------------

_worker_model_dir: str | None = None


def _die_with_parent() -> None:
    """Linux: end this worker if the main process is killed, instead of lingering."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _init_worker(model_dir: str | None) -> None:
    global _worker_model_dir
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _die_with_parent()
    _worker_model_dir = model_dir
    load_model(model_dir)


def _analyse_chunk(articles: list[CorpusArticle]) -> list[Findings | str]:
    model = load_model(_worker_model_dir)
    out: list[Findings | str] = []
    for article in articles:
        try:
            out.append(analyze_article(article, model))
        except UnspinError as err:
            out.append(str(err))
        except Exception as err:  # a bug, but one article must not stop the run
            out.append(f"unexpected {type(err).__name__}: {err} (a bug in unspin; please report it)")
    return out


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# one process per core: numpy's BLAS in each must not start a thread per core as well
# (oversubscribed, its threads spin and every worker slows down several times)
_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def _one_thread_each() -> Iterator[None]:
    """The environment the worker processes start with: one thread for every math library."""
    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    os.environ.update(_ONE_THREAD)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Workers:
    """A pool of model-holding processes, started only when something needs analysing."""

    def __init__(self, workers: int, model_dir: str | None) -> None:
        self.workers = workers
        self.model_dir = model_dir
        self.pool: ProcessPoolExecutor | None = None
        self.answered = 0  # tasks this pool's workers finished: 0 when a pool breaks = cannot start

    def submit(self, articles: list[CorpusArticle]) -> Future[list[Findings | str]]:
        if self.pool is None:
            # Workers fork from a server that imports unspin once, started with Ctrl-C
            # ignored: they inherit that, so Ctrl-C stops the main process only, cleanly.
            context = get_context("forkserver")
            context.set_forkserver_preload([__name__])
            with _sigint_ignored(), _one_thread_each():
                forkserver.ensure_running()
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker,
                initargs=(self.model_dir,),
            )  # fmt: skip
        return self.pool.submit(_analyse_chunk, articles)

    def restart(self) -> None:
        if self.answered == 0:
            raise UnspinError(
                "The worker processes stopped before analysing anything (see the messages "
                "above: the model may not load); nothing was lost: fix the cause and run again."
            )
        self.close(wait=False)
        self.answered = 0

    def close(self, *, wait: bool = True) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)
            self.pool = None


# -- the ordered write-back ----------------------------------------------------------------


@dataclass
class _Entry:
    """One step of the input, written back in input order."""

    failure: Failure | None = None
    done_source: str | None = None  # an input already analysed: clear an old error of it
    articles: list[CorpusArticle] = field(default_factory=list)
    future: Future[list[Findings | str]] | None = None
    attempts: int = 0

    @property
    def size(self) -> int:
        return len(self.articles) or 1


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
def _exclusive(path: Path) -> Iterator[None]:
    """One ``corpus add`` per database at a time (readers are never blocked)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: SQLite's own locking still keeps the file consistent
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UnspinError(
                f"{path} is being written by another unspin corpus run: wait for it to finish."
            ) from None
        yield
    finally:
        os.close(fd)


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
    KeyboardInterrupt passes through after committing every article finished so far.
    """
    meta = meta or Metadata()
    sources = list(sources)
    model = model_label(settings.model_dir)
    result = AddResult(model=model)
    started = time.monotonic()
    tick = progress or (lambda _n: None)
    with Store(db, create=True) as store, _exclusive(store.path):
        pool = _Workers(max(1, workers or os.cpu_count() or 1), settings.model_dir)
        writer = _Writer(store, batch, commit_seconds)
        window: deque[_Entry] = deque()
        in_flight = 0
        limit = pool.workers * 3  # tasks queued ahead: keeps every worker busy, memory bounded

        def write_head() -> None:
            nonlocal in_flight
            entry = window[0]
            if entry.future is not None:
                try:
                    outcomes = entry.future.result()
                except BrokenProcessPool:
                    # a worker died (out of memory, a crash): start new ones and send again
                    # what was in flight; a task that kills a worker twice is recorded as failed
                    entry.attempts += 1
                    pool.restart()
                    for other in window:
                        if other.future is not None and other is not entry:
                            other.future = pool.submit(other.articles)
                    if entry.attempts < 2:
                        entry.future = pool.submit(entry.articles)
                        return
                    message = "its analysis stopped the worker process (out of memory?)"
                    outcomes = [message] * len(entry.articles)
                else:
                    pool.answered += 1
                in_flight -= 1
                for article, outcome in zip(entry.articles, outcomes, strict=True):
                    if isinstance(outcome, Findings):
                        writer.put(article, outcome)
                        result.analysed += 1
                    else:
                        writer.error(article.source, outcome, article.content_hash, model)
                        result.failed += 1
                        result.errors.append((article.source, outcome))
            elif entry.failure is not None:
                f = entry.failure
                writer.error(f.source, f.error, f.content_hash, model)
                result.failed += 1
                result.errors.append((f.source, f.error))
            elif entry.done_source is not None:
                writer.clear(entry.done_source)
            window.popleft()
            tick(entry.size)

        def push(entry: _Entry) -> None:
            """Queue an entry, then write what is ready at the head, waiting on the head
            while the workers have enough queued."""
            nonlocal in_flight
            window.append(entry)
            in_flight += entry.future is not None
            while window:
                head = window[0].future
                if head is None or head.done() or in_flight >= limit or len(window) > 4096:
                    write_head()
                else:
                    break

        chunk: list[CorpusArticle] = []

        def flush() -> None:
            if chunk:
                push(_Entry(articles=list(chunk), future=pool.submit(list(chunk))))
                chunk.clear()

        pending: set[str] = set()
        events: Iterable[CorpusArticle | Failure | Skipped] = (
            iter_articles(sources, settings=settings, meta=meta,
                          skip_url=lambda url: store.source_done(url, model))
            if sources else store.stale_articles(model)
        )  # fmt: skip
        try:
            for event in events:
                if isinstance(event, Skipped):
                    result.skipped += 1
                    flush()
                    push(_Entry(done_source=event.source))
                elif isinstance(event, Failure):
                    flush()
                    push(_Entry(failure=event))
                else:
                    found = store.lookup(event.content_hash)
                    if event.content_hash in pending or (found is not None and found[1] == model):
                        result.skipped += 1
                        flush()
                        push(_Entry(done_source=event.source))
                        continue
                    pending.add(event.content_hash)
                    chunk.append(event)
                    if len(chunk) >= CHUNK:
                        flush()
            flush()
            while window:
                write_head()
        except BaseException:
            writer.commit()  # every article written so far is whole: keep it
            pool.close(wait=False)
            raise
        writer.commit()
        pool.close()
    result.seconds = time.monotonic() - started
    return result
