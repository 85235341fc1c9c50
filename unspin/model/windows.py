"""Tokenisation and overlapping windows, shared by training and inference.

An article is tokenised once, without special tokens, so every token keeps its character
offsets into the original text; a long text in pieces cut at spaces, which the tokenizer
splits on anyway, so memory holds one piece's tokenizer output, not the whole text's. Windows of ``size`` tokens overlap by ``size - stride``;
each token is *owned* by the window where it sits furthest from an edge, and only the
owner's output is kept, so stitched outputs have exactly one row per token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from .meta import Window

WINDOW_TOKENS, STRIDE = Window.tokens, Window.stride  # a model's own: model.json's window
CLS_ID, SEP_ID, PAD_ID = 101, 102, 0
ENCODE_CHARS = 20_000  # characters tokenized at a time (the tokenizer's output is ~500 B a token)
_CUT = re.compile(r"[ \t\n\r]")  # whitespace every tokenizer splits words on


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


def encode(tokenizer: Tokenizer, text: str, piece_chars: int = ENCODE_CHARS) -> Encoded:
    """Tokens of ``text`` with their offsets and word indexes, the same as one call of the
    tokenizer gives (a word index is then unique, not numbered from 0 without gaps)."""
    ids, offsets, words = [], [], []
    first_word = 0
    for start, piece in _pieces(text, piece_chars):
        enc = tokenizer.encode(piece, add_special_tokens=False)
        n = len(enc.ids)
        ids.append(np.asarray(enc.ids, dtype=np.int64))
        offsets.append(np.asarray(enc.offsets, dtype=np.int64).reshape(n, 2) + start)
        w = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)
        words.append(np.where(w >= 0, w + first_word, -1))
        first_word += int(w.max()) + 1 if n else 0
    if len(ids) == 1:
        return Encoded(ids[0], offsets[0], words[0])
    return Encoded(np.concatenate(ids), np.concatenate(offsets), np.concatenate(words))


def _pieces(text: str, size: int) -> Iterator[tuple[int, str]]:
    """(start, piece) of ``text`` in pieces of about ``size`` characters, each cut before a
    space or line break (a text with none for ``size`` characters: where the next one is)."""
    start = 0
    while len(text) - start > size:
        cut = _CUT.search(text, start + size)
        if cut is None:
            break
        yield start, text[start : cut.start()]
        start = cut.start()
    yield start, text[start:]


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


def owned_rows(hidden: np.ndarray, windows: list[tuple[int, int]], owned: list[tuple[int, int]]) -> np.ndarray:
    """[W, L, H] outputs of ``windows`` -> the rows of the tokens they own (``owned``, from
    :func:`ownership` of all the article's windows), in token order."""
    return np.concatenate([hidden[w, 1 + lo - s : 1 + hi - s] for w, ((s, _e), (lo, hi)) in enumerate(zip(windows, owned, strict=True))])


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


def paragraph_tokens(token_para: np.ndarray, n_paragraphs: int) -> tuple[np.ndarray, np.ndarray]:
    """Each paragraph's tokens as a range [first, end) (0, 0 for none): the tokens of one
    paragraph are consecutive, since tokens and paragraphs are both in text order."""
    inside = np.flatnonzero(token_para >= 0)
    at = np.arange(n_paragraphs)
    lo = np.searchsorted(token_para[inside], at, side="left")
    hi = np.searchsorted(token_para[inside], at, side="right")
    first, end = np.zeros(n_paragraphs, dtype=np.int64), np.zeros(n_paragraphs, dtype=np.int64)
    has = hi > lo
    first[has], end[has] = inside[lo[has]], inside[hi[has] - 1] + 1
    return first, end
