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
from ..model.heads import paragraph_features, sigmoid
from ..model.runtime import OnnxModel
from ..model.windows import token_paragraphs
from ..taxonomy import FRAME_NAMES, GENRE_NAMES, TECHNIQUE_NAMES
from .data import LabeledArticle

C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)


def features(
    model: OnnxModel, articles: list[LabeledArticle], progress=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Article means [A, H]; labelled paragraphs' features [P, 2H+T] and gold labels [P, T],
    computed exactly as the runtime computes them."""
    t_index = {n: i for i, n in enumerate(TECHNIQUE_NAMES)}
    means, pfeats, pgold = [], [], []
    w = model.heads.w
    for a in articles:
        enc, hidden = model.hidden(a.text)
        means.append(hidden.mean(0) if len(hidden) else np.zeros(hidden.shape[1], dtype=np.float32))
        if a.paragraph_labels and len(hidden):
            tp = token_paragraphs(enc.offsets, [(s, e) for _, s, e in a.lines])
            probs = sigmoid(hidden @ w["token_w"].T + w["token_b"])
            feats = paragraph_features(hidden, probs, tp, len(a.lines))
            for i, (line, _, _) in enumerate(a.lines):
                if line in a.paragraph_labels:
                    pfeats.append(feats[i])
                    g = np.zeros(len(TECHNIQUE_NAMES), dtype=np.float32)
                    g[[t_index[n] for n in a.paragraph_labels[line]]] = 1
                    pgold.append(g)
        if progress:
            progress()
    return np.stack(means), np.stack(pfeats), np.stack(pgold)


def _micro_f1_tuned(probs: np.ndarray, gold: np.ndarray) -> float:
    """Micro-F1 with each class at its own best threshold (as calibration will do)."""
    pred = np.zeros_like(gold, dtype=bool)
    for j in range(gold.shape[1]):
        best, best_th = -1.0, 0.5
        for th in np.arange(0.05, 0.96, 0.05):
            p = probs[:, j] >= th
            f = 2 * (p & (gold[:, j] > 0)).sum() / max(p.sum() + gold[:, j].sum(), 1)
            if f > best:
                best, best_th = f, th
        pred[:, j] = probs[:, j] >= best_th
    g = gold > 0
    tp = (pred & g).sum()
    return float(2 * tp / max(pred.sum() + g.sum(), 1))


def _fit_genre(x: np.ndarray, y: np.ndarray, c: float) -> LogisticRegression:
    # Balanced classes: the head must not lean on the training prior (mostly opinion).
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)


def _fit_ovr(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest logistic regressions as one linear layer (also used for paragraphs)."""
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
    feats, paras = {}, {}
    for name in ("train", "tune"):
        n = len(parts[name])
        done = [0]

        def tick(name: str = name, n: int = n, done: list[int] = done) -> None:
            done[0] += 1
            print(f"\r  features ({name}): {done[0]}/{n}", end="", file=sys.stderr, flush=True)
        feats[name], *paras[name] = features(model, parts[name], tick)
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
        return float(np.mean([_frames_f1(*_fit_ovr(xf[a], yf[a], c), xf[b], yf[b]) for a, b in folds]))
    c_best = max(C_GRID, key=cv_frames)
    fw, fb = _fit_ovr(xf, yf, c_best)
    fu = [(i, a) for i, a in enumerate(parts["tune"]) if a.frames is not None]
    xfu = feats["tune"][[i for i, _ in fu]]
    yfu = np.array([[f in a.frames for f in FRAME_NAMES] for _, a in fu], dtype=float)
    old, new = _frames_f1(heads["frame_w"], heads["frame_b"], xfu, yfu), _frames_f1(fw, fb, xfu, yfu)
    log(f"frame head: joint {old:.3f} vs refit {new:.3f} micro-F1 on tune at the best shared threshold (C={c_best})")
    if new >= old:
        heads["frame_w"], heads["frame_b"] = fw, fb
        decisions["frames"] = f"refit (C={c_best})"
    # paragraph techniques: one LR per technique; C chosen on tune, where thresholds live too
    (xp, yp), (xpu, ypu) = paras["train"], paras["tune"]
    old = _micro_f1_tuned(sigmoid(xpu @ heads["paragraph_w"].T + heads["paragraph_b"]), ypu)
    best_c, best_f, best_wb = None, old, None
    for c in (0.1, 0.3, 1.0):
        pw, pb = _fit_ovr(xp, yp, c)
        f = _micro_f1_tuned(sigmoid(xpu @ pw.T + pb), ypu)
        log(f"paragraph head: refit C={c}: {f:.3f} micro-F1 on tune (joint head {old:.3f})")
        if f > best_f:
            best_c, best_f, best_wb = c, f, (pw, pb)
    if best_wb is not None:
        heads["paragraph_w"], heads["paragraph_b"] = best_wb
        decisions["paragraph"] = f"refit (C={best_c})"
    np.savez(model_dir / "heads.npz", **heads)
    return decisions
