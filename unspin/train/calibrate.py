"""Calibration and per-class thresholds, fitted on the *tuning* split with the shipped
(int8 ONNX) runtime, so the numbers match what users run.

Temperatures: one per head, minimising log-loss. Thresholds: per class, maximising F1 on
the tuning split; classes with too little support there fall back to one shared threshold
chosen for micro-F1 over all classes, so rare techniques are not tuned on noise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evaluation import SpanCounts, best_threshold
from ..model.decode import decode_spans
from ..model.heads import HeadOutputs, sigmoid, softmax
from ..model.runtime import OnnxModel
from ..model.windows import Encoded
from ..taxonomy import FRAME_NAMES, GENRE_NAMES, TECHNIQUE_NAMES
from .data import LabeledArticle

GRID = np.round(np.arange(0.05, 0.96, 0.025), 3)
MIN_SUPPORT = 4


@dataclass
class Raw:
    article: LabeledArticle
    encoded: Encoded
    token_para: np.ndarray
    out: HeadOutputs


def raw_outputs(model: OnnxModel, articles: list[LabeledArticle], progress=None) -> list[Raw]:
    result = []
    for a in articles:
        enc, tp, out = model.logits(a.text, [(s, e) for _, s, e in a.lines])
        result.append(Raw(a, enc, tp, out))
        if progress:
            progress()
    return result


def _fit_temperature(logits: np.ndarray, targets: np.ndarray, kind: str) -> float:
    best, best_t = np.inf, 1.0
    for t in np.arange(0.2, 4.01, 0.1):
        if kind == "softmax":
            p = softmax(logits / t)[np.arange(len(targets)), targets]
            loss = -np.log(np.clip(p, 1e-9, 1)).mean()
        else:
            p = np.clip(sigmoid(logits / t), 1e-9, 1 - 1e-9)
            loss = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).mean()
        if loss < best:
            best, best_t = loss, float(t)
    return round(best_t, 2)


def _best_threshold(probs: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    return best_threshold(probs, gold, GRID, default=0.5)


def _label_thresholds(probs: np.ndarray, gold: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    shared, _ = _best_threshold(probs.ravel(), gold.ravel())
    out = {}
    for i, name in enumerate(names):
        if gold[:, i].sum() >= MIN_SUPPORT:
            th, _ = _best_threshold(probs[:, i], gold[:, i])
            out[name] = round((th + shared) / 2, 3)  # shrink towards the shared threshold
        else:
            out[name] = round(shared, 3)
    return out


GAPS = (0, 2, 5, 10)


def _span_thresholds(raws: list[Raw], token_t: float) -> tuple[dict[str, float], dict[str, int]]:
    """Per technique: the threshold and gap-bridging length that maximise span F1 on tune."""
    probs = [sigmoid(r.out.token / token_t) for r in raws]
    gold = [list(r.article.spans) for r in raws]
    names = TECHNIQUE_NAMES

    def score(ths: np.ndarray, gaps: np.ndarray, only: str | None = None) -> float:
        c = SpanCounts()
        for r, p, g in zip(raws, probs, gold, strict=True):
            pred = decode_spans(p, r.encoded.offsets, r.encoded.word_ids, r.token_para, ths, names,
                                r.article.text, gaps)
            c.add([(s.technique, s.start, s.end) for s in pred if only in (None, s.technique)],
                  [x for x in g if only in (None, x[0])])
        return c.f1

    coarse = np.round(np.arange(0.05, 0.91, 0.05), 2)
    no_gaps = np.zeros(len(names), dtype=int)
    shared = float(max(coarse, key=lambda th: score(np.full(len(names), th), no_gaps)))
    thresholds, gaps = {}, {}
    support = {n: sum(1 for g in gold for s in g if s[0] == n) for n in names}
    for i, name in enumerate(names):
        thresholds[name], gaps[name] = round(shared, 3), 0
        if support[name] < MIN_SUPPORT * 2:
            continue
        best, best_f = (shared, 0), -1.0
        for gap in GAPS:
            for th in coarse:
                ths = np.full(len(names), 2.0)  # only technique i is decoded
                ths[i] = th
                g = np.zeros(len(names), dtype=int)
                g[i] = gap
                f = score(ths, g, only=name)
                if f > best_f:
                    best_f, best = f, (float(th), gap)
        thresholds[name] = round((best[0] + shared) / 2, 3)  # shrink towards the shared one
        gaps[name] = best[1]
    return thresholds, gaps


def write_base_meta(model_dir: Path, *, model_id: str, version: str) -> dict:
    """``model.json`` without calibration: enough to load the model."""
    meta = {
        "id": model_id, "version": version, "encoder": "encoder.onnx",
        "techniques": list(TECHNIQUE_NAMES), "frames": list(FRAME_NAMES), "genres": list(GENRE_NAMES),
        "window": {"tokens": 254, "stride": 192},
    }
    (model_dir / "model.json").write_text(json.dumps(meta))
    return meta


def calibrate(model_dir: Path, tune: list[LabeledArticle], *, model_id: str, version: str, progress=None,
              genre_held_out: bool = True) -> dict:
    """Fit temperatures and thresholds on ``tune``; write and return ``model.json``.
    ``genre_held_out=False``: the genre head was fitted on ``tune`` too, so its temperature
    cannot be fitted there and stays 1."""
    meta_path = model_dir / "model.json"
    meta = write_base_meta(model_dir, model_id=model_id, version=version)
    model = OnnxModel(model_dir)
    all_raws = raw_outputs(model, tune, progress)
    raws = [r for r in all_raws if r.article.annotated]
    t_idx = {n: i for i, n in enumerate(TECHNIQUE_NAMES)}
    # token head
    tok_logits = np.concatenate([r.out.token for r in raws])
    tok_gold = np.concatenate([_token_gold(r) for r in raws])
    # paragraph head
    par_logits, par_gold = [], []
    for r in raws:
        for i, (line, _, _) in enumerate(r.article.lines):
            if line in r.article.paragraph_labels:
                par_logits.append(r.out.paragraph[i])
                g = np.zeros(len(TECHNIQUE_NAMES))
                for name in r.article.paragraph_labels[line]:
                    g[t_idx[name]] = 1
                par_gold.append(g)
    pl, pg = np.stack(par_logits), np.stack(par_gold)
    fr = [(r.out.frames, r.article.frames) for r in all_raws if r.article.frames is not None]
    fl = np.stack([f for f, _ in fr])
    fg = np.stack([[1.0 if n in gold else 0.0 for n in FRAME_NAMES] for _, gold in fr])
    ge = [(r.out.genre, GENRE_NAMES.index(r.article.genre)) for r in all_raws if r.article.genre]
    temperature = {
        "token": _fit_temperature(tok_logits[::4], tok_gold[::4], "sigmoid"),
        "paragraph": _fit_temperature(pl, pg, "sigmoid"),
        "frames": _fit_temperature(fl, fg, "sigmoid"),
        "genre": _fit_temperature(np.stack([g for g, _ in ge]), np.array([y for _, y in ge]), "softmax")
        if genre_held_out else 1.0,
    }
    thresholds = {
        "paragraph": _label_thresholds(sigmoid(pl / temperature["paragraph"]), pg > 0, TECHNIQUE_NAMES),
        "frames": _label_thresholds(sigmoid(fl / temperature["frames"]), fg > 0, FRAME_NAMES),
    }
    thresholds["span"], thresholds["span_gap"] = _span_thresholds(raws, temperature["token"])
    meta.update(temperature=temperature, thresholds=thresholds, tuned_on=f"{len(tune)} tuning articles")
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def _token_gold(r: Raw) -> np.ndarray:
    from .windows_data import token_targets

    return token_targets(r.encoded.offsets, r.article.spans)
