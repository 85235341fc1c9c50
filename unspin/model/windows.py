"""Tokenisation and overlapping windows, shared by training and inference.

An article is tokenised once, without special tokens, so every token keeps its character
offsets into the original text. Windows of ``size`` tokens overlap by ``size - stride``;
each token is *owned* by the window where it sits furthest from an edge, and only the
owner's output is kept, so stitched outputs have exactly one row per token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from .meta import Window

WINDOW_TOKENS, STRIDE = Window.tokens, Window.stride  # a model's own: model.json's window
CLS_ID, SEP_ID, PAD_ID = 101, 102, 0


def load_tokenizer(path: str | Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return tok


@dataclass
class Encoded:
    ids: np.ndarray  # [N] int64
    offsets: np.ndarray  # [N, 2] int64, character offsets into the text
    word_ids: np.ndarray  # [N] int64, index of the word each token belongs to


def encode(tokenizer: Tokenizer, text: str) -> Encoded:
    enc = tokenizer.encode(text, add_special_tokens=False)
    n = len(enc.ids)
    offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(n, 2)
    words = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)
    return Encoded(np.asarray(enc.ids, dtype=np.int64), offsets, words)


def plan_windows(n_tokens: int, size: int = WINDOW_TOKENS, stride: int = STRIDE) -> list[tuple[int, int]]:
    """Token ranges [start, end) covering 0..n_tokens; the last window is aligned to the end."""
    if n_tokens <= size:
        return [(0, n_tokens)]
    starts = list(range(0, n_tokens - size, stride)) + [n_tokens - size]
    return [(s, s + size) for s in starts]


def ownership(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """For each window, the token range whose outputs come from it (midpoints of overlaps)."""
    owned = []
    for i, (s, e) in enumerate(windows):
        lo = s if i == 0 else (s + windows[i - 1][1]) // 2
        hi = e if i == len(windows) - 1 else (windows[i + 1][0] + e) // 2
        owned.append((lo, hi))
    return owned


def window_batch(ids: np.ndarray, windows: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """input_ids and attention_mask [W, L] with [CLS] ... [SEP] and right padding."""
    length = max(e - s for s, e in windows) + 2
    input_ids = np.full((len(windows), length), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(windows), length), dtype=np.int64)
    for w, (s, e) in enumerate(windows):
        n = e - s
        input_ids[w, 0] = CLS_ID
        input_ids[w, 1 : n + 1] = ids[s:e]
        input_ids[w, n + 1] = SEP_ID
        mask[w, : n + 2] = 1
    return input_ids, mask


def stitch(hidden: np.ndarray, windows: list[tuple[int, int]], n_tokens: int) -> np.ndarray:
    """[W, L, H] window outputs -> [N, H] one row per token, taken from its owning window."""
    out = np.empty((n_tokens, hidden.shape[-1]), dtype=hidden.dtype)
    for w, ((s, _e), (lo, hi)) in enumerate(zip(windows, ownership(windows), strict=True)):
        out[lo:hi] = hidden[w, 1 + lo - s : 1 + hi - s]
    return out


def token_paragraphs(offsets: np.ndarray, bounds: list[tuple[int, int]]) -> np.ndarray:
    """Paragraph index of each token (by its start offset), -1 outside every paragraph."""
    result = np.full(len(offsets), -1, dtype=np.int64)
    if not bounds or len(offsets) == 0:
        return result
    starts = np.asarray([b[0] for b in bounds])
    ends = np.asarray([b[1] for b in bounds])
    idx = np.searchsorted(starts, offsets[:, 0], side="right") - 1
    ok = (idx >= 0) & (offsets[:, 0] < ends[np.clip(idx, 0, None)])
    result[ok] = idx[ok]
    return result
