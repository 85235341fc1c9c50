"""The model's heads in numpy, over the stitched encoder output of a whole article.

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


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))


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
    """[mean hidden, max hidden, max token probability] over each paragraph's tokens."""
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
            tokens = np.flatnonzero((starts >= s) & (starts < e))
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
        if style not in STYLES:
            raise ValueError(f"unknown annotation style {style!r}; expected one of {STYLES}")
        w = self.w
        n_paragraphs = len(bounds)
        token = hidden @ w["token_w"].T + w["token_b"]
        feats = paragraph_features(hidden, sigmoid(token), token_para, n_paragraphs)
        paragraph = feats @ w["paragraph_w"].T + w["paragraph_b"]
        if style == "mt" and "paragraph_mt_b" in w:
            paragraph = paragraph + w["paragraph_mt_b"]
        if self.words is not None:
            said = self.words.logits([text[s:e] for s, e in bounds], style)
            paragraph = (1 - self.words.share) * paragraph + self.words.share * said
        mean = article_mean(hidden)
        words = self.text(text, n_paragraphs) if self.text is not None else None
        genre_input = words if self.genre_reads_text and words is not None else mean
        genre = genre_input @ w["genre_w"].T + w["genre_b"]
        frames = mean @ w["frame_w"].T + w["frame_b"]
        if "frame_text_w" in w and words is not None:
            # Two views of the topic, averaged: the encoder's and the words'.
            frames = (frames + words @ w["frame_text_w"].T + w["frame_text_b"]) / 2
        return HeadOutputs(token=token, paragraph=paragraph, genre=genre, frames=frames)
