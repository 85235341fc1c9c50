"""Refit the article-level heads (genre, frames) on whole-article features.

During fine-tuning these heads see one window at a time with the article's label; at
inference they see the mean over the whole article. Refitting them by regularised
logistic regression on exactly the inference-time feature (the article mean of the
fine-tuned encoder's output, computed with the shipped int8 encoder) removes that
mismatch. The result is still one linear layer, so the shipped format does not change.
The regularisation strength is chosen by cross-validation on the training split only;
the refit is kept only if it beats the jointly trained head on the tuning split.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from ..evaluation import macro_f1_single, multilabel_f1
from ..model.heads import sigmoid
from ..model.runtime import OnnxModel
from ..taxonomy import FRAME_NAMES, GENRE_NAMES
from .data import LabeledArticle

C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)


def article_features(model: OnnxModel, articles: list[LabeledArticle], progress=None) -> np.ndarray:
    rows = []
    for a in articles:
        _, hidden = model.hidden(a.text)
        rows.append(hidden.mean(0) if len(hidden) else np.zeros(hidden.shape[1], dtype=np.float32))
        if progress:
            progress()
    return np.stack(rows)


def _fit_genre(x: np.ndarray, y: np.ndarray, c: float) -> LogisticRegression:
    # Balanced classes: the head must not lean on the training prior (mostly opinion).
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)


def _fit_frames(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    w = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
    b = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            m = LogisticRegression(C=c, max_iter=3000).fit(x, y[:, j])
            w[j], b[j] = m.coef_[0], m.intercept_[0]
        else:
            b[j] = 10.0 if y[:, j].mean() > 0.5 else -10.0
    return w, b


def _frames_f1(w: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    p = sigmoid(x @ w.T + b)
    best = 0.0
    for th in np.arange(0.1, 0.9, 0.05):
        pred = [[FRAME_NAMES[j] for j in np.flatnonzero(r >= th)] for r in p]
        gold = [[FRAME_NAMES[j] for j in np.flatnonzero(r)] for r in y]
        best = max(best, multilabel_f1(pred, gold, FRAME_NAMES)["micro_f1"])
    return best


def refit(model_dir: Path, parts: dict[str, list[LabeledArticle]], log=print) -> dict[str, str]:
    """Refit genre and frame heads in ``model_dir/heads.npz`` when that helps on tune."""
    model = OnnxModel(model_dir)
    feats = {}
    for name in ("train", "tune"):
        n = len(parts[name])
        done = [0]

        def tick(name: str = name, n: int = n, done: list[int] = done) -> None:
            done[0] += 1
            print(f"\r  features ({name}): {done[0]}/{n}", end="", file=sys.stderr, flush=True)
        feats[name] = article_features(model, parts[name], tick)
        print(file=sys.stderr)
    heads = dict(model.heads.w)
    decisions = {}
    # genre
    tr = [(i, GENRE_NAMES.index(a.genre)) for i, a in enumerate(parts["train"]) if a.genre]
    xt, yt = feats["train"][[i for i, _ in tr]], np.array([y for _, y in tr])
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)

    def cv_genre(c: float) -> float:
        pred = np.zeros_like(yt)
        for a, b in cv.split(xt, yt):
            pred[b] = _fit_genre(xt[a], yt[a], c).predict(xt[b])
        return macro_f1_single(pred.tolist(), yt.tolist(), list(range(len(GENRE_NAMES))))
    c_best = max(C_GRID, key=cv_genre)
    clf = _fit_genre(xt, yt, c_best)
    gw = np.zeros_like(heads["genre_w"])
    gb = np.zeros_like(heads["genre_b"])
    gw[clf.classes_], gb[clf.classes_] = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # binary LR: one row; mirror it
        gw[clf.classes_[1]], gb[clf.classes_[1]] = clf.coef_[0], clf.intercept_[0]
        gw[clf.classes_[0]], gb[clf.classes_[0]] = 0, 0
    tu = [(i, GENRE_NAMES.index(a.genre)) for i, a in enumerate(parts["tune"]) if a.genre]
    xu, yu = feats["tune"][[i for i, _ in tu]], [y for _, y in tu]

    def tune_genre(w: np.ndarray, b: np.ndarray) -> float:
        return macro_f1_single((xu @ w.T + b).argmax(1).tolist(), yu, list(range(len(GENRE_NAMES))))
    old, new = tune_genre(heads["genre_w"], heads["genre_b"]), tune_genre(gw, gb)
    log(f"genre head: joint {old:.3f} vs refit {new:.3f} macro-F1 on tune (C={c_best})")
    if new >= old:
        heads["genre_w"], heads["genre_b"] = gw, gb
        decisions["genre"] = f"refit (C={c_best})"
    # frames
    fr = [(i, a) for i, a in enumerate(parts["train"]) if a.frames is not None]
    xf = feats["train"][[i for i, _ in fr]]
    yf = np.array([[f in a.frames for f in FRAME_NAMES] for _, a in fr], dtype=float)
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(xf, yf.sum(1) > 4))

    def cv_frames(c: float) -> float:
        return float(np.mean([_frames_f1(*_fit_frames(xf[a], yf[a], c), xf[b], yf[b]) for a, b in folds]))
    c_best = max(C_GRID, key=cv_frames)
    fw, fb = _fit_frames(xf, yf, c_best)
    fu = [(i, a) for i, a in enumerate(parts["tune"]) if a.frames is not None]
    xfu = feats["tune"][[i for i, _ in fu]]
    yfu = np.array([[f in a.frames for f in FRAME_NAMES] for _, a in fu], dtype=float)
    old, new = _frames_f1(heads["frame_w"], heads["frame_b"], xfu, yfu), _frames_f1(fw, fb, xfu, yfu)
    log(f"frame head: joint {old:.3f} vs refit {new:.3f} micro-F1 on tune at the best shared threshold (C={c_best})")
    if new >= old:
        heads["frame_w"], heads["frame_b"] = fw, fb
        decisions["frames"] = f"refit (C={c_best})"
    np.savez(model_dir / "heads.npz", **heads)
    return decisions
