"""The one loop over many articles (unspin.pool): results as they finish, a worker process
that dies on one article costs that article only, and Ctrl-C at any moment leaves workers
that stop at once."""

from __future__ import annotations

import concurrent.futures
import gc
import multiprocessing
import multiprocessing.queues
import os
import queue
import signal
import struct
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import unspin.pool as pool_module
from unspin.config import Settings
from unspin.errors import UnspinError
from unspin.pool import BROKE, InProcess, Task, Workers, run_tasks

TraceFunction = Any  # sys.settrace's callable, which typeshed leaves untyped


def _double_or_die(x: int, _model: object) -> int:
    if x == 13:
        os._exit(1)  # as the kernel's OOM killer would end it
    if x == 7:
        raise ValueError("seven")
    return 2 * x


def _collect(pool: InProcess | Workers, events: list[object]) -> tuple[dict[int, object], list[object]]:
    results: dict[int, object] = {}
    others: list[object] = []
    run_tasks(events, pool, lambda task, outcome: results.__setitem__(task.payload, outcome), others.append)
    return results, others


def test_in_process_keeps_input_order_and_hands_back_errors() -> None:
    order: list[object] = []
    pool = InProcess(_double_or_die, lambda: None)
    run_tasks([Task(1), "a", Task(7), Task(2), "b"], pool, lambda t, o: order.append(o), order.append)
    assert order[0] == 2 and order[1] == "a" and isinstance(order[2], ValueError)
    assert order[3:] == [4, "b"]


def test_a_worker_that_dies_on_one_article_costs_that_article_only() -> None:
    pool = Workers(2, _double_or_die, Settings())
    try:
        results, others = _collect(pool, [Task(x) for x in range(1, 31)] + ["end"])
    finally:
        pool.close()
    assert others == ["end"]
    assert sorted(results) == list(range(1, 31))
    assert isinstance(results[13], UnspinError) and str(results[13]) == BROKE
    assert isinstance(results[7], ValueError)
    assert all(results[x] == 2 * x for x in range(1, 31) if x not in (7, 13))


def test_a_chunk_sent_after_a_worker_died_is_answered_as_broken_not_raised() -> None:
    pool = Workers(1, _double_or_die, Settings())
    answers: queue.SimpleQueue[object] = queue.SimpleQueue()
    try:
        pool.submit([13], answers.put)
        assert isinstance(answers.get(timeout=60), BrokenProcessPool)
        pool.submit([1], answers.put)  # to the broken pool: its answer, not an exception
        assert isinstance(answers.get(timeout=60), BrokenProcessPool)
    finally:
        pool.close(now=True)


def _half_a_result_then_wait(_payload: object, _model: object) -> None:
    """As a worker killed while it sends back a large result leaves the pipe: a message
    that announces 1 MB, and only its first bytes (this worker's own result queue is the
    one SimpleQueue in it)."""
    (results,) = [o for o in gc.get_objects() if type(o) is multiprocessing.queues.SimpleQueue]
    results._writer._send(struct.pack("!i", 1_000_000) + b"half")
    time.sleep(600)


def test_workers_stopped_while_one_sends_a_result_stop_at_once() -> None:
    """The executor's thread had read the announced length and waited forever for the rest
    (this process held the pipe's write end open too), so stopping the workers hung."""
    pool = Workers(1, _half_a_result_then_wait, Settings())
    pool.submit([1], lambda _result: None)
    time.sleep(2)  # the worker has written its half message, and the executor read its start
    closer = threading.Thread(target=pool.close, kwargs={"now": True}, daemon=True)
    closer.start()
    closer.join(timeout=30)
    assert not closer.is_alive(), "stopping the workers hangs"


def _slow_double(x: int, _model: object) -> int:
    time.sleep(0.002)
    return 2 * x


# Where Ctrl-C can land while the loop runs: the loop itself and the standard library's
# machinery under it (futures, locks, queues, the worker pool's bookkeeping).
_WATCHED = (
    os.path.dirname(concurrent.futures.__file__), os.path.dirname(multiprocessing.__file__),
    threading.__file__, queue.__file__, pool_module.__file__,
)  # fmt: skip


def _ctrl_c_at(line: int, after: int, landed: list[str], results: list[int]) -> TraceFunction:
    """A trace function that sends this process SIGINT, as Ctrl-C in a terminal does, at
    the ``line``-th line run in the watched files once ``after`` results are in."""
    seen = 0

    def trace(frame: FrameType, event: str, _arg: object) -> TraceFunction | None:
        nonlocal seen
        if not frame.f_code.co_filename.startswith(_WATCHED):
            return None
        if event == "line" and results[0] >= after:
            seen += 1
            if seen == line:
                landed.append(_stack(frame, 8))
                signal.raise_signal(signal.SIGINT)
        return trace

    return trace


def _frames(frame: FrameType | None) -> Iterator[FrameType]:
    while frame is not None:
        yield frame
        frame = frame.f_back


def _stack(frame: FrameType, depth: int) -> str:
    """Where ``frame`` is, and its ``depth - 1`` callers: "file:line function <- ..."."""
    return " <- ".join(f"{Path(f.f_code.co_filename).name}:{f.f_lineno} {f.f_code.co_name}"
                       for f in islice(_frames(frame), depth))  # fmt: skip


@pytest.mark.parametrize("line", range(1, 400, 7))  # a result takes some 46 lines
def test_ctrl_c_at_any_line_of_the_loop_leaves_workers_that_stop_at_once(line: int) -> None:
    """A CI run hung so once: Ctrl-C landed inside concurrent.futures.wait while it held a
    future's lock, and stopping the workers then waited forever for that lock."""
    pool = Workers(2, _slow_double, Settings())
    results, landed = [0], []

    def done(_task: Task[int], _outcome: object) -> None:
        results[0] += 1

    tasks = (Task(x) for x in range(5_000))
    interrupted = False
    # the earlier pools' garbage collected now: a finalizer run by the collector in the
    # loop would swallow the Ctrl-C (Python ignores exceptions raised in finalizers)
    gc.collect()
    gc.disable()
    sys.settrace(_ctrl_c_at(line, 8, landed, results))
    try:
        run_tasks(tasks, pool, done, lambda _event: None)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        sys.settrace(None)
        gc.enable()
        closer = threading.Thread(target=pool.close, kwargs={"now": True}, daemon=True)
        closer.start()
        closer.join(timeout=30)
    assert landed, "the loop ended before Ctrl-C"
    assert interrupted, f"Ctrl-C at {landed[0]} did not stop the loop"
    if closer.is_alive():
        threads = {t.ident: t.name for t in threading.enumerate()}
        stacks = "\n".join(f"{threads.get(ident, ident)}: {_stack(top, 6)}"
                           for ident, top in sys._current_frames().items())  # fmt: skip
        pytest.fail(f"stopping the workers hangs after Ctrl-C at {landed[0]}; threads:\n{stacks}")
