"""Corpus speed: `unspin corpus add` against the model's own throughput, the distributed path
on a local 2-worker Dask cluster, and queries and the dashboard over 100,000 stored articles.

    python benchmarks/corpus.py [--articles 400] [--stored 100000] [--workers 2]

* corpus add: the real command (a new process, start-up included) on ``--articles``
  distinct 800-word articles in a JSON Lines file, on ``--workers`` processes;
* the model's own throughput, the ceiling: the same articles analysed by the same number of
  worker processes, each with the model already loaded, with no reading or writing;
* the distributed path: the same articles in 4 shards, ``unspin corpus shards`` on a local
  Dask cluster of ``--workers`` single-threaded worker processes (cluster start included);
* queries and the dashboard: a database of ``--stored`` synthetic analysed articles (20
  outlets, 24 months, about 10 detections each, 10 topics), then `unspin corpus query --by
  outlet` (a new process, start-up included) and `unspin corpus report`, both timed whole.

Prints one line per measure with its wall-clock time and the CPU time it used, and the
machine's load average: on a busy machine wall-clock times grow with the load, and CPU time
(all processes of the command added up, divided by the cores for throughput) says what the
same work takes on idle cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.articles import article_800_words  # noqa: E402
from unspin.config import DEFAULT_SETTINGS  # noqa: E402
from unspin.corpus.records import CorpusArticle, analyze_article, corpus_model  # noqa: E402
from unspin.corpus.store import Store  # noqa: E402
from unspin.ingest import from_text  # noqa: E402
from unspin.taxonomy import FRAME_NAMES, GENRE_NAMES, TECHNIQUE_NAMES  # noqa: E402


def articles(n: int) -> list[str]:
    """``n`` distinct 800-word articles: the benchmark article, each with its own last line."""
    base = article_800_words()
    return [f"{base}\n\nFiled as story number {i} of this benchmark." for i in range(n)]


def _cpu() -> float:
    """CPU seconds of every finished child process and its own children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(*args: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `unspin corpus` command in a new process."""
    started, cpu = time.perf_counter(), _cpu()
    subprocess.run([sys.executable, "-m", "unspin.cli", "corpus", *args], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - started, _cpu() - cpu


def _analyse(texts: list[str]) -> tuple[int, float]:
    model = corpus_model(DEFAULT_SETTINGS)
    cpu = time.process_time()
    for text in texts:
        article = from_text(text)
        analyze_article(CorpusArticle.from_article(article, source="bench"), model)
    return len(texts), time.process_time() - cpu


def model_throughput(texts: list[str], workers: int) -> tuple[float, float]:
    """Articles/hour of the model alone on ``workers`` processes, model already loaded:
    (measured, and from CPU time as on ``workers`` idle cores)."""
    # as corpus add starts its workers: one thread for each math library in each process
    one = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    saved = dict(os.environ)
    os.environ.update(one)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        list(pool.map(_analyse, [texts[:1]] * workers))  # start them, loading the model
        os.environ.clear()
        os.environ.update(saved)
        chunks = [texts[i::workers] for i in range(workers)]
        started = time.perf_counter()
        results = list(pool.map(_analyse, chunks))
        wall = time.perf_counter() - started
    done, cpu = sum(r[0] for r in results), sum(r[1] for r in results)
    return done / wall * 3600, done / (cpu / workers) * 3600


def synthetic_store(path: Path, n: int, seed: int = 0) -> None:
    """``n`` analysed articles with random outlets, dates, detections, genres, frames and
    topics, written straight into a corpus database (no model involved)."""
    rng = np.random.default_rng(seed)
    outlets = [f"Outlet {i:02d}" for i in range(20)]
    months = [f"{2023 + m // 12}-{1 + m % 12:02d}" for m in range(24)]
    now = "2026-01-01T00:00:00+00:00"
    with Store(path) as store, store.transaction() as db:
        rows, spans, genres, frames, topics = [], [], [], [], []
        for i in range(1, n + 1):
            month = months[int(rng.integers(24))]
            day = f"{month}-{1 + int(rng.integers(28)):02d}"
            words = int(rng.integers(400, 1200))
            rows.append((i, f"h{i}", f"Synthetic article {i}.", f"Article {i}", None,
                         outlets[int(rng.integers(20))], None, day, month, day, "en", words,
                         "bench", "text", None, now))  # fmt: skip
            k = int(rng.poisson(words / 80))
            for t in rng.integers(0, len(TECHNIQUE_NAMES), k):
                spans.append((i, TECHNIQUE_NAMES[int(t)], 0, 10, 0.7, 0))
            genres.append((i, "m", "1.0", GENRE_NAMES[int(rng.integers(len(GENRE_NAMES)))], k, now))
            for f in rng.choice(len(FRAME_NAMES), 3, replace=False):
                frames.append((i, FRAME_NAMES[int(f)], 0.8, 1))
            topics.append((i, 1 + int(rng.integers(10))))
        db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany('INSERT INTO spans (article_id, technique, start, "end", score, paragraph) VALUES (?, ?, ?, ?, ?, ?)', spans)
        db.executemany("INSERT INTO analyses VALUES (?, ?, ?, ?, ?, ?)", genres)
        db.executemany("INSERT INTO frame_scores VALUES (?, ?, ?, ?)", frames)
        db.executemany("INSERT INTO topics (id, kind, name, words) VALUES (?, 'cluster', ?, '')",
                       [(t, f"{t}: topic") for t in range(1, 11)])  # fmt: skip
        db.executemany("INSERT INTO article_topics VALUES (?, ?)", topics)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=400)
    ap.add_argument("--stored", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    texts = articles(args.articles)
    words = np.mean([len(t.split()) for t in texts])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "articles.jsonl"
        source.write_text("".join(json.dumps({"text": t, "outlet": "Bench"}) + "\n" for t in texts))
        wall, _cpu_lost = _cli("add", str(root / "c.db"), str(source), "--workers", str(args.workers))
        add_rate = args.articles / wall * 3600  # (its workers' CPU time is not counted: they
        # are children of a fork server, which the command does not wait for)
        print(f"corpus add: {args.articles} articles of {words:.0f} words in {wall:.1f} s "
              f"= {add_rate:,.0f} articles/hour ({args.workers} workers, start-up included)")
        ceiling, ceiling_idle = model_throughput(texts, args.workers)
        print(f"model alone: {ceiling:,.0f} articles/hour ({args.workers} processes, model loaded; "
              f"corpus add reaches {add_rate / ceiling:.0%} of it); {ceiling_idle:,.0f} on "
              f"{args.workers} idle cores, by CPU time")

        shards = []
        for i in range(4):
            shard = root / f"shard-{i}.jsonl"
            shard.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts[i::4]))
            shards.append(str(shard))
        wall, cpu = _cli("shards", *shards, "-o", str(root / "results"), "--workers", str(args.workers))
        print(f"distributed (Dask, local cluster of {args.workers} workers): {args.articles} articles "
              f"in {wall:.1f} s = {args.articles / wall * 3600:,.0f} articles/hour (cluster start-up "
              f"included); {cpu:.1f} CPU s = {args.articles / (cpu / args.workers) * 3600:,.0f} "
              f"on {args.workers} idle cores; beside {add_rate:,.0f} for corpus add")
        wall, cpu = _cli("import", str(root / "d.db"), *map(str, sorted((root / "results").iterdir())))
        print(f"corpus import of the results: {wall:.1f} s ({cpu:.1f} CPU s)")

        big = root / "big.db"
        started = time.perf_counter()
        synthetic_store(big, args.stored)
        print(f"synthetic store: {args.stored:,} articles in {time.perf_counter() - started:.1f} s")
        for technique in ([], ["--technique", "Loaded_Language"]):
            wall, cpu = _cli("query", str(big), "--by", "outlet", *technique, "-f", "csv")
            what = technique[1] if technique else "all techniques"
            print(f"query --by outlet ({what}) over {args.stored:,} articles: {wall:.2f} s, "
                  f"{cpu:.2f} CPU s (a new process, 1,000 bootstrap resamples)")
        wall, cpu = _cli("report", str(big), "-o", str(root / "dashboard.html"))
        size = (root / "dashboard.html").stat().st_size
        print(f"dashboard over {args.stored:,} articles: {wall:.1f} s, {cpu:.1f} CPU s (a new "
              f"process; {size / 1e6:.1f} MB, 20 reports beside it)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
