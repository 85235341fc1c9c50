"""Refit the heads that pool over whole paragraphs and articles.

During fine-tuning these heads see one window at a time; at inference they pool over a
whole paragraph or article. Refitting them by regularised logistic regression on exactly
the inference-time features (computed with the shipped int8 encoder) removes that
mismatch, and lets the article heads also read how much persuasion the article holds.
Each result is still one linear layer, so the shipped format does not change.

Choices are made on the training and tuning splits only; the validation split is never
read here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from ..evaluation import best_threshold, macro_f1_single
from ..model.heads import article_features, paragraph_features, sigmoid
from ..model.runtime import OnnxModel
from ..model.windows import token_paragraphs
from ..taxonomy import FRAME_NAMES, GENRE_NAMES, TECHNIQUE_NAMES
from .data import LabeledArticle

C_GRID = (0.03, 0.1, 0.3, 1.0)
PARAGRAPH_C_GRID = (0.1, 0.3)  # 20,000 paragraphs x 23 classes: each fit costs minutes
ARTICLE_INPUTS = ("mean", "mean+rates")


@dataclass
class Pooled:
    """One article's inference-time pooled features."""

    hidden: np.ndarray  # [N, H], kept only while features are built
    token_probs: np.ndarray  # [N, T]
    paragraphs: np.ndarray  # [P, 2H+T], every line of the article
    labelled: list[tuple[int, np.ndarray]]  # (paragraph index, gold [T]) for labelled lines


def pool(model: OnnxModel, a: LabeledArticle) -> Pooled:
    t_index = {n: i for i, n in enumerate(TECHNIQUE_NAMES)}
    enc, hidden = model.hidden(a.text)
    w = model.heads.w
    probs = sigmoid(hidden @ w["token_w"].T + w["token_b"])
    tp = token_paragraphs(enc.offsets, [(s, e) for _, s, e in a.lines])
    paras = paragraph_features(hidden, probs, tp, len(a.lines))
    labelled = []
    for i, (line, _, _) in enumerate(a.lines):
        if line in a.paragraph_labels:
            g = np.zeros(len(TECHNIQUE_NAMES), dtype=np.float32)
            g[[t_index[n] for n in a.paragraph_labels[line]]] = 1
            labelled.append((i, g))
    return Pooled(hidden, probs, paras, labelled)


def fit_ovr(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest logistic regressions as one linear layer."""
    w = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
    b = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            m = LogisticRegression(C=c, max_iter=3000).fit(x, y[:, j])
            w[j], b[j] = m.coef_[0], m.intercept_[0]
        else:
            b[j] = 10.0 if y[:, j].mean() > 0.5 else -10.0
    return w, b


def fit_genre(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    # Balanced classes: the head must not lean on the training prior (mostly opinion).
    m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)
    w = np.zeros((len(GENRE_NAMES), x.shape[1]), dtype=np.float32)
    b = np.full(len(GENRE_NAMES), -10.0, dtype=np.float32)  # a class never seen: never chosen
    if len(m.classes_) == 2:
        w[m.classes_[1]], b[m.classes_[1]] = m.coef_[0], m.intercept_[0]
        b[m.classes_[0]] = 0.0
    else:
        w[m.classes_], b[m.classes_] = m.coef_, m.intercept_
    return w, b


def tuned_micro_f1(probs: np.ndarray, gold: np.ndarray, per_class: bool = True) -> float:
    """Micro-F1 with each class (or all classes together) at its best threshold, as
    calibration will do."""
    grid = np.arange(0.05, 0.96, 0.05)
    g = gold > 0
    if not per_class:
        return best_threshold(probs, g, grid)[1]
    pred = np.zeros_like(g)
    for j in range(g.shape[1]):
        pred[:, j] = probs[:, j] >= best_threshold(probs[:, j], g[:, j], grid)[0]
    return float(2 * (pred & g).sum() / max(pred.sum() + g.sum(), 1))


def _progress(name: str, n: int):
    done = [0]

    def tick() -> None:
        done[0] += 1
        print(f"\r  pooling ({name}): {done[0]}/{n}", end="" if done[0] < n else "\n",
              file=sys.stderr, flush=True)
    return tick


def refit(model_dir: Path, parts: dict[str, list[LabeledArticle]], log=print) -> dict[str, str]:
    """Refit the paragraph, genre and frame heads in ``model_dir/heads.npz``."""
    model = OnnxModel(model_dir)
    heads: dict[str, np.ndarray] = dict(model.heads.w)
    pooled: dict[str, list[Pooled]] = {}
    for name in ("train", "tune"):
        tick = _progress(name, len(parts[name]))
        pooled[name] = []
        for a in parts[name]:
            pooled[name].append(pool(model, a))
            tick()
    decisions: dict[str, str] = {}

    # 1. Paragraph techniques: C chosen on tune, where their thresholds are tuned too.
    def para_xy(ps: list[Pooled]) -> tuple[np.ndarray, np.ndarray]:
        rows = [(p.paragraphs[i], g) for p in ps for i, g in p.labelled]
        return np.stack([x for x, _ in rows]), np.stack([g for _, g in rows])
    (xp, yp), (xpu, ypu) = para_xy(pooled["train"]), para_xy(pooled["tune"])
    best_f = tuned_micro_f1(sigmoid(xpu @ heads["paragraph_w"].T + heads["paragraph_b"]), ypu)
    log(f"paragraph head: joint {best_f:.3f} micro-F1 on tune")
    for c in PARAGRAPH_C_GRID:
        pw, pb = fit_ovr(xp, yp, c)
        f = tuned_micro_f1(sigmoid(xpu @ pw.T + pb), ypu)
        log(f"paragraph head: refit C={c}: {f:.3f}")
        if f > best_f:
            best_f, heads["paragraph_w"], heads["paragraph_b"] = f, pw, pb
            decisions["paragraph"] = f"refit, C={c}"

    # 2. Article features, with the final paragraph head.
    def art_x(ps: list[Pooled], kind: str) -> np.ndarray:
        return np.stack([
            article_features(p.hidden, p.token_probs,
                             sigmoid(p.paragraphs @ heads["paragraph_w"].T + heads["paragraph_b"]), kind)
            for p in ps])
    x = {(s, k): art_x(pooled[s], k) for s in ("train", "tune") for k in ARTICLE_INPUTS}

    # 3. Genre: the jointly trained head or a logistic regression fitted on train, whichever
    #    scores best on tune. The encoder has seen the training articles' genres, so a fit on
    #    their features can overrate itself; tune is the only honest judge. Calibration then
    #    fits the temperature and the news-mix prior on tune.
    def genre_xy(split: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
        idx = [i for i, a in enumerate(parts[split]) if a.genre]
        y = np.array([GENRE_NAMES.index(parts[split][i].genre) for i in idx])  # type: ignore[arg-type]
        return x[split, kind][idx], y

    labels = list(range(len(GENRE_NAMES)))
    xu, yu = genre_xy("tune", "mean")
    best_f = macro_f1_single((xu @ heads["genre_w"].T + heads["genre_b"]).argmax(1).tolist(), yu.tolist(), labels)
    log(f"genre head: joint {best_f:.3f} macro-F1 on tune")
    for kind in ARTICLE_INPUTS:
        xg, yg = genre_xy("train", kind)
        xu, yu = genre_xy("tune", kind)
        for c in C_GRID:
            gw, gb = fit_genre(xg, yg, c)
            f = macro_f1_single((xu @ gw.T + gb).argmax(1).tolist(), yu.tolist(), labels)
            log(f"genre head: refit {kind}, C={c}: {f:.3f} macro-F1 on tune")
            if f > best_f:
                best_f, heads["genre_w"], heads["genre_b"] = f, gw, gb
                heads["genre_input"] = np.array(kind)
                decisions["genre"] = f"refit on train, {kind}, C={c}"

    # 4. Frames: fit on train, compare with the joint head on tune.
    def frame_xy(split: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
        idx = [i for i, a in enumerate(parts[split]) if a.frames is not None]
        gold = np.array([[f in (parts[split][i].frames or []) for f in FRAME_NAMES] for i in idx], float)
        return x[split, kind][idx], gold
    xfu, yfu = frame_xy("tune", "mean")
    best_f = tuned_micro_f1(sigmoid(xfu @ heads["frame_w"].T + heads["frame_b"]), yfu, per_class=False)
    log(f"frame head: joint {best_f:.3f} micro-F1 on tune")
    for kind in ARTICLE_INPUTS:
        xf, yf = frame_xy("train", kind)
        xfu, yfu = frame_xy("tune", kind)
        for c in C_GRID:
            fw, fb = fit_ovr(xf, yf, c)
            f = tuned_micro_f1(sigmoid(xfu @ fw.T + fb), yfu, per_class=False)
            log(f"frame head: refit {kind}, C={c}: {f:.3f}")
            if f > best_f:
                best_f, heads["frame_w"], heads["frame_b"] = f, fw, fb
                heads["frame_input"] = np.array(kind)
                decisions["frames"] = f"refit, {kind}, C={c}"
    np.savez(model_dir / "heads.npz", **heads)
    return decisions
