"""The server's workhorse: one model shared by all requests, run off the event loop.

Inference is CPU-bound, so it runs in a bounded thread pool (``settings.server_workers``)
behind an asyncio semaphore: requests queue on the event loop, where a timed-out request
simply stops waiting, and the loop stays free to answer ``/api/health`` while the model
works. Fetching and parsing (network-bound) have their own small pool so that a slow web
site never holds a model slot.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from fastapi import Request

from ..analyze import analyze_with, installed_model
from ..config import Settings
from ..document import Analysis, Article
from ..errors import InputError, ModelError, UnspinError
from ..ingest import check_text, from_text
from ..model import Model
from . import inputs
from .errors import ServerTimeoutError, with_prefix

log = logging.getLogger("unspin.server")

T = TypeVar("T")
ModelSource = Model | None | Literal["default"]
IO_THREADS = 4
_WARM_TEXT = (
    "Warm-up\n\nThe council met on Tuesday and agreed, after a long debate, to repair the "
    "old bridge before winter. Everyone knows it cannot wait any longer."
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
        self._cpu = self._io = _closed_pool()
        self._slots: asyncio.Semaphore | None = None
        self._start_lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    def _resolve_model(self) -> Model | None:
        if self._source == "default":
            return installed_model(self.settings)
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
        article = from_text(_WARM_TEXT)
        check_text(article, self.settings)
        if self.model is not None:
            try:
                self.model.analyze(article)
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
            self._io = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="unspin-fetch")
            self._slots = asyncio.Semaphore(workers)
            self.active = self.waiting = 0
            if self.model is None and self.model_error is None:
                await asyncio.get_running_loop().run_in_executor(self._cpu, self._warm)
            self.started = True

    def close(self) -> None:
        """Stop the pools (at shutdown); a later :meth:`start` makes new ones, so that the
        app survives a lifespan restart (test clients do that)."""
        self._cpu.shutdown(wait=False, cancel_futures=True)
        self._io.shutdown(wait=False, cancel_futures=True)
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
        try:
            return await asyncio.wait_for(work, timeout=seconds)
        except TimeoutError:
            raise ServerTimeoutError(
                f"{what} took longer than {seconds:g} seconds and was stopped; try a shorter "
                "article, or try again when the server is less busy."
            ) from None

    async def _in_pool(
        self, pool: concurrent.futures.Executor, fn: Callable[..., T], *args: object
    ) -> T:
        # A concurrent future, wrapped: cancelling the wait cancels the work only if it has
        # not started yet (threads cannot be interrupted).
        return await asyncio.wrap_future(pool.submit(fn, *args))

    async def load(self, item: inputs.Input) -> list[Article]:
        """Read, fetch and check one input in the I/O pool."""
        await self.start()
        return await self._in_pool(self._io, inputs.load, item, self.settings)

    async def load_one_article(self, item: inputs.Input) -> Article:
        articles = await self.load(item)
        if len(articles) > 1:
            raise InputError(
                f"{inputs.describe(item)} holds {len(articles)} articles (it is a feed): "
                "analyse it from the home page, or with the job API (POST /api/jobs), to "
                "see each article's report as it is ready."
            )
        return articles[0]

    def _analyze_sync(self, article: Article) -> Analysis:
        if self.model_error is not None:
            raise ModelError(str(self.model_error))
        return analyze_with(self.model, article)

    async def analyze(self, article: Article) -> Analysis:
        """Analyse in the model pool, one slot per running analysis.

        The slot is released when the thread finishes, not when a timed-out caller gives
        up, so the count of running analyses never exceeds the pool size.
        """
        await self.start()
        assert self._slots is not None
        loop = asyncio.get_running_loop()
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        slots = self._slots
        try:
            future = self._cpu.submit(self._analyze_sync, article)
        except BaseException:
            slots.release()
            raise
        self.active += 1

        def done(_: concurrent.futures.Future[Analysis]) -> None:
            def release() -> None:
                self.active -= 1
                slots.release()

            with contextlib.suppress(RuntimeError):  # the loop is closed: app shut down
                loop.call_soon_threadsafe(release)

        future.add_done_callback(done)
        return await asyncio.wrap_future(future)

    async def analyze_input(self, item: inputs.Input) -> Analysis:
        """Load and analyse one single-article input, within the request timeout."""

        async def work() -> Analysis:
            return await self.analyze(await self.load_one_article(item))

        return await self.within(work())

    async def run_blocking(self, fn: Callable[..., T], *args: object) -> T:
        """Light CPU work (building a comparison) off the event loop, in the I/O pool."""
        return await self._in_pool(self._io, fn, *args)

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
