"""The server's workhorse: one model shared by all requests, run off the event loop.

Inference is CPU-bound, so it runs in a bounded thread pool (``settings.server_workers``)
behind an asyncio semaphore: requests queue on the event loop, where a timed-out request
simply stops waiting, and the loop stays free to answer ``/api/health`` while the model
works. The queue is bounded by time: a request that would wait behind more than
``settings.server_queue_seconds`` of model work is refused at once (503, Retry-After), so
that the requests taken keep a short latency under any load.

URL fetches have their own pool, and each fetch ends by its request's deadline, so a slow
web site holds neither a model slot nor the pool that reads pasted texts and uploads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, Literal, TypeVar

from fastapi import Request

from ..analyze import analyze_with, installed_model
from ..config import Settings
from ..document import Analysis, Article
from ..errors import InputError, ModelError, UnspinError
from ..fetch import ending_by
from ..ingest import check_text, from_text
from ..model import Model
from . import inputs
from .errors import ServerBusyError, ServerTimeoutError, with_prefix

log = logging.getLogger("unspin.server")

T = TypeVar("T")
ModelSource = Model | None | Literal["default"]
FETCH_THREADS = 4  # URL fetches at once
PARSE_THREADS = 2  # texts and uploads read, comparisons built
_MIN_CHARS = 1000  # an analysis costs at least this many characters' time (fixed overhead)
# When the request being served gives up (time.monotonic()), for the fetches it starts.
_DEADLINE: ContextVar[float | None] = ContextVar("unspin_request_deadline", default=None)
# As long as a short article (several windows): the warm-up also gives the model's first
# cost per character, which the queue's bound relies on before real requests refine it.
_WARM_TEXT = "Warm-up\n\n" + "\n\n".join(
    [
        "The council met on Tuesday and agreed, after a long debate, to repair the old bridge "
        "before winter. Everyone knows it cannot wait any longer, the mayor said, and the "
        "engineers agreed that the work should start in October."
    ]
    * 16
)


def _closed_pool() -> ThreadPoolExecutor:
    """A placeholder until :meth:`Engine.start`: submitting to it raises at once."""
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    return pool


class Engine:
    """Shared state of one app: settings, the model, the worker pools and their load."""

    def __init__(self, settings: Settings, model: ModelSource = "default") -> None:
        self.settings = settings
        self._source = model
        self.model: Model | None = None
        self.model_error: UnspinError | None = None
        self.started = False
        self.active = 0  # analyses running in the pool
        self.waiting = 0  # analyses queued for a slot
        self._queued_chars = 0  # characters of the articles running or queued
        self._seconds_per_char = 0.0  # model time, a running average (set by the warm-up)
        self._cpu = self._fetch = self._parse = _closed_pool()
        self._slots: asyncio.Semaphore | None = None
        self._start_lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    def _resolve_model(self) -> Model | None:
        if self._source == "default":
            settings = self.settings
            if not settings.threads:  # the cores shared among the workers, not each: measured
                # 22% more analyses a second on 2 cores with 2 workers than one thread per core
                cores = os.cpu_count() or 1
                settings = settings.with_options(threads=max(1, cores // max(1, settings.server_workers)))
            return installed_model(settings)
        return self._source

    def _warm(self) -> None:
        """Load the model and the language identifier, and run them once, so that the
        first visitor does not wait for it."""
        try:
            self.model = self._resolve_model()
        except UnspinError as err:
            self.model_error = err
            log.error("unspin: the model could not be loaded: %s", err)
            return
        article = from_text(_WARM_TEXT[: self.settings.max_text_chars])
        check_text(article, self.settings)
        if self.model is not None:
            try:
                self._timed(article)
            except Exception as exc:  # a broken model: say so on every analysis, keep serving
                log.exception("unspin: the model failed its warm-up run")
                self.model_error = ModelError(
                    f"The model {self.model.id} {self.model.version} is broken ({exc}); "
                    "reinstall it or start the server with another UNSPIN_MODEL_DIR."
                )

    async def start(self) -> None:
        """Load and warm the model once (the lifespan handler calls this at startup)."""
        if self.started:
            return
        async with self._start_lock:
            if self.started:
                return
            workers = max(1, self.settings.server_workers)
            self._cpu = ThreadPoolExecutor(workers, thread_name_prefix="unspin-model")
            self._fetch = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="unspin-fetch")
            self._parse = ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="unspin-parse")
            self._slots = asyncio.Semaphore(workers)
            self.active = self.waiting = 0
            if self.model is None and self.model_error is None:
                await asyncio.get_running_loop().run_in_executor(self._cpu, self._warm)
            self.started = True

    def close(self) -> None:
        """Stop the pools (at shutdown); a later :meth:`start` makes new ones, so that the
        app survives a lifespan restart (test clients do that)."""
        for pool in (self._cpu, self._fetch, self._parse):
            pool.shutdown(wait=False, cancel_futures=True)
        self.started = False

    @property
    def model_id(self) -> str | None:
        return self.model.id if self.model is not None else None

    @property
    def model_version(self) -> str | None:
        return self.model.version if self.model is not None else None

    # ------------------------------------------------------------------ work

    async def within(self, work: Awaitable[T], what: str = "The analysis") -> T:
        """``work``, or a 504-mapped error after ``settings.server_request_timeout``."""
        return await self.within_seconds(work, self.settings.server_request_timeout, what)

    async def within_seconds(self, work: Awaitable[T], seconds: float, what: str) -> T:
        token = _DEADLINE.set(time.monotonic() + seconds)  # copied into wait_for's task
        try:
            return await asyncio.wait_for(work, timeout=seconds)
        except TimeoutError:
            raise ServerTimeoutError(
                f"{what} took longer than {seconds:g} seconds and was stopped; try a shorter "
                "article, or try again when the server is less busy."
            ) from None
        finally:
            _DEADLINE.reset(token)

    async def _in_pool(
        self, pool: concurrent.futures.Executor, fn: Callable[..., T], *args: object
    ) -> T:
        # A concurrent future, wrapped: cancelling the wait cancels the work only if it has
        # not started yet (threads cannot be interrupted).
        return await asyncio.wrap_future(pool.submit(fn, *args))

    async def read_articles(self, item: inputs.Input) -> list[Article]:
        """Read and check one input: pasted text in the parse pool; a URL or an upload (a
        feed's entries may link to pages) in the fetch pool."""
        await self.start()
        if isinstance(item, inputs.TextInput | inputs.LoadedInput):  # fetches nothing
            return await self._in_pool(self._parse, inputs.read_articles, item, self.settings)
        return await self._in_pool(self._fetch, self._read_bounded, item, _DEADLINE.get())

    def _read_bounded(self, item: inputs.Input, deadline: float | None) -> list[Article]:
        """Whatever this fetches ends when the request gives up, and frees its thread (a
        thread cannot be interrupted: its fetches must end on their own)."""
        with ending_by(deadline):
            return inputs.read_articles(item, self.settings)

    async def load_one_article(self, item: inputs.Input) -> Article:
        articles = await self.read_articles(item)
        if len(articles) > 1:
            raise InputError(
                f"{inputs.describe(item)} holds {len(articles)} articles (it is a feed): "
                "analyse it from the home page, or with the job API (POST /api/jobs), to "
                "see each article's report as it is ready."
            )
        return articles[0]

    def _timed(self, article: Article) -> Analysis:
        """The model's analysis, its time per character folded into the running average."""
        started = time.perf_counter()
        analysis = analyze_with(self.model, article)
        cost = (time.perf_counter() - started) / max(len(article.text), _MIN_CHARS)
        previous = self._seconds_per_char
        self._seconds_per_char = cost if previous == 0 else 0.7 * previous + 0.3 * cost
        return analysis

    def _analyze_sync(self, article: Article) -> Analysis:
        if self.model_error is not None:
            raise ModelError(str(self.model_error))
        return self._timed(article)

    def queue_seconds(self) -> float:
        """About how long a new request would wait for a model slot."""
        workers = max(1, self.settings.server_workers)
        return self._queued_chars * self._seconds_per_char / workers

    def check_busy(self) -> None:
        """ServerBusyError (503) when a new request would wait behind more than
        ``settings.server_queue_seconds`` of model work."""
        wait = self.queue_seconds()
        if self.waiting and wait > self.settings.server_queue_seconds:
            retry = max(1, math.ceil(wait))
            raise ServerBusyError(
                f"The server is busy: {self.active + self.waiting} analyses are ahead of this "
                f"one. Try again in {retry} second{'s' * (retry != 1)}.",
                retry_after=retry,
            )

    async def analyze(self, article: Article, *, shed: bool = True) -> Analysis:
        """Analyse in the model pool, one slot per running analysis.

        With ``shed`` (requests someone waits for; not background jobs), a request that
        would wait behind more than ``settings.server_queue_seconds`` of work is refused with
        ServerBusyError (503). The slot is released when the thread finishes, not when a
        timed-out caller gives up, so the count of running analyses never exceeds the pool.
        """
        await self.start()
        assert self._slots is not None
        if shed:
            self.check_busy()
        loop = asyncio.get_running_loop()
        chars = max(len(article.text), _MIN_CHARS)
        self._queued_chars += chars
        self.waiting += 1
        try:
            await self._slots.acquire()
        except BaseException:  # the request gave up while waiting
            self._queued_chars -= chars
            raise
        finally:
            self.waiting -= 1
        slots = self._slots
        try:
            future = self._cpu.submit(self._analyze_sync, article)
        except BaseException:
            self._queued_chars -= chars
            slots.release()
            raise
        self.active += 1

        def done(_: concurrent.futures.Future[Analysis]) -> None:
            def release() -> None:
                self.active -= 1
                self._queued_chars -= chars
                slots.release()

            with contextlib.suppress(RuntimeError):  # the loop is closed: app shut down
                loop.call_soon_threadsafe(release)

        future.add_done_callback(done)
        return await asyncio.wrap_future(future)

    async def analyze_input(self, item: inputs.Input) -> Analysis:
        """Load and analyse one single-article input, within the request timeout; refused
        at once, before it is read, when the model's queue is full."""
        await self.start()
        self.check_busy()

        async def work() -> Analysis:
            return await self.analyze(await self.load_one_article(item))

        return await self.within(work())

    async def run_blocking(self, fn: Callable[..., T], *args: object) -> T:
        """Light CPU work (building a comparison) off the event loop, in the parse pool."""
        return await self._in_pool(self._parse, fn, *args)

    async def analyze_all(self, items: Sequence[inputs.Input]) -> list[Analysis]:
        """Read, then analyse, several single-article inputs concurrently; an error names
        the article it is about ("Article 2: ...")."""
        articles = await first_error(
            [_labelled(self.load_one_article(item), n) for n, item in enumerate(items, 1)]
        )
        return await first_error(
            [_labelled(self.analyze(article), n) for n, article in enumerate(articles, 1)]
        )


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def first_error(coroutines: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently; on the first failure cancel the rest and raise that error."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coroutines]
    except BaseExceptionGroup as errors:
        leaves = list(_leaves(errors))
        raise next((e for e in leaves if isinstance(e, UnspinError)), leaves[0]) from None
    return [t.result() for t in tasks]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


async def _labelled(work: Awaitable[T], number: int) -> T:
    """``work``, with "Article <number>: " in front of a user-facing error."""
    try:
        return await work
    except UnspinError as err:
        raise with_prefix(err, f"Article {number}: ") from None
