"""Surface features of a whole article, read by the genre and frame heads.

The fine-tuned encoder has seen the genre of every training article, so its pooled output
separates genres on those articles far better than on new ones, and the training data
holds few reports. How an article is written (quotations, attributions, first person,
numbers, sentence length) and which words it uses are not fitted to the training articles,
so a head over them transfers to the news mix instead of memorising the training split.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

TOKEN = re.compile(r"\b\w+\b|[\"“”?!]")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*")
SENTENCE_END = re.compile(r"[.!?]+[\"”’)]*\s+|\n+")
QUOTED = re.compile(r"[\"“”«»]([^\"“”«»\n]{1,400})[\"“”«»]")
ATTRIBUTION = frozenset({"said", "says", "told", "according", "stated", "announced", "reported", "added",
                         "spokesperson", "spokesman", "statement", "confirmed"})
FIRST_SINGULAR = frozenset({"i", "me", "my", "mine", "myself"})
FIRST_PLURAL = frozenset({"we", "us", "our", "ours", "ourselves"})
SECOND_PERSON = frozenset({"you", "your", "yours", "yourself"})
MODAL = frozenset({"should", "must", "ought", "need", "needs"})
TEXT_KEYS = ("words_vocabulary", "words_idf", "style_mean", "style_scale")  # in heads.npz
STYLE_WEIGHT = 0.3  # the style features' scale beside the unit-length word vector
STYLE_CLIP = 3.0  # standard deviations: a five-word note is not "very short, so satire"
STYLE_NAMES = (
    "quoted share", "attributions", "first person singular", "first person plural", "second person",
    "modals", "question marks", "exclamation marks", "numbers", "capitalised words",
    "log words per sentence", "log words per paragraph", "log words",
)


def style_features(text: str, n_paragraphs: int) -> np.ndarray:
    """How the article is written: rates per 100 words, quotation share, lengths."""
    words = WORD.findall(text)
    n = max(len(words), 1)
    lower = [w.lower() for w in words]
    sentences = max(sum(1 for s in SENTENCE_END.split(text) if s.strip()), 1)
    quoted = sum(len(m.group(1)) for m in QUOTED.finditer(text))

    def rate(vocabulary: frozenset[str]) -> float:
        return 100 * sum(w in vocabulary for w in lower) / n

    return np.array([
        quoted / max(len(text), 1),
        rate(ATTRIBUTION), rate(FIRST_SINGULAR), rate(FIRST_PLURAL), rate(SECOND_PERSON), rate(MODAL),
        100 * text.count("?") / n, 100 * text.count("!") / n,
        100 * sum(w[0].isdigit() for w in words) / n,
        100 * sum(w[0].isupper() for w in words) / n,
        math.log1p(n / sentences), math.log1p(n / max(n_paragraphs, 1)), math.log1p(n),
    ], dtype=np.float32)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


class TextFeatures:
    """Sublinear TF-IDF over a fixed vocabulary, followed by the style features,
    standardised, clipped and weighted."""

    def __init__(self, vocabulary: np.ndarray, idf: np.ndarray, style_mean: np.ndarray, style_scale: np.ndarray):
        self.index = {w: i for i, w in enumerate(vocabulary.tolist())}
        self.idf = idf.astype(np.float32)
        self.style_mean = style_mean.astype(np.float32)
        self.style_scale = style_scale.astype(np.float32)

    @classmethod
    def from_weights(cls, w: dict[str, np.ndarray]) -> TextFeatures | None:
        if not all(k in w for k in TEXT_KEYS):
            return None
        return cls(*(np.asarray(w[k]) for k in TEXT_KEYS))

    def weights(self) -> dict[str, np.ndarray]:
        vocabulary = np.array(sorted(self.index, key=self.index.__getitem__))
        return dict(zip(TEXT_KEYS, (vocabulary, self.idf, self.style_mean, self.style_scale), strict=True))

    @classmethod
    def fit(cls, texts: list[str], n_paragraphs: list[int], *, min_df: int = 5, max_words: int = 2000
            ) -> TextFeatures:
        """Vocabulary: the ``max_words`` most frequent tokens found in at least ``min_df``
        articles; smoothed IDF; style features standardised on the same articles."""
        df: Counter[str] = Counter()
        tf: Counter[str] = Counter()
        for t in texts:
            toks = tokens(t)
            tf.update(toks)
            df.update(set(toks))
        kept = sorted((w for w in df if df[w] >= min_df), key=lambda w: (-tf[w], w))[:max_words]
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[w])) + 1 for w in kept], dtype=np.float32)
        style = np.stack([style_features(t, p) for t, p in zip(texts, n_paragraphs, strict=True)])
        return cls(np.array(kept), idf, style.mean(0), 1.0 / (style.std(0) + 1e-6))

    def __call__(self, text: str, n_paragraphs: int) -> np.ndarray:
        counts = Counter(i for i in map(self.index.get, tokens(text)) if i is not None)
        words = np.zeros(len(self.idf), dtype=np.float32)
        for i, c in counts.items():
            words[i] = (1.0 + math.log(c)) * self.idf[i]
        norm = float(np.linalg.norm(words))
        if norm > 0:
            words /= norm
        z = (style_features(text, n_paragraphs) - self.style_mean) * self.style_scale
        return np.concatenate([words, STYLE_WEIGHT * np.clip(z, -STYLE_CLIP, STYLE_CLIP)])

