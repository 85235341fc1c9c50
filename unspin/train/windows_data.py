"""Training examples: one per window, carrying the targets of every head."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tokenizers import Tokenizer

from ..model.windows import encode, plan_windows, token_paragraphs, window_batch
from ..taxonomy import FRAME_NAMES, GENRE_NAMES, TECHNIQUE_NAMES
from .data import NOT_IN_ENGLISH, T_INDEX, LabeledArticle, projected_token_targets, token_targets

F_INDEX = {n: i for i, n in enumerate(FRAME_NAMES)}
G_INDEX = {n: i for i, n in enumerate(GENRE_NAMES)}


@dataclass
class Window:
    input_ids: np.ndarray  # [L]
    token_labels: np.ndarray  # [L, T] float32
    token_para: np.ndarray  # [L] local paragraph slot or -1
    para_labels: np.ndarray  # [P, T] float32, one row per local slot
    genre: int  # -1 when unknown
    frames: np.ndarray | None  # [F] or None when unknown
    translated: bool = False  # a translated article's window (its annotators' style)
    projected: bool = False  # its token targets are projected spans


def weak_token_targets(offsets: np.ndarray, art: LabeledArticle) -> np.ndarray:
    """[N, T]: -1 (unknown) except the techniques the English annotation lacks, over labelled
    paragraphs: translated paragraphs that carry one mark their every token as a weak,
    down-weighted target, so the token head can still point at it."""
    y = np.full((len(offsets), len(TECHNIQUE_NAMES)), -1.0, dtype=np.float32)
    cols = [T_INDEX[n] for n in NOT_IN_ENGLISH]
    for line, s, e in art.lines:
        if line not in art.paragraph_labels:
            continue
        hit = (offsets[:, 0] < e) & (offsets[:, 1] > s)
        labels = set(art.paragraph_labels[line])
        for name, c in zip(NOT_IN_ENGLISH, cols, strict=True):
            y[hit, c] = 1.0 if name in labels else 0.0
    return y


def article_windows(tok: Tokenizer, art: LabeledArticle, stride: int | None = None,
                    unknown: set[tuple[int, str]] | None = None) -> list[Window]:
    """``unknown``: for a translated article with projected spans, the (line, technique)
    pairs whose projection was dropped."""
    enc = encode(tok, art.text)
    n = len(enc.ids)
    if n == 0:
        return []
    if art.annotated:
        y = token_targets(enc.offsets, art.spans)
    elif art.spans:  # a translated article's projected spans
        y = projected_token_targets(enc.offsets, art, unknown or frozenset())
    else:  # unknown: masked out of the token loss, but for weak targets
        y = weak_token_targets(enc.offsets, art)
    bounds = [(s, e) for _, s, e in art.lines]
    tpara = token_paragraphs(enc.offsets, bounds)
    line_of = [ln for ln, _, _ in art.lines]
    has_para = bool(art.paragraph_labels)
    genre = G_INDEX.get(art.genre, -1) if art.genre else -1
    frames = None
    if art.frames is not None:
        frames = np.zeros(len(FRAME_NAMES), dtype=np.float32)
        for f in art.frames:
            frames[F_INDEX[f]] = 1.0
    windows = plan_windows(n) if stride is None else plan_windows(n, stride=stride)
    ids, _mask = window_batch(enc.ids, windows)
    out = []
    for w, (s, e) in enumerate(windows):
        length = e - s + 2
        labels = np.zeros((length, len(TECHNIQUE_NAMES)), dtype=np.float32)
        labels[1:-1] = y[s:e]
        para = np.full(length, -1, dtype=np.int64)
        rows = []
        if has_para:
            local: dict[int, int] = {}
            for i, p in enumerate(tpara[s:e]):
                if p < 0 or line_of[p] not in art.paragraph_labels:
                    continue
                if p not in local:
                    local[p] = len(local)
                    row = np.zeros(len(TECHNIQUE_NAMES), dtype=np.float32)
                    for name in art.paragraph_labels[line_of[p]]:
                        row[T_INDEX[name]] = 1.0
                    rows.append(row)
                para[i + 1] = local[p]
        out.append(
            Window(
                input_ids=ids[w, :length],
                token_labels=labels,
                token_para=para,
                para_labels=np.stack(rows) if rows else np.zeros((0, len(TECHNIQUE_NAMES)), np.float32),
                genre=genre,
                frames=frames,
                translated=art.style == "mt",
                projected=not art.annotated and bool(art.spans),
            )
        )
    return out


def collate(batch: list[Window]) -> dict[str, torch.Tensor]:
    length = max(len(w.input_ids) for w in batch)
    b = len(batch)
    t = len(TECHNIQUE_NAMES)
    ids = torch.zeros((b, length), dtype=torch.long)
    mask = torch.zeros((b, length), dtype=torch.long)
    labels = torch.zeros((b, length, t))
    para = torch.full((b, length), -1, dtype=torch.long)
    para_rows = []
    offset = 0
    for i, w in enumerate(batch):
        n = len(w.input_ids)
        ids[i, :n] = torch.from_numpy(w.input_ids)
        mask[i, :n] = 1
        labels[i, :n] = torch.from_numpy(w.token_labels)
        local = torch.from_numpy(w.token_para)
        para[i, :n] = torch.where(local >= 0, local + offset, local)
        offset += len(w.para_labels)
        para_rows.append(torch.from_numpy(w.para_labels))
    frames = torch.stack(
        [torch.from_numpy(w.frames) if w.frames is not None else torch.zeros(len(FRAME_NAMES)) for w in batch]
    )
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_labels": labels,
        "token_para": para,
        "para_labels": torch.cat(para_rows) if para_rows else torch.zeros((0, t)),
        "genre": torch.tensor([w.genre for w in batch], dtype=torch.long),
        "frames": frames,
        "frames_known": torch.tensor([w.frames is not None for w in batch]),
        "translated": torch.tensor([w.translated for w in batch]),
        "projected": torch.tensor([w.projected for w in batch]),
    }
