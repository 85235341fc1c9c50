"""What each training source adds: the heads refitted on the English articles alone, and on
the English and the translated ones together.

    python benchmarks/sources.py [--cache FILE]

The encoder stays the shipped one (fine-tuned on both sources), so this measures what the
translated data adds to the heads that read it: the paragraph head (both views, fitted as
``unspin/train/refit.py`` fits them), the genre head and the text view of the frames. Each is
fitted on the training split, its thresholds chosen on the tuning split, and scored on the
validation split: its English articles, and all of it. Needs the ``train`` extra and the data
in ../shared; ``--cache`` keeps the pooled features (about 4 minutes to compute) between runs.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accuracy import DEFAULT_DATA as DATA  # noqa: E402  (the data paths, shared)
from accuracy import TRANSLATED  # noqa: E402

from unspin.evaluation import best_threshold, macro_f1_single  # noqa: E402
from unspin.model.heads import sigmoid  # noqa: E402
from unspin.model.runtime import OnnxModel  # noqa: E402
from unspin.model.text_features import TextFeatures, Tfidf  # noqa: E402
from unspin.taxonomy import FRAME_NAMES, GENRE_NAMES  # noqa: E402
from unspin.train.data import DataReport, split  # noqa: E402

try:
    from unspin.train.loop import TrainConfig, load_all
    from unspin.train.refit import (
        WORDS_MAX_TERMS,
        Pooled,
        fit_genre,
        fit_ovr,
        fit_styled,
        fit_words,
        paragraph_rows,
        pool,
    )
except ImportError as err:  # torch, scikit-learn or scipy
    sys.exit(f"benchmarks/sources.py refits heads and needs the train extra (pip install '.[train]'): {err}")

GRID = np.arange(0.05, 0.96, 0.05)
# The shipped refit's choices, so both sources are fitted alike.
PARAGRAPH_L2, WORDS_C, WORDS_SHARE, GENRE_C, FRAMES_C = 300.0, 4.0, 0.5, 0.1, 10.0
SOURCES = {"English only": lambda p: not p.translated, "English + translated": lambda p: True}


def pooled_splits(cache: Path | None) -> dict[str, list[Pooled]]:
    if cache and cache.exists():
        with cache.open("rb") as f:
            return pickle.load(f)
    cfg = TrainConfig(data_dir=str(DATA), translated_dir=str(TRANSLATED))
    parts = split(load_all(cfg, DataReport()), seed=cfg.seed)
    model = OnnxModel(ROOT / "unspin" / "model" / "default")
    out: dict[str, list[Pooled]] = {}
    for name in ("train", "tune", "val"):
        out[name] = []
        for i, a in enumerate(parts[name], 1):
            out[name].append(pool(model, a))
            print(f"\r  pooling {name}: {i}/{len(parts[name])}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    if cache:
        with cache.open("wb") as f:
            pickle.dump(out, f)
    return out


def micro(pred: np.ndarray, gold: np.ndarray) -> float:
    return float(2 * (pred & gold).sum() / max(pred.sum() + gold.sum(), 1))


def per_class(probs: np.ndarray, gold: np.ndarray) -> np.ndarray:
    return np.array([best_threshold(probs[:, j], gold[:, j], GRID, default=0.5)[0] for j in range(gold.shape[1])])


def paragraphs(train: list[Pooled], tune: list[Pooled], val: list[Pooled]) -> dict[str, float]:
    """ST3 micro-F1 of the paragraph head (encoder and words views averaged)."""
    (x, y, mt, texts), (xu, yu, mtu, tu), (xv, yv, mtv, tv) = map(paragraph_rows, (train, tune, val))
    w, b, d = fit_styled(x, y, mt, PARAGRAPH_L2)
    tfidf = Tfidf.fit(texts, min_df=2, max_terms=WORDS_MAX_TERMS, ngrams=2)
    ww, wb, wd = fit_words(tfidf.matrix(texts), y, mt, WORDS_C)
    yu, yv = yu > 0, yv > 0

    def probs(xs: np.ndarray, m: np.ndarray, ts: list[str]) -> np.ndarray:
        encoder = xs @ w.T + b + m[:, None] * d
        words = np.asarray(tfidf.matrix(ts) @ ww.T) + wb + m[:, None] * wd
        return sigmoid((1 - WORDS_SHARE) * encoder + WORDS_SHARE * words)
    th = per_class(probs(xu, mtu, tu), yu)
    pred = probs(xv, mtv, tv) >= th
    en = mtv == 0
    return {"ST3 English": micro(pred[en], yv[en]), "ST3 all": micro(pred, yv)}


def articles(train: list[Pooled], tune: list[Pooled], val: list[Pooled]) -> dict[str, float]:
    """ST1 macro-F1 of the genre head and ST2 micro-F1 of the frames' text view."""
    text = TextFeatures.fit([p.article.text for p in train], [len(p.article.lines) for p in train])

    def x(ps: list[Pooled]) -> np.ndarray:
        return np.stack([text(p.article.text, len(p.article.lines)) for p in ps])
    out: dict[str, float] = {}
    with_genre = [[p for p in ps if p.article.genre] for ps in (train, val)]
    gw, gb = fit_genre(x(with_genre[0]), np.array([GENRE_NAMES.index(p.article.genre) for p in with_genre[0]]),
                       GENRE_C)
    for name, keep in (("English", lambda p: not p.translated), ("all", lambda p: True)):
        rows = [p for p in with_genre[1] if keep(p)]
        out[f"ST1 {name}"] = macro_f1_single((x(rows) @ gw.T + gb).argmax(1).tolist(),
                                             [GENRE_NAMES.index(p.article.genre) for p in rows],
                                             list(range(len(GENRE_NAMES))))
    framed = [[p for p in ps if p.article.frames is not None] for ps in (train, tune, val)]
    gold = [np.array([[f in (p.article.frames or []) for f in FRAME_NAMES] for p in ps]) for ps in framed]
    fw, fb = fit_ovr(x(framed[0]), gold[0].astype(np.float32), FRAMES_C)
    th = best_threshold(sigmoid(x(framed[1]) @ fw.T + fb), gold[1], GRID, default=0.5)[0]
    pred = sigmoid(x(framed[2]) @ fw.T + fb) >= th
    en = np.array([not p.translated for p in framed[2]])
    out["ST2 English"], out["ST2 all"] = micro(pred[en], gold[2][en]), micro(pred, gold[2])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, help="a pickle of the pooled features, read if present, else written")
    args = ap.parse_args()
    if not DATA.is_dir() or not TRANSLATED.is_dir():
        sys.exit(f"needs the SemEval data in {DATA.parent.parent} and {TRANSLATED}")
    data = pooled_splits(args.cache)
    val_en = sum(1 for p in data["val"] if not p.translated)
    print(f"validation: {len(data['val'])} articles ({val_en} English); thresholds from {len(data['tune'])} "
          "tuning articles; the shipped encoder throughout")
    columns = ["ST1 English", "ST1 all", "ST2 English", "ST2 all", "ST3 English", "ST3 all"]
    print(f"{'heads fitted on':<24}{'articles':>10}" + "".join(f"{c:>13}" for c in columns))
    for name, keep in SOURCES.items():
        train = [p for p in data["train"] if keep(p)]
        scores = {**articles(train, data["tune"], data["val"]), **paragraphs(train, data["tune"], data["val"])}
        print(f"{name:<24}{len(train):>10}" + "".join(f"{scores[c]:>13.3f}" for c in columns), flush=True)


if __name__ == "__main__":
    main()
