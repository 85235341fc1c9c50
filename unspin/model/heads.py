"""The model's heads in numpy, over the encoder output of a whole article, read a run of
tokens at a time (:class:`HeadStream`): memory holds a block of rows, never the article's.

Each head is a linear layer, first trained jointly with the encoder, then refitted on the
features recomputed here exactly as inference computes them, over whole paragraphs and
articles instead of windows (``unspin.train.refit``). The genre, frame and paragraph heads
may also read the text itself (``text_features``), which the encoder has not memorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .meta import DEFAULT_INFERENCE, Inference
from .text_features import TEXT_KEYS, TOKEN, TextFeatures, Tfidf
from .windows import paragraph_tokens

# Annotation styles the paragraph head can predict. The English SemEval annotators mark
# about half as many techniques per paragraph as the teams whose articles we read in
# machine translation; the head learns that difference as one offset per technique
# (``paragraph_mt_b``), so the translated data teaches what each technique looks like
# without teaching the English default to flag as densely.
STYLES = ("en", "mt")

# The paragraph head's second view: which words and word pairs a paragraph uses. A linear
# head over the encoder's pooled paragraph loses the lexical detail that many techniques
# hang on ("regime", "so-called", "!"); averaging the two views' logits was measured better
# on the tuning split than either alone. Its vocabulary, weights and share in heads.npz:
WORDS_KEYS = ("pwords_vocabulary", "pwords_idf", "pwords_ngrams")
WORDS_HEAD = ("pwords_w", "pwords_b", "pwords_mt_b", "pwords_share")


def sigmoid(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """The logistic function; ``out=x`` computes it in place (a long article's token
    logits), with the same operations and so the same values."""
    y = np.clip(x, -40.0, 40.0, out=out)
    np.negative(y, out=y)
    np.exp(y, out=y)
    np.add(1.0, y, out=y)
    return np.divide(1.0, y, out=y)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@dataclass
class HeadOutputs:
    """Raw (uncalibrated) logits of every head for one article."""

    token: np.ndarray  # [N, T]
    paragraph: np.ndarray  # [P, T]
    genre: np.ndarray  # [G]
    frames: np.ndarray  # [F]


def paragraph_features(
    hidden: np.ndarray, token_probs: np.ndarray, token_para: np.ndarray, n_paragraphs: int
) -> np.ndarray:
    """[mean hidden, max hidden, max token probability] over each paragraph's tokens (what
    :class:`HeadStream` computes as the rows stream in; training reads it whole)."""
    h = hidden.shape[1]
    feats = np.zeros((n_paragraphs, 2 * h + token_probs.shape[1]), dtype=np.float32)
    if len(token_para):
        order = np.argsort(token_para, kind="stable")
        sorted_para = token_para[order]
        for p in range(n_paragraphs):
            lo, hi = np.searchsorted(sorted_para, [p, p + 1])
            if hi > lo:
                rows = order[lo:hi]
                feats[p, :h] = hidden[rows].mean(0)
                feats[p, h : 2 * h] = hidden[rows].max(0)
                feats[p, 2 * h :] = token_probs[rows].max(0)
    return feats


def article_mean(hidden: np.ndarray) -> np.ndarray:
    """The mean encoder output over the article: what the jointly trained article heads read."""
    return hidden.mean(0) if len(hidden) else np.zeros(hidden.shape[1], dtype=np.float32)


# BLAS multiplies a few rows with another kernel than many, which differs in the last bits:
# rows that stream in are multiplied BLOCK_ROWS at a time, and never fewer than MIN_ROWS
# (a short last block is multiplied with rows before it), so every product equals, row for
# row, the one product of all rows an article read whole gets (measured with OpenBLAS:
# products of up to 52 to 165 rows, by shape, differ from a larger one's rows).
BLOCK_ROWS = 1024
MIN_ROWS = 512


class _Linear:
    """``x @ w.T + b`` for rows of ``x`` arriving a few at a time, written into ``out``."""

    def __init__(self, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        self.w, self.b, self.out = w, b, out
        self.done = 0  # rows of ``out`` written
        self._pending: list[np.ndarray] = []
        self._tail: np.ndarray | None = None  # the last MIN_ROWS rows multiplied

    def add(self, rows: np.ndarray, *, last: bool = False) -> None:
        if len(rows):
            self._pending.append(rows)
        pending = sum(len(r) for r in self._pending)
        if pending and (pending >= BLOCK_ROWS or last):
            x = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
            if len(x) < MIN_ROWS and self._tail is not None:
                y = (np.concatenate([self._tail, x]) @ self.w.T + self.b)[-len(x) :]
            else:
                y = x @ self.w.T + self.b
            self.out[self.done : self.done + len(x)] = y
            self.done += len(x)
            self._tail = np.concatenate([self._tail, x])[-MIN_ROWS:] if self._tail is not None else x[-MIN_ROWS:]
            self._pending = []


def _sum_rows(total: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    """``total`` plus ``rows`` summed in order: numpy sums the rows of an array one after
    another, so a sum taken in runs equals the sum of the whole array, to the last bit."""
    if total is None:
        return rows.sum(0)
    return np.add.reduce(np.concatenate([total[None], rows]), axis=0)


def _mean(total: np.ndarray, count: int) -> np.ndarray:
    """``total / count`` as ``ndarray.mean`` divides (by an intp, in place)."""
    return np.true_divide(total, np.intp(count), out=total, casting="unsafe")


class HeadStream:
    """The heads over an article's encoder output given as successive runs of token rows
    (:meth:`add`), then :meth:`finish`. Kept: the token logits, each paragraph's pooled
    features once it is complete, sums for the paragraphs still open and for the article."""

    def __init__(self, heads: Heads, token_para: np.ndarray, n_paragraphs: int) -> None:
        w = heads.w
        self.heads, self.token_para, self.n_paragraphs = heads, token_para, n_paragraphs
        n, t = len(token_para), w["token_w"].shape[0]
        self.token = _Linear(w["token_w"], w["token_b"], np.empty((n, t), dtype=np.float32))
        # The span head places the highlights; the token head's probabilities stay what
        # the paragraph head was fitted on (a paragraph's peak per technique).
        self.span = _Linear(w["span_w"], w["span_b"], np.empty((n, t), dtype=np.float32)) if "span_w" in w else None
        self.paragraph = _Linear(w["paragraph_w"], w["paragraph_b"],
                                 np.empty((n_paragraphs, w["paragraph_w"].shape[0]), dtype=np.float32))
        self.first, self.end = paragraph_tokens(token_para, n_paragraphs)
        self.count = self.end - self.first
        self.ready_at = np.maximum.accumulate(self.end) if n_paragraphs else self.end  # tokens scored to pool it
        self.read = 0  # tokens read so far
        self.total: np.ndarray | None = None  # sum over the article's tokens
        self.open: dict[int, list[np.ndarray]] = {}  # paragraph -> [sum, max] of its rows so far
        self.closed = 0  # paragraphs whose features went to the paragraph head
        self.finished = False

    def add(self, rows: np.ndarray, *, last: bool = False) -> None:
        """The encoder's output for the next ``len(rows)`` tokens (``last``: the article's)."""
        self.finished = last
        a, b = self.read, self.read + len(rows)
        self.read = b
        if len(rows):
            self.total = _sum_rows(self.total, rows)
            seg = self.token_para[a:b]
            cuts = [0, *(np.flatnonzero(seg[1:] != seg[:-1]) + 1), len(seg)]
            for i, j in zip(cuts[:-1], cuts[1:], strict=False):
                p = int(seg[i])
                if p >= 0:
                    acc = self.open.get(p)
                    run = rows[i:j]
                    if acc is None:
                        self.open[p] = [run.sum(0), run.max(0)]
                    else:
                        acc[0] = _sum_rows(acc[0], run)
                        acc[1] = np.maximum(acc[1], run.max(0))
        self.token.add(rows, last=last)
        if self.span is not None:
            self.span.add(rows, last=last)
        self._close(last)

    def _close(self, last: bool) -> None:
        """Pool the paragraphs whose tokens have all been read and scored."""
        ready = self.token.done
        feats = []
        h = self.token.w.shape[1]
        while self.closed < self.n_paragraphs and (last or self.ready_at[self.closed] <= ready):
            p = self.closed
            f = np.zeros(2 * h + self.token.out.shape[1], dtype=np.float32)
            acc = self.open.pop(p, None)
            if acc is not None:
                f[:h] = _mean(acc[0], int(self.count[p]))
                f[h : 2 * h] = acc[1]
                f[2 * h :] = sigmoid(self.token.out[self.first[p] : self.end[p]]).max(0)
            feats.append(f)
            self.closed += 1
        self.paragraph.add(np.stack(feats) if feats else np.zeros((0, 0), dtype=np.float32), last=last)

    def finish(self, bounds: list[tuple[int, int]], text: str = "", style: str = "en") -> HeadOutputs:
        """Every head's logits, once every token has been added."""
        if not self.finished:
            self.add(np.zeros((0, self.token.w.shape[1]), dtype=np.float32), last=True)
        token = self.token.out
        if self.span is not None:
            token = self.span.out
            if style == "mt" and "span_mt_b" in self.heads.w:
                token = token + self.heads.w["span_mt_b"]
        return self.heads.finish(token, self.paragraph.out, self._article_mean(), bounds, text, style)

    def _article_mean(self) -> np.ndarray:
        if self.total is None:
            return np.zeros(self.token.w.shape[1], dtype=np.float32)
        return _mean(self.total, self.read)


class ParagraphWords:
    """The words view of the paragraph head: a linear layer over each paragraph's TF-IDF."""

    def __init__(self, tfidf: Tfidf, w: np.ndarray, b: np.ndarray, mt_b: np.ndarray, share: float) -> None:
        self.tfidf, self.w, self.b, self.mt_b, self.share = tfidf, w.astype(np.float32), b, mt_b, float(share)

    @classmethod
    def from_weights(cls, w: dict[str, np.ndarray]) -> ParagraphWords | None:
        if not all(k in w for k in WORDS_KEYS + WORDS_HEAD):
            return None
        vocabulary, idf, ngrams = (np.asarray(w[k]) for k in WORDS_KEYS)
        weights, bias, mt_bias = (np.asarray(w[k], dtype=np.float32) for k in WORDS_HEAD[:3])
        return cls(Tfidf(vocabulary, idf, int(ngrams)), weights, bias, mt_bias, float(w["pwords_share"]))

    def weights(self) -> dict[str, np.ndarray]:
        t = self.tfidf
        return dict(zip(WORDS_KEYS + WORDS_HEAD, (np.array(t.vocabulary), t.idf, np.array(t.ngrams), self.w, self.b,
                                                   self.mt_b, np.array(self.share)), strict=True))

    def contributions(self, text: str, bounds: list[tuple[int, int]], offsets: np.ndarray) -> np.ndarray:
        """[N, T]: what each token's word adds to its paragraph's words-view logits (a word
        pair's share split between its two words). Shows which words made the decision."""
        out = np.zeros((len(offsets), self.w.shape[0]), dtype=np.float32)
        starts = offsets[:, 0] if len(offsets) else np.zeros(0, dtype=np.int64)
        for s, e in bounds:
            found = list(TOKEN.finditer(text, s, e))
            if not found:
                continue
            words = [m.group().lower() for m in found]
            idx, values = self.tfidf.sparse(text[s:e])
            weight = {int(i): v * self.w[:, i] for i, v in zip(idx, values, strict=True)}
            per = np.zeros((len(found), self.w.shape[0]), dtype=np.float32)
            for i, word in enumerate(words):
                k = self.tfidf.index.get(word)
                if k is not None:
                    per[i] += weight[k]
                k = self.tfidf.index.get(f"{word} {words[i + 1]}") if i + 1 < len(words) else None
                if k is not None:
                    per[i : i + 2] += weight[k] / 2
            # Each token takes the contribution of the word it starts in.
            word_starts = np.array([m.start() for m in found])
            word_ends = np.array([m.end() for m in found])
            tokens = np.arange(*np.searchsorted(starts, [s, e]))  # token starts are in text order
            at = np.searchsorted(word_starts, starts[tokens], side="right") - 1
            inside = (at >= 0) & (starts[tokens] < word_ends[np.maximum(at, 0)])
            out[tokens[inside]] = per[at[inside]]
        return out

    def logits(self, texts: list[str], style: str = "en") -> np.ndarray:
        out = np.tile(self.b + (self.mt_b if style == "mt" else 0.0), (len(texts), 1)).astype(np.float32)
        for i, text in enumerate(texts):
            idx, values = self.tfidf.sparse(text)
            out[i] += self.w[:, idx] @ values
        return out


class Heads:
    def __init__(self, weights: dict[str, np.ndarray], settings: Inference = DEFAULT_INFERENCE) -> None:
        """``weights``: heads.npz; ``settings``: model.json's inference settings."""
        self.text = TextFeatures.from_weights(weights, settings)
        self.words = ParagraphWords.from_weights(weights)
        # Which features the genre head reads is stored with its weights: the encoder's mean
        # output ("mean") or the text features ("text").
        self.genre_reads_text = str(weights.get("genre_input", "mean")) == "text"
        if self.genre_reads_text and self.text is None:
            raise ValueError("the genre head reads text features, but the model has none")
        skip = {"genre_input", *TEXT_KEYS, *WORDS_KEYS, *WORDS_HEAD}
        self.w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items() if k not in skip}

    def __call__(self, hidden: np.ndarray, token_para: np.ndarray, bounds: list[tuple[int, int]], text: str = "",
                 style: str = "en") -> HeadOutputs:
        """``hidden`` [N, H] one row per token; ``token_para`` [N] paragraph index or -1;
        ``bounds``: each paragraph's (start, end) in ``text``; ``style``: whose annotation
        density the paragraph head predicts (``STYLES``)."""
        stream = HeadStream(self, token_para, len(bounds))
        stream.add(hidden, last=True)
        return stream.finish(bounds, text, style)

    def finish(self, token: np.ndarray, paragraph: np.ndarray, mean: np.ndarray, bounds: list[tuple[int, int]],
               text: str, style: str) -> HeadOutputs:
        """The heads' logits from the token and paragraph heads' and the article's mean."""
        if style not in STYLES:
            raise ValueError(f"unknown annotation style {style!r}; expected one of {STYLES}")
        w = self.w
        if style == "mt" and "paragraph_mt_b" in w:
            paragraph = paragraph + w["paragraph_mt_b"]
        if self.words is not None:
            said = self.words.logits([text[s:e] for s, e in bounds], style)
            paragraph = (1 - self.words.share) * paragraph + self.words.share * said
        words = self.text(text, len(bounds)) if self.text is not None else None
        genre_input = words if self.genre_reads_text and words is not None else mean
        genre = genre_input @ w["genre_w"].T + w["genre_b"]
        frames = mean @ w["frame_w"].T + w["frame_b"]
        if "frame_text_w" in w and words is not None:
            # Two views of the topic, averaged: the encoder's and the words'.
            frames = (frames + words @ w["frame_text_w"].T + w["frame_text_b"]) / 2
        return HeadOutputs(token=token, paragraph=paragraph, genre=genre, frames=frames)
