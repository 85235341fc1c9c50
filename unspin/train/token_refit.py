"""Does a token head learn from the projected translated spans? Measured on a frozen encoder.

With the shipped int8 encoder frozen, fit the token head (one linear layer over the 384-d
token outputs, the loss of ``loop.losses``: BCE with positive weights sqrt(neg/pos) capped at
30, averaged over known targets) on

- (a) the English training spans only (the four techniques the English annotation lacks
  masked out), or
- (b) those plus the translated training articles' projected spans (``project.attach``),
  with one extra bias per technique for translated tokens (their annotators' style, as the
  paragraph head has it), and the (paragraph, technique) pairs whose projection was dropped
  masked out,

and compare them with the shipped head by span F1 on the validation split of
``data.split``: English articles against their gold spans, translated ones against their
projected spans. Every head is decoded the same simple way (a technique's words whose
probability reaches its threshold, runs joined), with per-technique thresholds picked on the
tuning split, separately for English and translated articles (so a per-technique style
offset changes nothing there): this compares token heads, not the shipped decoding.

Encoder outputs are cached per article (float16) under ``cache``, fits as they finish, so
an interrupted run resumes.

    python -m unspin.train.token_refit --cache /work/cache/tokenhead \\
        --projected /work/cache/projected/spans.jsonl [--cache-only | --cached-only]

On the shared 2-core machine caching every article takes hours; ``--cache-only`` caches
(validation, tuning, then English and translated training articles alternating, in a seeded
random order) and can be stopped at any time, ``--cached-only`` fits on what is cached.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from itertools import zip_longest
from pathlib import Path

import numpy as np

from ..evaluation import SpanCounts
from ..model import load_uncached
from ..model.heads import sigmoid
from ..model.runtime import OnnxModel
from ..taxonomy import TECHNIQUE_NAMES
from .data import (
    NOT_IN_ENGLISH,
    T_INDEX,
    LabeledArticle,
    load_dir,
    load_translated,
    projected_token_targets,
    split,
    token_targets,
)
from .project import attach

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = ROOT.parent / "shared" / "data" / "semeval2023task3" / "data" / "en"
TRANSLATED = ROOT.parent / "shared" / "data" / "semeval2023task3-multilingual"
GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)
LBFGS_STEPS = 150
MIN_TUNE_SPANS = 3  # fewer gold spans on tune: the technique takes the shared threshold
L2_GRID = (1.0,)  # one value: each fit takes minutes on the shared 2-core machine
WARM_L2_GRID = (10.0, 100.0, 1000.0)  # pull towards the shipped head


def _safe(aid: str) -> str:
    return aid.replace("/", "_")


def cache_outputs(model: OnnxModel, articles: list[LabeledArticle], cache: Path, log=print) -> None:
    """Encoder outputs of every article, float16, one file each (skipped when present)."""
    cache.mkdir(parents=True, exist_ok=True)
    todo = [a for a in articles if not (cache / f"{_safe(a.id)}.npz").exists()]
    t0 = time.time()
    for i, a in enumerate(todo):
        enc, hidden = model.hidden(a.text)
        tmp = cache / f"{_safe(a.id)}.tmp.npz"
        np.savez(tmp, hidden=hidden.astype(np.float16), offsets=enc.offsets, word_ids=enc.word_ids)
        tmp.replace(cache / f"{_safe(a.id)}.npz")
        if (i + 1) % 50 == 0:
            log(f"  cached {i + 1}/{len(todo)} ({time.time() - t0:.0f} s)")


def load_cached(cache: Path, a: LabeledArticle) -> dict[str, np.ndarray]:
    with np.load(cache / f"{_safe(a.id)}.npz") as d:
        return {k: d[k] for k in d.files}


def targets(a: LabeledArticle, offsets: np.ndarray, unknown: set[tuple[int, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Token targets [N, T] and which of them are known [N, T]."""
    if a.source == "en":
        y = token_targets(offsets, a.spans)
        known = np.ones_like(y)
        known[:, [T_INDEX[n] for n in NOT_IN_ENGLISH]] = 0.0
        return y, known
    p = projected_token_targets(offsets, a, unknown)
    return np.clip(p, 0.0, None), (p >= 0).astype(np.float32)


def fit(x: np.ndarray, y: np.ndarray, known: np.ndarray, mt: np.ndarray, l2: float,
        start: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear token head with a translated offset: (w [T, H], b [T], mt_b [T]). Full-batch
    L-BFGS on standardised features, the standardisation folded back into the layer.
    ``start``: a head (w, b) to start from and be held near (the L2 penalty pulls towards
    it rather than towards zero), so what it learnt jointly with the encoder is kept where
    the new targets do not argue against it."""
    import torch

    torch.set_num_threads(2)
    mu = x.mean(0, dtype=np.float64).astype(np.float32)
    sd = x.std(0, dtype=np.float64).astype(np.float32) + 1e-4
    xs = torch.from_numpy(((x - mu) / sd).astype(np.float32))
    ys, ks = torch.from_numpy(y), torch.from_numpy(known)
    m = torch.from_numpy(mt.astype(np.float32))[:, None]
    pos = (y * known).sum(0)
    ratio = (known.sum(0) - pos) / np.maximum(pos, 1.0)
    pw = torch.tensor(np.clip(np.sqrt(ratio), 1.0, 30.0), dtype=torch.float32)
    t, h = y.shape[1], x.shape[1]
    w0 = torch.zeros(t, h) if start is None else torch.from_numpy((start[0] * sd).astype(np.float32))
    w = w0.clone().requires_grad_(True)
    b = (torch.zeros(t) if start is None else torch.from_numpy((start[1] + start[0] @ mu).astype(np.float32))
         ).requires_grad_(True)
    d = torch.zeros(t, requires_grad=True)
    # No English target for these: their bias is the translated one, with no offset.
    styled = torch.tensor([n not in NOT_IN_ENGLISH for n in TECHNIQUE_NAMES], dtype=torch.float32)
    total = ks.sum().clamp(min=1.0)
    opt = torch.optim.LBFGS([w, b, d], max_iter=LBFGS_STEPS, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = xs @ w.T + b + (d * styled) * m
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, ys, pos_weight=pw, reduction="none")
        loss = (loss * ks).sum() / total + 0.5 * l2 * ((w - w0) ** 2).sum() / total
        loss.backward()
        return loss

    opt.step(closure)
    wn = w.detach().numpy() / sd
    bn = b.detach().numpy() - wn @ mu
    # A technique with no known target at all (e.g. the four in arm a): never.
    none = known.sum(0) == 0
    if start is None:
        bn[none], wn[none] = -20.0, 0.0
    return wn.astype(np.float32), bn.astype(np.float32), (d * styled).detach().numpy().astype(np.float32)


def decode(probs: np.ndarray, offsets: np.ndarray, word_ids: np.ndarray, th: np.ndarray
           ) -> list[tuple[str, int, int]]:
    """Spans: for each technique, runs of whole words whose best token reaches its threshold."""
    spans = []
    n_words = int(word_ids.max()) + 1 if len(word_ids) else 0
    if n_words == 0:
        return spans
    wp = np.zeros((n_words, probs.shape[1]), dtype=np.float32)
    np.maximum.at(wp, word_ids, probs)
    ws = np.full(n_words, 1 << 30)
    we = np.zeros(n_words, dtype=np.int64)
    np.minimum.at(ws, word_ids, offsets[:, 0])
    np.maximum.at(we, word_ids, offsets[:, 1])
    on = wp >= th
    for t in np.flatnonzero(on.any(0)):
        edges = np.diff(np.concatenate([[0], on[:, t].astype(np.int8), [0]]))
        for first, last in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True):
            spans.append((TECHNIQUE_NAMES[t], int(ws[first]), int(we[last])))
    return spans


def technique_counts(items: list[tuple[np.ndarray, np.ndarray, np.ndarray, list]], t: int, th: float,
                     ) -> SpanCounts:
    """Span counts of technique ``t`` at threshold ``th`` over (probs, offsets, word_ids, gold)."""
    c = SpanCounts()
    name = TECHNIQUE_NAMES[t]
    ths = np.full(len(TECHNIQUE_NAMES), 2.0)
    ths[t] = th
    for p, o, w, gold in items:
        c.add(decode(p, o, w, ths), [g for g in gold if g[0] == name])
    return c


def pick_thresholds(items: list, techniques: list[int]) -> np.ndarray:
    """Per-technique thresholds maximising span F1 on ``items``; rare techniques (and the
    rest, never predicted) take the shared best."""
    ths = np.full(len(TECHNIQUE_NAMES), 2.0)
    gold_n = defaultdict(int)
    for *_, gold in items:
        for g in gold:
            gold_n[T_INDEX[g[0]]] += 1
    per = {t: [technique_counts(items, t, th) for th in GRID] for t in techniques}
    shared = max(range(len(GRID)), key=lambda k: _f1(sum_counts(per[t][k] for t in techniques)))
    for t in techniques:
        if gold_n[t] >= MIN_TUNE_SPANS:
            ths[t] = GRID[max(range(len(GRID)), key=lambda k: per[t][k].f1)]
        else:
            ths[t] = GRID[shared]
    return ths


def sum_counts(cs) -> SpanCounts:
    out = SpanCounts()
    for c in cs:
        out.p_credit += c.p_credit
        out.r_credit += c.r_credit
        out.n_pred += c.n_pred
        out.n_gold += c.n_gold
    return out


def _f1(c: SpanCounts) -> float:
    return c.f1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, required=True, help="a directory outside git")
    ap.add_argument("--projected", type=Path, required=True, help="spans.jsonl from unspin.train.project")
    ap.add_argument("--model", type=Path, default=ROOT / "unspin" / "model" / "default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-only", action="store_true")
    ap.add_argument("--cached-only", action="store_true",
                    help="train on the training articles already cached, caching nothing more")
    ap.add_argument("--max-train", type=int, default=None, help="with --cached-only: at most this many")
    ap.add_argument("--max-translated", type=int, default=None,
                    help="use only this many translated training articles (a seeded random sample)")
    args = ap.parse_args()

    def log(m: str) -> None:
        print(m, file=sys.stderr, flush=True)

    pool = load_dir(ENGLISH) + load_translated(TRANSLATED)
    parts = split(pool)
    unknown = attach(pool, args.projected) if args.projected.exists() else {}
    model = load_uncached(args.model, threads=args.threads)
    use = {k: [a for a in v if a.source != "en" or a.annotated] for k, v in parts.items()}
    # Training articles in a seeded random order, English and translated alternating, so
    # that a run cut short (``--max-translated``, or ``--cached-only`` on a busy machine)
    # trains on a random sample of both.
    rng = random.Random(13)
    english = [a for a in use["train"] if a.source == "en"]
    translated = [a for a in use["train"] if a.source != "en"]
    rng.shuffle(english)
    rng.shuffle(translated)
    translated = translated[: args.max_translated]
    mixed = [a for pair in zip_longest(english, translated) for a in pair if a is not None]
    order = use["val"] + use["tune"] + mixed
    if args.cached_only:
        use["train"] = [a for a in mixed if (args.cache / "hidden" / f"{_safe(a.id)}.npz").exists()
                        ][: args.max_train]
        log(f"training on the {len(use['train'])} cached training articles "
            f"({sum(a.source == 'en' for a in use['train'])} English)")
    else:
        use["train"] = mixed
        log(f"caching encoder outputs of {len(order)} articles in {args.cache}")
        cache_outputs(model, order, args.cache / "hidden", log)
    if args.cache_only:
        return
    run(model, use, unknown, args.cache, log)


def run(model: OnnxModel, use: dict[str, list[LabeledArticle]], unknown: dict, cache: Path, log) -> None:
    heads = {"shipped": (model.heads.w["token_w"], model.heads.w["token_b"],
                         np.zeros(len(TECHNIQUE_NAMES), np.float32))}
    shipped = (model.heads.w["token_w"], model.heads.w["token_b"])
    arms = (("a: English spans", ("en",), None, L2_GRID),
            ("b: English + projected", ("en", "mt"), None, L2_GRID),
            ("c: shipped head, then English + projected", ("en", "mt"), shipped, WARM_L2_GRID))
    for arm, sources, start, grid in arms:
        path = cache / f"fit-{arm[0]}.npz"
        rows = [a for a in use["train"] if a.style in sources]
        best = None
        if not path.exists():
            xs, ys, ks, ms = [], [], [], []
            for a in rows:
                d = load_cached(cache / "hidden", a)
                y, k = targets(a, d["offsets"], unknown.get(a.id, set()))
                keep = k.any(1)
                xs.append(d["hidden"][keep].astype(np.float32))
                ys.append(y[keep])
                ks.append(k[keep])
                ms.append(np.full(int(keep.sum()), a.style == "mt"))
            x, y, k, mt = np.concatenate(xs), np.concatenate(ys), np.concatenate(ks), np.concatenate(ms)
            log(f"{arm}: {len(x)} tokens ({int(mt.sum())} translated), positives per technique "
                + ", ".join(f"{TECHNIQUE_NAMES[t][:12]} {int((y[:, t] * k[:, t]).sum())}" for t in range(y.shape[1])))
            fits = {}
            for l2 in grid:
                t0 = time.time()
                fits[l2] = fit(x, y, k, mt, l2, start)
                log(f"  fitted L2={l2} in {time.time() - t0:.0f} s")
            del x, y, k, mt
            # L2 chosen on tune, by span F1 with per-technique thresholds (both sources).
            scores = {l2: evaluate(f, use, cache, log=None)["tune"] for l2, f in fits.items()}
            best = max(scores, key=scores.get)
            log(f"  tune span F1 (mean of English and translated) by L2: {scores}; kept L2={best}")
            np.savez(path, token_w=fits[best][0], token_b=fits[best][1], token_mt_b=fits[best][2],
                     l2=np.array(best))
        with np.load(path) as f:
            heads[arm] = (f["token_w"], f["token_b"], f["token_mt_b"])
    for gated in (False, True):
        for arm, head in heads.items():
            log(f"\n== {arm}{', gated by the gold paragraph labels' if gated else ''}")
            evaluate(head, use, cache, log=log, gated=gated)


def gold_paragraphs(a: LabeledArticle, offsets: np.ndarray) -> np.ndarray:
    """[N, T]: 1 where the token's paragraph carries the technique in the gold labels."""
    g = np.zeros((len(offsets), len(TECHNIQUE_NAMES)), dtype=np.float32)
    for line, s, e in a.lines:
        hit = (offsets[:, 0] < e) & (offsets[:, 1] > s)
        for name in a.paragraph_labels.get(line, []):
            g[hit, T_INDEX[name]] = 1.0
    return g


def evaluate(head: tuple[np.ndarray, np.ndarray, np.ndarray], use: dict, cache: Path, log=None,
             gated: bool = False) -> dict:
    """Span F1 on val (English; translated via projected spans), thresholds from tune.
    ``gated``: spans only in paragraphs whose gold labels carry the technique, as the shipped
    decoding gates them by the paragraph head: how well the head places a technique it is
    told is there."""
    w, b, mt_b = head
    english_t = [t for t in range(len(TECHNIQUE_NAMES)) if TECHNIQUE_NAMES[t] not in NOT_IN_ENGLISH]
    out = {}
    items = {}
    for split_name in ("tune", "val"):
        for src in ("en", "mt"):
            rows = []
            for a in use[split_name]:
                if a.style != src:
                    continue
                d = load_cached(cache / "hidden", a)
                z = d["hidden"].astype(np.float32) @ w.T + b + (mt_b if src == "mt" else 0.0)
                probs = sigmoid(z) * (gold_paragraphs(a, d["offsets"]) if gated else 1.0)
                rows.append((probs, d["offsets"], d["word_ids"], a.spans))
            items[(split_name, src)] = rows
    tune_f = []
    for src, techniques in (("en", english_t), ("mt", list(range(len(TECHNIQUE_NAMES))))):
        ths = pick_thresholds(items[("tune", src)], techniques)
        per = {t: technique_counts(items[("val", src)], t, ths[t]) for t in techniques}
        tune_per = [technique_counts(items[("tune", src)], t, ths[t]) for t in techniques]
        tune_f.append(sum_counts(tune_per).f1)
        total = sum_counts(per.values())
        out[src] = total.f1
        if log:
            name = "English val (19 techniques)" if src == "en" else "translated val, projected gold (23)"
            log(f"  {name}: span F1 {total.f1:.3f} (P {total.precision:.3f}, R {total.recall:.3f}, "
                f"{total.n_pred} predicted, {total.n_gold} gold); tune {tune_f[-1]:.3f}")
            for t in techniques:
                c = per[t]
                if c.n_gold or c.n_pred:
                    log(f"    {TECHNIQUE_NAMES[t]:<36} F1 {c.f1:.3f}  P {c.precision:.3f}  R {c.recall:.3f}  "
                        f"pred {c.n_pred:>4}  gold {c.n_gold:>4}  th {ths[t]:.2f}")
    out["tune"] = float(np.mean(tune_f))
    return out


if __name__ == "__main__":
    main()
