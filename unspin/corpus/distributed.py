"""Beyond one machine: the per-article analysis on a Dask cluster, over shards.

Each shard (a JSON Lines or Parquet file of articles, columns as for ``corpus add``) is one
Dask task. The task reads its rows with the same reader as ``corpus add``, analyses each
article with the same :func:`~unspin.corpus.records.analyze_article`, through the same loop
(:func:`unspin.pool.run_tasks`, in the task's process; the model loaded once per worker
process), and writes one Parquet file of results, under a temporary name then
renamed. Shards whose result already exists are not sent again, so a run that was stopped
goes on where it was. ``unspin corpus import DB RESULTS/*.parquet`` loads the results into
a corpus database; DuckDB can also query them directly.

Why Dask (``dask[distributed]``): it is pure Python and small (a few MB), starts a local
cluster in seconds with no daemon, and the same code runs on a real cluster by passing a
scheduler address. Ray Data would do too, but its wheel alone is about 80 MB and it needs
pandas and a running Ray runtime. Needs ``pip install 'unspin[corpus-distributed]'``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import DEFAULT_SETTINGS, Settings
from ..errors import InputError
from ..pool import InProcess, Task, run_tasks, signals_ignored
from .records import CorpusArticle, Findings, analyze_article, corpus_model, per_hour
from .sources import TABLE_SUFFIXES, Failure, Metadata, Skipped, iter_articles
from .tables import result_row, result_schema

__all__ = ["ShardsResult", "analyse_shard", "analyse_shards", "result_name"]


@dataclass
class ShardsResult:
    written: list[str] = field(default_factory=list)  # result files written by this run
    kept: list[str] = field(default_factory=list)  # results already there: shard not sent
    analysed: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return per_hour(self.analysed, self.seconds)

    def summary(self) -> str:
        return (
            f"{len(self.written)} shards analysed ({self.analysed} articles, {self.failed} "
            f"failed; {self.rate:,.0f} articles/hour), {len(self.kept)} already done"
        )


def result_name(shard: str | os.PathLike[str]) -> str:
    """The result file of a shard: its name and a hash of its full path (shards in
    different folders may share a name)."""
    path = Path(shard).resolve()
    return f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:10]}.parquet"


def analyse_shard(
    shard: str, out_dir: str, settings: Settings, meta: Metadata
) -> tuple[str, int, int]:
    """One Dask task: analyse every article of ``shard`` into ``out_dir``; (result, ok, failed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []

    def done(task: Task[CorpusArticle], outcome: Findings | Exception) -> None:
        if isinstance(outcome, Findings):
            rows.append(result_row(task.payload, outcome))
        else:  # recorded like corpus add does; one article never stops a shard
            rows.append(result_row(task.payload, None, f"{type(outcome).__name__}: {outcome}"))

    def other(event: Failure | Skipped) -> None:
        if isinstance(event, Failure):
            rows.append(result_row(CorpusArticle(content_hash="", text="", source=event.source), None, event.error))

    events = (
        Task(e) if isinstance(e, CorpusArticle) else e
        for e in iter_articles([shard], settings=settings, meta=meta)
    )
    run_tasks(events, InProcess(analyze_article, lambda: corpus_model(settings)), done, other)
    target = Path(out_dir) / result_name(shard)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=result_schema()), tmp)
    os.replace(tmp, target)
    failed = sum(row["error"] is not None for row in rows)
    return str(target), len(rows) - failed, failed


def analyse_shards(
    shards: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    workers: int = 2,
    settings: Settings = DEFAULT_SETTINGS,
    meta: Metadata | None = None,
) -> ShardsResult:
    """Analyse ``shards`` on a Dask cluster: the one at ``scheduler`` ("tcp://host:8786"),
    or a local one with ``workers`` single-threaded worker processes."""
    try:
        import dask.bag as db
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            "The distributed path needs Dask: pip install 'unspin[corpus-distributed]'."
        ) from None
    meta = meta or Metadata()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = ShardsResult()
    todo = []
    for shard in shards:
        if Path(shard).suffix.lower() not in TABLE_SUFFIXES or not Path(shard).is_file():
            raise InputError(f"{shard} is not a shard: use JSON Lines or Parquet files of articles.")
        if (out / result_name(shard)).exists():
            result.kept.append(str(out / result_name(shard)))
        else:
            todo.append(str(shard))
    if not todo:
        return result
    started = time.monotonic()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    if scheduler is None:
        # its worker processes start with Ctrl-C ignored: a terminal sends it to the whole
        # process group, and this process alone acts on it (it closes the cluster). Their
        # logs are silenced: a worker still busy when Ctrl-C closes the scheduler logs its
        # lost heartbeat as an error with a traceback; a shard that fails raises here anyway
        with signals_ignored():
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.CRITICAL,
            )  # fmt: skip
    # stopped by Ctrl-C, the client's own pending tasks each log "Task exception was never
    # retrieved" with a traceback while it closes: noise, as distributed's own messages are
    asyncio_log = logging.getLogger("asyncio")
    asyncio_level = asyncio_log.level
    asyncio_log.setLevel(logging.CRITICAL)
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            bag = db.from_sequence(todo, npartitions=len(todo)).map(
                analyse_shard, out_dir=str(out), settings=settings, meta=meta
            )
            for path, ok, failed in bag.compute(scheduler=client.get):
                result.written.append(path)
                result.analysed += ok
                result.failed += failed
    finally:
        if cluster is not None:
            cluster.close()
        asyncio_log.setLevel(asyncio_level)
    result.seconds = time.monotonic() - started
    return result
