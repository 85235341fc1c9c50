"""A newsroom calibrating unspin on its own labels, simulated on held-out news.

    python benchmarks/calibrate.py [--draws 20] [--sizes 5,10,20,30] [--cache FILE]

The held-out slice is the validation split of ``unspin.train.data.split`` (80 articles shaped
like the news users bring: mostly reporting), read as English news, as two newsrooms that
each label in one style: its 23 English articles (spans; the four techniques the English
annotation lacks not judged) and its 57 translated articles (paragraph labels of all 23
techniques, denser, like newer English annotation). For each size k, ``--draws`` times:
``unspin calibrate`` on k random articles of one newsroom (``unspin.calibrate.fit``), then
its other articles are scored with the base model and with the calibrated one. Prints mean and worst
over the draws of ST3 micro-F1 (paragraph techniques; on English articles the four techniques
their annotation lacks are not judged) and span F1 (English articles), beside the base model
and the trivial baseline (every paragraph: Loaded_Language).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from unspin.calibrate import Labelled, Prepared, decide, fit, prepare  # noqa: E402
from unspin.evaluation import span_f1  # noqa: E402
from unspin.model.runtime import OnnxModel  # noqa: E402
from unspin.taxonomy import TECHNIQUE_NAMES  # noqa: E402
from unspin.train.confidence import DATA, shared_splits, to_article  # noqa: E402
from unspin.train.data import NOT_IN_ENGLISH, LabeledArticle  # noqa: E402


def labelled(a: LabeledArticle) -> Labelled:
    article = to_article(a)
    lines = [p.line for p in article.paragraphs]
    judged_en = set(TECHNIQUE_NAMES) - set(NOT_IN_ENGLISH)
    return Labelled(
        article,
        gold=[set(a.paragraph_labels.get(line, [])) for line in lines],
        judged=[(judged_en if a.source == "en" else None) if line in a.paragraph_labels else set()
                for line in lines],
        spans=list(a.spans) if a.source == "en" and a.annotated else None,
    )


def score(model: OnnxModel, raws: list[Prepared], thresholds: np.ndarray) -> tuple[float, float]:
    """ST3 micro-F1 over the judged cells, span F1 over the articles with spans."""
    tp = fp = fn = 0
    pred, gold = [], []
    for r in raws:
        on, spans = decide(model, r, thresholds)
        k = r.known
        tp += int((on & r.truth & k).sum())
        fp += int((on & ~r.truth & k).sum())
        fn += int((~on & r.truth & k).sum())
        if r.labelled.spans is not None:
            pred.append([(s.technique, s.start, s.end) for s in spans
                         if s.technique not in NOT_IN_ENGLISH])
            gold.append(r.labelled.spans)
    st3 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return st3, (span_f1(pred, gold).f1 if pred else float("nan"))


def trivial(raws: list[Prepared]) -> float:
    """ST3 micro-F1 of "every paragraph: Loaded_Language"."""
    t = TECHNIQUE_NAMES.index("Loaded_Language")
    tp = sum(int((r.truth[:, t] & r.known[:, t]).sum()) for r in raws)
    fp = sum(int((~r.truth[:, t] & r.known[:, t]).sum()) for r in raws)
    fn = sum(int((r.truth & r.known).sum()) for r in raws) - tp
    return 2 * tp / (2 * tp + fp + fn)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "unspin" / "model" / "default")
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--sizes", default="5,10,15,20,30")
    ap.add_argument("--cache", type=Path, help="keep the model's raw outputs here between runs")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"The SemEval data is not at {DATA}.")
    model = OnnxModel(args.model)
    if args.cache and args.cache.exists():
        raws = pickle.loads(args.cache.read_bytes())
    else:
        parts = shared_splits()
        t0 = time.time()
        raws = prepare(model, [labelled(a) for a in parts["val"]],
                       lambda i, n: print(f"\r  base model: {i}/{n} articles", end="", file=sys.stderr))
        print(f"\n  {time.time() - t0:.0f} s", file=sys.stderr)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(raws))
    base = model.paragraph_thresholds
    st3, span = score(model, raws, base)
    print(f"validation split: {len(raws)} articles ({sum(r.labelled.spans is not None for r in raws)} with spans)")
    print(f"base model {model.id} {model.version}, all articles: ST3 {st3:.3f}, span F1 {span:.3f}; "
          f"every paragraph Loaded_Language: ST3 {trivial(raws):.3f}")
    # A newsroom labels in one style: the English annotation (sparse, with spans) and the
    # translated articles' (denser, all 23 techniques, closer to newer English annotation)
    # are simulated apart.
    newsrooms = {
        "English articles (spans)": [r for r in raws if r.labelled.spans is not None],
        "translated articles read as English": [r for r in raws if r.labelled.spans is None],
    }
    rng = np.random.default_rng(0)
    for name, pool in newsrooms.items():
        print(f"\n{name}: {len(pool)} articles; base ST3 {score(model, pool, base)[0]:.3f}, "
              f"every paragraph Loaded_Language {trivial(pool):.3f}")
        print(" k  draws | ST3 base  calibrated (mean, worst)  gain (mean, worst) | "
              "span base  calibrated (mean, worst) | moved")
        for k in (int(x) for x in args.sizes.split(",")):
            if k > len(pool) - 5:
                continue
            rows = []
            for _ in range(args.draws):
                pick = set(rng.choice(len(pool), size=k, replace=False).tolist())
                cal = [r for i, r in enumerate(pool) if i in pick]
                rest = [r for i, r in enumerate(pool) if i not in pick]
                outcome = fit(model, cal)
                th = np.array([outcome.thresholds[t] for t in model.techniques])
                moved = outcome.shrink > 0 or outcome.scale != 1.0
                rows.append((*score(model, rest, base), *score(model, rest, th), moved))
            a = np.array(rows, dtype=float)
            gain = a[:, 2] - a[:, 0]
            spans = (f"{np.nanmean(a[:, 1]):9.3f}  {np.nanmean(a[:, 3]):10.3f} {np.nanmin(a[:, 3]):7.3f}"
                     if not np.isnan(a[:, 1]).all() else f"{'-':>9}  {'-':>10} {'-':>7}")
            print(f"{k:>2} {len(a):>6} | {a[:, 0].mean():8.3f}  {a[:, 2].mean():10.3f} {a[:, 2].min():7.3f}"
                  f"       {gain.mean():+7.3f} {gain.min():+7.3f}  | {spans}        | {a[:, 4].mean():.0%}",
                  flush=True)

if __name__ == "__main__":
    main()
