"""The one loop over many articles (unspin.pool): results as they finish, and a worker
process that dies on one article costs that article only."""

from __future__ import annotations

import os

from unspin.config import Settings
from unspin.errors import UnspinError
from unspin.pool import BROKE, InProcess, Task, Workers, run_tasks


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
