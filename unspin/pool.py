"""The one loop over many articles, under ``unspin analyze -o``, ``corpus add`` and each
task of ``corpus shards``: articles in, a pool analyses them, each result handed back as
soon as it is ready; with the one lock per output and the one way a run stops.

* :func:`run_tasks` reads a stream of :class:`Task` (an article to analyse) and other events
  (handed straight back), keeps the pool busy but never far ahead, and hands each result back
  as it finishes: a long article holds back nothing. Where order matters the caller gives
  each task its place first (the corpus reserves an article's id when it reads it).
* :class:`InProcess` analyses in this process, in order (the command line's batches, a Dask
  task); :class:`Workers` in worker processes, one model each, that end when the main
  process ends, however it ends.
* :func:`stopping` makes SIGTERM stop a run as Ctrl-C does; :func:`signals_held` holds both
  back while a result is written, so that what is written is whole, and while this process
  talks to its workers, so that they can always be stopped.
* :func:`lock` is the one lock: one run per output file or database.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import forkserver, get_context
from typing import Any, Generic, Protocol, TypeVar

from .analyze import installed_model
from .config import Settings
from .errors import UnspinError
from .model import Model

__all__ = [
    "InProcess",
    "Pool",
    "Task",
    "Work",
    "Workers",
    "lock",
    "run_tasks",
    "signals_held",
    "stopping",
]

P = TypeVar("P")

Work = Callable[[Any, "Model | None"], Any]
"""What a pool does with each task's payload and its model (a module-level function, so
that worker processes can be sent it)."""

Outcome = Any  # the work's result, or the Exception it raised
Then = Callable[["list[Outcome] | BaseException"], None]
"""Told a chunk's outcomes, or why the chunk as a whole failed (BrokenProcessPool: its worker
process died); from any thread."""


@dataclass
class Task(Generic[P]):
    """One article to analyse (``payload``), with what the caller needs to file its result."""

    payload: P
    context: Any = None
    attempts: int = field(default=0, repr=False)


class Pool(Protocol):
    """Where tasks are analysed: ``count`` at a time, sent ``chunk`` payloads at a time."""

    count: int
    chunk: int

    def submit(self, payloads: list[Any], then: Then) -> None: ...

    def restart(self) -> None: ...

    def close(self, *, now: bool = False) -> None: ...


def _outcomes(work: Work, model: Model | None, payloads: list[Any]) -> list[Outcome]:
    out: list[Outcome] = []
    for payload in payloads:
        try:
            out.append(work(payload, model))
        except Exception as err:  # one article must not stop the run: the caller files it
            out.append(err)
    return out


class InProcess:
    """Analyse in this process at submit time, so results come back in input order. The
    model is loaded at the first article that needs it."""

    count = chunk = 1

    def __init__(self, work: Work, load: Callable[[], Model | None]) -> None:
        self.work, self.load = work, load
        self.model: Model | None = None
        self.loaded = False

    def submit(self, payloads: list[Any], then: Then) -> None:
        if not self.loaded:
            self.model, self.loaded = self.load(), True
        then(_outcomes(self.work, self.model, payloads))

    def restart(self) -> None:  # pragma: no cover - nothing in this process breaks a pool
        raise UnspinError("The analysis stopped unexpectedly.")

    def close(self, *, now: bool = False) -> None:
        pass


# -- worker processes --------------------------------------------------------------------

_work: Work | None = None
_model: Model | None = None


def _watch_parent(parent: int) -> None:
    """End this worker within half a second of the main process, however that ended
    (SIGKILL included): its parent is the fork server, so nothing else tells it."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    def watch() -> None:
        while True:
            try:
                os.kill(parent, 0)
            except (ProcessLookupError, PermissionError):  # gone (or its pid reused)
                os._exit(1)
            threading.Event().wait(0.5)

    threading.Thread(target=watch, name="unspin-parent-watch", daemon=True).start()


def _init_worker(parent: int, work: Work, settings: Settings) -> None:
    global _work, _model
    # the main process alone decides when to stop: Ctrl-C and SIGTERM go to it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _watch_parent(parent)
    _work = work
    _model = installed_model(settings.with_options(threads=1))  # one process per core


def _run_chunk(payloads: list[Any]) -> list[Outcome]:
    assert _work is not None
    out = _outcomes(_work, _model, payloads)
    for i, outcome in enumerate(out):
        if isinstance(outcome, Exception):
            try:
                pickle.dumps(outcome)
            except Exception:
                out[i] = RuntimeError(f"{type(outcome).__name__}: {outcome}")
    return out


# one process per core: numpy's BLAS in each must not start a thread per core as well
# (oversubscribed, its threads spin and every worker slows down several times)
_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Workers:
    """Worker processes, each holding the model, started when something needs analysing."""

    chunk = 4  # articles per task: fewer round trips, still fine-grained

    def __init__(self, count: int, work: Work, settings: Settings) -> None:
        self.count, self.work, self.settings = count, work, settings
        self.pool: ProcessPoolExecutor | None = None
        self.answered = 0  # tasks finished: none when the pool breaks = the workers cannot start

    def submit(self, payloads: list[Any], then: Then) -> None:
        # Ctrl-C is held back while this process talks to the executor: raised inside its
        # code (a lock's __exit__, a loop taking locks), it can leave a lock taken that the
        # executor's thread needs, and stopping the workers then waits forever
        with signals_held():
            if self.pool is None:
                # workers fork from a server that imports unspin once; it starts with the
                # signals ignored, so that Ctrl-C in a terminal reaches the main process only
                context = get_context("forkserver")
                context.set_forkserver_preload([__name__])
                with signals_ignored(), _environment(_ONE_THREAD):
                    forkserver.ensure_running()
                self.pool = ProcessPoolExecutor(
                    self.count, mp_context=context, initializer=_init_worker,
                    initargs=(os.getpid(), self.work, self.settings),
                )  # fmt: skip
            try:
                future = self.pool.submit(_run_chunk, payloads)
            except BrokenProcessPool as err:  # a worker died since the last chunk came back
                then(err)
                return
            # read in the executor's thread, so that this one never takes a future's lock
            future.add_done_callback(lambda f: then(self._result(f)))

    def _result(self, future: Future[list[Outcome]]) -> list[Outcome] | BaseException:
        try:
            outcomes = future.result()
        except BaseException as err:  # BrokenProcessPool, or cancelled by close(now=True)
            return err
        self.answered += 1
        return outcomes

    def restart(self) -> None:
        if self.answered == 0:
            raise UnspinError(
                "The worker processes stopped before analysing anything (see the messages "
                "above: the model may not load); nothing was lost: fix the cause and run again."
            )
        self.close(now=True)

    def close(self, *, now: bool = False) -> None:
        """Stop the workers; ``now``: without finishing what they are doing."""
        if self.pool is None:
            return
        with signals_held():  # as in submit; a second Ctrl-C waits for the workers' end
            pool, self.pool = self.pool, None
            if now:
                for process in list(getattr(pool, "_processes", {}).values()):
                    with contextlib.suppress(OSError):
                        process.kill()
                # a worker killed while sending a result leaves half a message in the pipe;
                # with this process's copy of its write end closed (this process never
                # writes there), the executor's thread then reads end-of-file instead of
                # waiting forever for the rest
                with contextlib.suppress(AttributeError, OSError):
                    pool._result_queue._writer.close()  # type: ignore[attr-defined]
            pool.shutdown(wait=True, cancel_futures=True)


# -- the loop ------------------------------------------------------------------------------

BROKE = "its analysis stopped the worker process (out of memory?)"


def run_tasks(
    events: Iterable[Task[Any] | Any],
    pool: Pool,
    done: Callable[[Task[Any], Outcome], None],
    other: Callable[[Any], None],
    *,
    ahead: int = 3,
) -> None:
    """Send every :class:`Task` of ``events`` to ``pool`` and call ``done(task, outcome)``
    as each finishes (the outcome: the work's result, or the Exception it raised; a task
    that stops a worker process twice: an UnspinError saying so). Anything else in
    ``events`` goes to ``other`` at once. ``ahead``: chunks queued per worker. SIGTERM
    stops it as Ctrl-C does (:func:`stopping`)."""
    limit = pool.count * ahead
    flying: dict[int, list[Task[Any]]] = {}  # chunks sent, by number
    sent = itertools.count()
    suspects: list[list[Task[Any]]] = []  # chunks in flight when the workers broke
    # Outcomes arrive on a queue that the pool's callbacks fill: waiting on it, Ctrl-C
    # interrupts a get that holds no lock (concurrent.futures.wait takes each future's lock
    # in turn, and Ctrl-C landing there left one taken and the workers unable to stop).
    ready: queue.SimpleQueue[tuple[int, list[Outcome] | BaseException]] = queue.SimpleQueue()

    def submit(tasks: list[Task[Any]]) -> None:
        number = next(sent)
        flying[number] = tasks
        pool.submit([t.payload for t in tasks], lambda result: ready.put((number, result)))

    def collect(block: bool) -> None:
        try:
            finished = [ready.get(block=block)]
        except queue.Empty:
            return
        with contextlib.suppress(queue.Empty):
            while True:
                finished.append(ready.get_nowait())
        broken = False
        for number, result in finished:
            tasks = flying.pop(number, None)
            if tasks is None:  # sent to workers that broke: it is among the suspects
                continue
            if isinstance(result, BrokenProcessPool):
                broken = True
                suspects.append(tasks)
                continue
            for task, outcome in zip(tasks, _each(result, tasks), strict=True):
                done(task, outcome)
        if broken:
            # a worker died (out of memory, a crash): new workers, and the chunks that were
            # in flight then sent again one at a time, so that a chunk that breaks the pool
            # while alone holds the culprit: its articles, each alone, find it; an article
            # that breaks the pool twice on its own is recorded as failed
            suspects.extend(flying.values())
            flying.clear()
            pool.restart()
            isolate()

    def alone(tasks: list[Task[Any]]) -> list[Outcome] | BaseException:
        one: queue.SimpleQueue[list[Outcome] | BaseException] = queue.SimpleQueue()
        pool.submit([t.payload for t in tasks], one.put)
        return one.get()

    def isolate() -> None:
        while suspects:
            tasks = suspects.pop(0)
            result = alone(tasks)
            if isinstance(result, BrokenProcessPool):
                pool.restart()
                if len(tasks) > 1:  # then which of them: each alone
                    suspects[:0] = [[task] for task in tasks]
                    continue
                tasks[0].attempts += 1
                if tasks[0].attempts < 2:
                    suspects.insert(0, tasks)
                    continue
                result = [UnspinError(BROKE)]
            for task, outcome in zip(tasks, _each(result, tasks), strict=True):
                done(task, outcome)

    chunk: list[Task[Any]] = []
    with stopping():
        for event in events:
            if isinstance(event, Task):
                chunk.append(event)
                if len(chunk) >= pool.chunk:
                    submit(chunk)
                    chunk = []
            else:
                other(event)
            if flying:
                collect(block=len(flying) >= limit)
        if chunk:
            submit(chunk)
        while flying:
            collect(block=True)


def _each(result: list[Outcome] | BaseException, tasks: list[Task[Any]]) -> list[Outcome]:
    """A chunk's outcomes; where the chunk as a whole failed (its results could not be sent
    back), that error is each task's outcome: one chunk must not stop the run."""
    if isinstance(result, BaseException):
        return [result] * len(tasks)
    return result


# -- stopping -------------------------------------------------------------------------------

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def stopping() -> Iterator[None]:
    """SIGTERM (``kill PID``) stops the block as Ctrl-C does: KeyboardInterrupt, so that the
    run keeps what it finished and says so (main thread only; elsewhere a no-op)."""
    if not _main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored in the block: what it starts inherits that."""
    if not _main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        _put_back(previous)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back until the block is done, then act on them (main thread
    only; elsewhere a no-op): a write in progress is finished first."""
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    if not _main_thread() or any(h is None for h in previous.values()):
        yield  # a handler not set from Python cannot be put back: leave it alone
        return
    received: list[int] = []
    try:
        for s in STOP_SIGNALS:
            signal.signal(s, lambda signum, _frame: received.append(signum))
    except (ValueError, OSError):  # no signals here (e.g. an embedded interpreter)
        for s, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(s, handler)
        yield
        return
    try:
        yield
    finally:
        _put_back(previous)
        for signum in received[:1]:
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                if signum == signal.SIGINT:
                    raise KeyboardInterrupt
                signal.raise_signal(signum)


def _put_back(handlers: Mapping[signal.Signals, Any]) -> None:
    """Set the handlers of Ctrl-C and SIGTERM back; the second even when a signal arriving
    for the first, set back already, interrupts (a handler left behind would swallow every
    later one). Flat, not a loop: no point where a signal is acted on comes in between."""
    try:
        signal.signal(signal.SIGINT, handlers[signal.SIGINT])
    finally:
        signal.signal(signal.SIGTERM, handlers[signal.SIGTERM])


def lock(fd: int, name: object, hint: str = "") -> None:
    """Make this the one run that writes ``name`` (open as ``fd``) until ``fd`` is closed:
    UnspinError when another run holds it. The lock ends with the process, however that
    ends; readers are never blocked."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UnspinError(
            f"{name} is being written by another unspin run: wait for it to finish{hint}."
        ) from None
