"""Does `unspin corpus` flag only real differences, and does it find real ones?

    python benchmarks/corpus_stats.py [--articles 300] [--trials 200] [--cache FILE]

The corpora are built from real analysed articles: ``--articles`` English training
articles of SemEval-2023 Task 3 (``../shared/data``), analysed once by the shipped model
through the corpus path (``analyze_article``), their words and detections per technique
cached in ``--cache`` (outside git; delete it after a model change). Then, with no more
analysis:

* **null corpora**: each article gets one of 5 invented outlets and one of 12 months at
  random, so every true difference is zero. For ``--by outlet`` (each outlet against the
  rest, Benjamini-Hochberg over the outlets of one query) and ``--by month`` (the trend,
  one test per query), for all techniques and each technique, it counts the flagged
  cells: the false-positive rate per view, and how many of the 48 queries flag anything.
  Also the dashboard's heatmap view (5 outlets x 24 measures, BH over all 120 cells).
* **the persuasive outlet**: one outlet made of the 40 articles with the most detections
  per 1,000 words, the other articles spread over 4 outlets: is it flagged, higher, and by
  how much?
* **speed** (``--speed N``): ``unspin corpus query`` and ``corpus report`` as new processes
  over N synthetic stored articles (``benchmarks/corpus.py``'s store, labelled as analysed by
  the shipped model, so the corrected rates are computed too).
* **a real corpus database** (``--db DB``): the 48 queries (``--by outlet`` and ``--by month``,
  all techniques and each technique) through ``unspin.corpus.query.breakdown``, the function
  ``unspin corpus query`` runs, with every flagged cell printed; ``--plant`` first copies
  the database and makes one outlet of the 40 articles with the most detections per 1,000
  words (the others over 4 outlets at random).
* **power**: one outlet of ``n`` random articles whose detections are multiplied by a
  factor (each detection kept and, for a factor of 1.5, duplicated with probability 0.5:
  the articles' own unevenness stays), the rest over 4 outlets: the share of trials in which
  that outlet is flagged higher, per factor and group size, for all techniques and for
  Loaded_Language.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from unspin.corpus.records import CorpusArticle, analyze_article, load_model  # noqa: E402
from unspin.corpus.stats import (  # noqa: E402
    ALPHA,
    MIN_ARTICLES,
    bootstrap_groups,
    trend_test,
)
from unspin.ingest import from_text  # noqa: E402
from unspin.taxonomy import TECHNIQUE_NAMES  # noqa: E402
from unspin.train.data import load_dir, split  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "semeval2023task3" / "data" / "en"
CACHE = ROOT.parent / "cache" / "corpus_stats.npz"
OUTLETS, MONTHS = 5, 12


def analysed(n: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Words [N] and detections per technique [N, T] of ``n`` English training articles."""
    if cache.exists():
        data = np.load(cache)
        if len(data["words"]) >= n:
            return data["words"][:n], data["counts"][:n]
    if not DATA.is_dir():
        sys.exit(f"The training data is not at {DATA}.")
    pool = [a for a in split(load_dir(DATA))["train"] if a.source == "en"]
    rng = np.random.default_rng(7)
    chosen = [pool[i] for i in rng.permutation(len(pool))[:n]]
    model = load_model()
    column = {t: j for j, t in enumerate(TECHNIQUE_NAMES)}
    words = np.zeros(len(chosen))
    counts = np.zeros((len(chosen), len(TECHNIQUE_NAMES)))
    t0 = time.time()
    for i, a in enumerate(chosen):
        article = CorpusArticle.from_article(from_text(a.text, id=a.id), source=a.id)
        words[i] = article.words
        for technique, *_ in analyze_article(article, model).spans:
            counts[i, column[technique]] += 1
        print(f"\r  analysed {i + 1}/{len(chosen)} ({time.time() - t0:.0f} s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, words=words, counts=counts)
    return words, counts


def measures(counts: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """"all techniques" and each technique: (name, counts [N])."""
    return [("all techniques", counts.sum(axis=1))] + [(t, counts[:, j]) for j, t in enumerate(TECHNIQUE_NAMES)]


def members_of(labels: np.ndarray, k: int) -> list[np.ndarray]:
    return [np.flatnonzero(labels == g) for g in range(k)]


def outlet_query(counts: np.ndarray, words: np.ndarray, labels: np.ndarray, k: int, seed: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The flags of one view, as ``corpus query --by outlet`` (and the dashboard) decide them
    (permutation test, BH over the view's cells, the ratio's interval agreeing): [G, M] of
    "higher", "lower" or "", and which cells were tested."""
    members = members_of(labels, k)
    s = bootstrap_groups(counts, words, members, [str(g) for g in range(k)], seed=seed)
    s.test(counts, words, members, seed=seed)
    assert s.p_value is not None
    flags = np.array([[s.flag(i, j) for j in range(s.rate.shape[1])] for i in range(k)])
    return flags, ~np.isnan(s.p_value)


def null_corpora(words: np.ndarray, counts: np.ndarray, trials: int) -> None:
    n = len(words)
    cols = measures(counts)
    print(f"\nnull corpora: {n} articles, {OUTLETS} outlets and {MONTHS} months at random, {trials} trials "
          f"(false discovery rate {ALPHA} per view, no claim below {MIN_ARTICLES} articles)")
    flagged = {"outlet": [], "month": [], "heatmap": []}
    tested = {"outlet": 0, "month": 0, "heatmap": 0}
    any_flag = {"outlet": 0, "month": 0, "heatmap": 0}
    per_trial = []
    for trial in range(trials):
        rng = np.random.default_rng(1000 + trial)
        outlet = rng.integers(OUTLETS, size=n)
        years = rng.integers(MONTHS, size=n) / 12.0
        total = 0
        for _name, column in cols:
            flags, ok = outlet_query(column, words, outlet, OUTLETS, trial)
            hits = int((flags != "").sum())
            flagged["outlet"].append(hits)
            tested["outlet"] += int(ok.sum())
            any_flag["outlet"] += hits > 0
            p = trend_test(column[:, None], words, years, seed=trial)[0]
            hit = bool(p <= ALPHA)
            flagged["month"].append(int(hit))
            tested["month"] += int(not np.isnan(p))
            any_flag["month"] += hit
            total += hits + hit
        per_trial.append(total)
        print(f"\r  {trial + 1}/{trials} null corpora", end="", file=sys.stderr, flush=True)
        heat = np.stack([c for _, c in cols], axis=1)
        flags, ok = outlet_query(heat, words, outlet, OUTLETS, trial)
        flagged["heatmap"].append(int((flags != "").sum()))
        tested["heatmap"] += int(ok.sum())
        any_flag["heatmap"] += bool((flags != "").any())
    print(file=sys.stderr)
    queries = len(cols) * trials
    for view, cells in (("--by outlet (5 cells a query)", "outlet"), ("--by month (the trend, 1 cell a query)", "month")):
        print(f"  {view}: false-positive rate {sum(flagged[cells]) / max(tested[cells], 1):.4f} per cell "
              f"({sum(flagged[cells])} of {tested[cells]}); queries flagging anything: "
              f"{any_flag[cells] / queries:.4f} (nominal {ALPHA})")
    print(f"  dashboard heatmap (5 outlets x 24 measures, one view): false-positive rate "
          f"{sum(flagged['heatmap']) / max(tested['heatmap'], 1):.4f} per cell; views flagging anything: "
          f"{any_flag['heatmap'] / trials:.4f} (nominal {ALPHA})")
    counts_ = np.array(per_trial)
    print(f"  cells flagged across the 48 queries of one null corpus (--by outlet and --by month, all "
          f"techniques and each): first corpus {counts_[0]}, mean {counts_.mean():.2f}, max {counts_.max()}, "
          f"corpora with more than 6: {(counts_ > 6).sum()} of {trials}")


def persuasive_outlet(words: np.ndarray, counts: np.ndarray, top: int = 40) -> None:
    n = len(words)
    total = counts.sum(axis=1)
    rate = np.where(words >= 150, total / np.maximum(words, 1), -1)
    chosen = np.argsort(-rate, kind="stable")[:top]
    rng = np.random.default_rng(3)
    outlet = rng.integers(1, OUTLETS, size=n)
    outlet[chosen] = 0
    members = members_of(outlet, OUTLETS)
    names = ["Persuasive Post"] + [f"Outlet {g}" for g in range(1, OUTLETS)]
    print(f"\nthe persuasive outlet: the {top} articles with the most detections per 1,000 words as one "
          f"outlet, the other {n - top} over {OUTLETS - 1} outlets at random")
    for name, column in measures(counts)[:1] + [m for m in measures(counts) if m[0] == "Loaded_Language"]:
        s = bootstrap_groups(column, words, members, names, seed=0).test(column, words, members)
        for g in range(OUTLETS):
            flag = s.flag(g, 0) or "not shown to differ"
            assert s.ratio is not None and s.ratio_low is not None and s.ratio_high is not None
            assert s.q_value is not None
            print(f"  {name}: {names[g]}: {s.ratio[g, 0]:.2f} times the rest (95% CI {s.ratio_low[g, 0]:.2f}-"
                  f"{s.ratio_high[g, 0]:.2f}; {s.articles[g]} articles; q = {s.q_value[g, 0]:.4f}): {flag}")


def scale(column: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Each detection kept floor(factor) times, plus once more with probability frac(factor)."""
    whole = np.floor(factor)
    return column * whole + rng.binomial(column.astype(np.int64), factor - whole)


def power(words: np.ndarray, counts: np.ndarray, trials: int) -> None:
    n = len(words)
    sizes, factors = (20, 40, 80), (1.25, 1.5, 2.0, 3.0)
    print(f"\npower: one outlet of n random articles with its detections multiplied by a factor, the rest over "
          f"{OUTLETS - 1} outlets; share of {trials} trials flagging it higher (as corpus query does)")
    for name, column in (m for m in measures(counts) if m[0] in ("all techniques", "Loaded_Language")):
        print(f"  {name}:")
        print("    " + "factor".ljust(8) + "".join(f"n = {k}".rjust(10) for k in sizes))
        for factor in factors:
            row = []
            for size in sizes:
                hits = 0
                for trial in range(trials):
                    rng = np.random.default_rng(trial)
                    outlet = rng.integers(1, OUTLETS, size=n)
                    planted = rng.choice(n, size, replace=False)
                    outlet[planted] = 0
                    c = column.copy()
                    c[planted] = scale(column[planted], factor, rng)
                    flags, _ok = outlet_query(c, words, outlet, OUTLETS, trial)
                    hits += bool(flags[0, 0] == "higher")
                row.append(hits / trials)
            print("    " + f"x{factor:g}".ljust(8) + "".join(f"{v:10.2f}" for v in row))


def speed(n: int) -> None:
    import json
    import subprocess
    import tempfile

    from benchmarks.corpus import synthetic_store
    from unspin.corpus.store import Store
    from unspin.model import DEFAULT_DIR

    meta = json.loads((DEFAULT_DIR / "model.json").read_text("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "big.db"
        synthetic_store(db, n)
        with Store(db) as store, store.transaction() as con:
            con.execute("UPDATE analyses SET model_id = ?, model_version = ?", (meta["id"], meta["version"]))
        runs = [("query --by outlet", ["query", str(db), "--by", "outlet", "-f", "csv"]),
                ("query --by outlet --technique Loaded_Language",
                 ["query", str(db), "--by", "outlet", "--technique", "Loaded_Language", "-f", "csv"]),
                ("query --by month", ["query", str(db), "--by", "month", "-f", "csv"]),
                ("report", ["report", str(db), "-o", str(Path(tmp) / "d.html")])]  # fmt: skip
        print(f"\nspeed over {n:,} stored articles (load average {os.getloadavg()[0]:.1f}):")
        for name, args in runs:
            t0, cpu0 = time.perf_counter(), _cpu()
            subprocess.run([sys.executable, "-m", "unspin.cli", "corpus", *args], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)  # fmt: skip
            print(f"  corpus {name}: {time.perf_counter() - t0:.2f} s, {_cpu() - cpu0:.2f} CPU s (a new process)")


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def database(db: Path, plant: bool) -> None:
    import shutil
    import tempfile

    from unspin.corpus.correction import load_quality
    from unspin.corpus.query import breakdown
    from unspin.corpus.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        if plant:
            copy = Path(tmp) / "planted.db"
            shutil.copy(db, copy)
            db = copy
            with open_store(db) as store, store.transaction() as con:
                rows = store.rows("SELECT a.id, a.words, an.detections FROM articles a JOIN analyses an "
                                  "ON an.article_id = a.id ORDER BY a.id")  # fmt: skip
                rate = [(d / w if w >= 150 else -1.0, i) for i, w, d in rows]
                top = {i for _, i in sorted(rate, key=lambda x: (-x[0], x[1]))[:40]}
                rng = np.random.default_rng(3)
                for i, _w, _d in rows:
                    outlet = "Persuasive Post" if i in top else f"Outlet {int(rng.integers(1, OUTLETS))}"
                    con.execute("UPDATE articles SET outlet = ? WHERE id = ?", (outlet, i))
        quality = load_quality(None)
        flagged = 0
        with open_store(db) as store:
            n = store.status(None).articles
            for technique in [None, *TECHNIQUE_NAMES]:
                for by in ("outlet", "month"):
                    result = breakdown(store, by, technique=technique, quality=quality)
                    if by == "month":
                        trend_ = result.summary()["trend"]
                        if trend_["different"]:
                            flagged += 1
                            print(f"  flagged: {trend_['finding']}")
                        continue
                    for row in result.rows():
                        if row["different"]:
                            flagged += 1
                            print(f"  flagged: {row['finding']}")
                        elif plant and technique is None and row["group"] == "Persuasive Post":
                            print(f"  not flagged: {row['finding']}")
        print(f"{db.name}: {n} articles; cells flagged over the 48 queries: {flagged}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--trials", type=int, default=200, help="null corpora (and trials per power cell)")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--analyse-only", action="store_true", help="build the cache and stop")
    ap.add_argument("--speed", type=int, metavar="N", help="only time query and report over N stored articles")
    ap.add_argument("--db", type=Path, help="only run the 48 queries on this corpus database")
    ap.add_argument("--plant", action="store_true", help="with --db: the persuasive outlet planted in a copy")
    args = ap.parse_args()
    if args.db:
        database(args.db, args.plant)
        return
    if args.speed:
        speed(args.speed)
        return
    t0 = time.time()
    words, counts = analysed(args.articles, args.cache)
    print(f"{len(words)} analysed English training articles: {int(words.sum())} words, "
          f"{int(counts.sum())} detections, {(counts.sum(axis=1) == 0).sum()} articles with none; "
          f"techniques detected: {(counts.sum(axis=0) > 0).sum()} of {len(TECHNIQUE_NAMES)}")
    if args.analyse_only:
        return
    null_corpora(words, counts, args.trials)
    persuasive_outlet(words, counts)
    power(words, counts, args.trials)
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
