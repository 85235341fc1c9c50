"""Give a model a span head: the token head, with some techniques' rows taken from a head
fitted on the projected translated spans (``unspin.train.token_refit``), and only those
techniques' span settings tuned again.

The paragraph head keeps reading the token head it was fitted on (``heads.HeadStream``), so
a replaced row moves only where that technique's highlights fall and which sure words may
add its label. Calibrating the whole model again instead moves every technique's
thresholds with the tuning split's noise (measured: the shared span threshold 0.5 -> 0.8,
validation span F1 0.179 -> 0.164); here the rest of ``model.json`` is kept as it is.

For each replaced technique the English annotation marks: its span threshold and gap, then
its word-evidence threshold and share, each chosen on the tuning split by span F1 plus
paragraph micro-F1 (as ``calibrate._evidence`` chooses the shared ones), one after the other.
The techniques the English annotation lacks are shown on the sentence where the head peaks,
with no threshold to tune.

    python -m unspin.train.span_head --fit FIT.npz --rows Name_Calling-Labeling,... \\
        --model unspin/model/default --version 2.8.0
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from ..model import load_uncached
from ..model.meta import write_meta
from ..taxonomy import TECHNIQUE_NAMES
from . import calibrate as cal
from .data import NOT_IN_ENGLISH, load_dir, load_translated, split
from .token_refit import ENGLISH, TRANSLATED

SPAN_GRID = np.round(np.arange(0.05, 0.91, 0.05), 2)
WORD_GRID = (*cal.EVIDENCE_WORD, 2.0)  # 2.0: no word evidence
SHARE_GRID = (0.15, 0.3, 0.5, 0.7)


def write_span_head(model_dir: Path, fit: Path, rows: list[str]) -> None:
    """``span_w``, ``span_b``, ``span_mt_b`` in ``heads.npz``: ``fit``'s rows for ``rows``,
    the token head's (with no translated offset) for the rest."""
    unknown = [r for r in rows if r not in TECHNIQUE_NAMES]
    if unknown:
        raise SystemExit(f"unknown techniques: {', '.join(unknown)}")
    path = model_dir / "heads.npz"
    with np.load(path) as data:
        heads = {k: data[k] for k in data.files}
    pick = np.array([n in rows for n in TECHNIQUE_NAMES])
    with np.load(fit) as f:
        heads["span_w"] = np.where(pick[:, None], f["token_w"], heads["token_w"]).astype(np.float32)
        heads["span_b"] = np.where(pick, f["token_b"], heads["token_b"]).astype(np.float32)
        heads["span_mt_b"] = np.where(pick, f["token_mt_b"], 0.0).astype(np.float32)
    np.savez_compressed(path, **heads)


def tune_rows(model_dir: Path, tune: list, rows: list[str], version: str, log=print) -> None:
    """Tune the span settings of ``rows`` on ``tune``; keep everything else; write model.json."""
    model = load_uncached(model_dir)
    meta, th = model.meta, model.meta.thresholds
    assert th is not None and th.evidence is not None
    n = TECHNIQUE_NAMES
    raws = cal.raw_outputs(model, tune)
    decoded = cal._decoded(model, raws, meta.temperature["token"], meta.temperature["paragraph"],
                           np.array([t in th.phrase_level for t in n]))
    sentence = np.array([t in th.sentence_level for t in n])
    para_th = np.array([th.paragraph[t] for t in n])
    span = np.array([th.span[t] for t in n])
    gaps = np.array([th.span_gap[t] for t in n])
    ev = th.evidence
    words = np.array([ev["word"].get(t, 2.0) for t in n])
    shares = np.array([ev.get("shares", {}).get(t, ev["share"]) for t in n])

    def score(span: np.ndarray, gaps: np.ndarray, words: np.ndarray, shares: np.ndarray) -> tuple[float, ...]:
        return cal.joint_score(decoded, para_th, span, gaps, th.peak_share, sentence, (words, shares))

    best = score(span, gaps, words, shares)
    log(f"kept calibration, new rows: tune span F1 {best[1]:.4f}, paragraph F1 {best[2]:.4f}")
    for name in rows:
        if name in NOT_IN_ENGLISH:
            continue
        i = n.index(name)
        before = (span[i], gaps[i], words[i], shares[i])
        for grid in ([(s, g, words[i], shares[i]) for s in SPAN_GRID for g in cal.GAPS],
                     [(span[i], gaps[i], w, sh) for w in WORD_GRID for sh in SHARE_GRID]):
            for s, g, w, sh in grid:
                trial = [a.copy() for a in (span, gaps, words, shares)]
                trial[0][i], trial[1][i], trial[2][i], trial[3][i] = s, g, w, sh
                got = score(*trial)
                if got[0] > best[0]:
                    best, (span, gaps, words, shares) = got, trial
        log(f"{name}: span threshold, gap, word threshold, share {tuple(map(float, before))} -> "
            f"{(float(span[i]), int(gaps[i]), float(words[i]), float(shares[i]))}: tune span F1 {best[1]:.4f}, "
            f"paragraph F1 {best[2]:.4f}")
    evidence = {"word": {t: float(w) for t, w in zip(n, words, strict=True) if w <= 1.0}, "share": ev["share"]}
    moved = {t: float(s) for t, s in zip(n, shares, strict=True) if s != ev["share"] and words[n.index(t)] <= 1.0}
    if moved:
        evidence["shares"] = moved
    thresholds = dataclasses.replace(
        th, span={t: float(v) for t, v in zip(n, span, strict=True)},
        span_gap={t: int(v) for t, v in zip(n, gaps, strict=True)}, evidence=evidence)
    write_meta(model_dir, dataclasses.replace(meta, version=version, thresholds=thresholds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", type=Path, required=True, help="a head fitted by unspin.train.token_refit")
    ap.add_argument("--rows", required=True, help="comma-separated techniques whose rows to take from --fit")
    ap.add_argument("--model", type=Path, required=True, help="the model directory to change in place")
    ap.add_argument("--version", required=True)
    args = ap.parse_args()
    rows = [r for r in args.rows.split(",") if r]
    write_span_head(args.model, args.fit, rows)
    tune = split(load_dir(ENGLISH) + load_translated(TRANSLATED))["tune"]
    tune_rows(args.model, tune, rows, args.version, log=lambda m: print(m, file=sys.stderr, flush=True))


if __name__ == "__main__":
    main()

