"""Surface features of text: TF-IDF over a fixed vocabulary of words (and word pairs, for
paragraphs), and how a whole article is written. The paragraph head reads a paragraph's
words beside the encoder; the genre and frame heads read the article's.

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
from collections.abc import Iterable

import numpy as np

from .meta import DEFAULT_INFERENCE, Inference

TOKEN = re.compile(r"\b\w+\b|[\"“”?!]")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*")
SENTENCE_END = re.compile(r"[.!?]+[\"”’)]*\s+|\n+")  # the rule the style features were trained with (not sentences.py): a retrain changes it
QUOTED = re.compile(r"[\"“”«»]([^\"“”«»\n]{1,400})[\"“”«»]")
ATTRIBUTION = frozenset({"said", "says", "told", "according", "stated", "announced", "reported", "added",
                         "spokesperson", "spokesman", "statement", "confirmed"})
FIRST_SINGULAR = frozenset({"i", "me", "my", "mine", "myself"})
FIRST_PLURAL = frozenset({"we", "us", "our", "ours", "ourselves"})
SECOND_PERSON = frozenset({"you", "your", "yours", "yourself"})
MODAL = frozenset({"should", "must", "ought", "need", "needs"})
TEXT_KEYS = ("words_vocabulary", "words_idf", "style_mean", "style_scale")  # in heads.npz
STYLE_NAMES = (
    "quoted share", "attributions", "first person singular", "first person plural", "second person",
    "modals", "question marks", "exclamation marks", "numbers", "capitalised words",
    "log words per sentence", "log words per paragraph", "log words",
)


_VOCABULARIES = (ATTRIBUTION, FIRST_SINGULAR, FIRST_PLURAL, SECOND_PERSON, MODAL)


def style_features(text: str, n_paragraphs: int) -> np.ndarray:
    """How the article is written: rates per 100 words, quotation share, lengths. Counted
    in one pass over the words, which are never all held at once (a long text)."""
    in_vocabulary = [0] * len(_VOCABULARIES)
    words, digits, capitals = 0, 0, 0
    for m in WORD.finditer(text):
        w = m.group()
        words += 1
        digits += w[0].isdigit()
        capitals += w[0].isupper()
        lower = w.lower()
        for i, vocabulary in enumerate(_VOCABULARIES):
            in_vocabulary[i] += lower in vocabulary
    n = max(words, 1)
    sentences = max(sum(1 for s in SENTENCE_END.split(text) if s.strip()), 1)
    quoted = sum(len(m.group(1)) for m in QUOTED.finditer(text))
    return np.array([
        quoted / max(len(text), 1),
        *(100 * k / n for k in in_vocabulary),
        100 * text.count("?") / n, 100 * text.count("!") / n,
        100 * digits / n,
        100 * capitals / n,
        math.log1p(n / sentences), math.log1p(n / max(n_paragraphs, 1)), math.log1p(n),
    ], dtype=np.float32)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


class Tfidf:
    """Sublinear TF-IDF over a fixed vocabulary of word n-grams (1 to ``ngrams`` tokens),
    scaled to unit length."""

    def __init__(self, vocabulary: np.ndarray, idf: np.ndarray, ngrams: int = 1):
        self.vocabulary = [str(v) for v in vocabulary.tolist()]
        self.index = {w: i for i, w in enumerate(self.vocabulary)}
        self.idf = idf.astype(np.float32)
        self.ngrams = int(ngrams)

    def terms(self, text: str) -> Iterable[str]:
        """The text's tokens, then its n-grams; lazily for single words (a whole article)."""
        if self.ngrams == 1:
            return (m.group() for m in TOKEN.finditer(text.lower()))
        toks = tokens(text)
        out = list(toks)
        for n in range(2, self.ngrams + 1):
            out += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
        return out

    @classmethod
    def fit(cls, texts: list[str], *, min_df: int, max_terms: int, ngrams: int = 1) -> Tfidf:
        """Vocabulary: the ``max_terms`` most frequent terms found in at least ``min_df``
        texts; smoothed IDF."""
        df: Counter[str] = Counter()
        tf: Counter[str] = Counter()
        blank = cls(np.array([]), np.zeros(0), ngrams)
        for t in texts:
            terms = list(blank.terms(t))
            tf.update(terms)
            df.update(set(terms))
        kept = sorted((w for w in df if df[w] >= min_df), key=lambda w: (-tf[w], w))[:max_terms]
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[w])) + 1 for w in kept], dtype=np.float32)
        return cls(np.array(kept), idf, ngrams)

    def sparse(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of the text's non-zero entries."""
        counts = Counter(i for i in map(self.index.get, self.terms(text)) if i is not None)
        idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
        values = np.array([(1.0 + math.log(c)) * self.idf[i] for i, c in counts.items()], dtype=np.float32)
        norm = float(np.linalg.norm(values))
        return idx, values / norm if norm > 0 else values

    def __call__(self, text: str) -> np.ndarray:
        out = np.zeros(len(self.idf), dtype=np.float32)
        idx, values = self.sparse(text)
        out[idx] = values
        return out

    def matrix(self, texts: list[str]):  # -> scipy.sparse.csr_matrix (training only)
        from scipy.sparse import csr_matrix

        rows = [self.sparse(t) for t in texts]
        indptr = np.cumsum([0] + [len(i) for i, _ in rows])
        idx = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
        values = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, dtype=np.float32)
        return csr_matrix((values, idx, indptr), shape=(len(texts), len(self.idf)))


class TextFeatures:
    """Sublinear TF-IDF over a fixed vocabulary, followed by the style features,
    standardised, clipped and weighted."""

    def __init__(self, vocabulary: np.ndarray, idf: np.ndarray, style_mean: np.ndarray, style_scale: np.ndarray,
                 settings: Inference = DEFAULT_INFERENCE):
        """``settings``: the style features' weight and clip (``model.json``'s inference)."""
        self.words = Tfidf(vocabulary, idf)
        self.style_mean = style_mean.astype(np.float32)
        self.style_scale = style_scale.astype(np.float32)
        self.style_weight, self.style_clip = settings.style_weight, settings.style_clip

    @classmethod
    def from_weights(cls, w: dict[str, np.ndarray], settings: Inference = DEFAULT_INFERENCE) -> TextFeatures | None:
        if not all(k in w for k in TEXT_KEYS):
            return None
        vocabulary, idf, mean, scale = (np.asarray(w[k]) for k in TEXT_KEYS)
        return cls(vocabulary, idf, mean, scale, settings)

    def weights(self) -> dict[str, np.ndarray]:
        values = (np.array(self.words.vocabulary), self.words.idf, self.style_mean, self.style_scale)
        return dict(zip(TEXT_KEYS, values, strict=True))

    @classmethod
    def fit(cls, texts: list[str], n_paragraphs: list[int], *, min_df: int = 5, max_words: int = 2000
            ) -> TextFeatures:
        """Vocabulary: the ``max_words`` most frequent tokens found in at least ``min_df``
        articles; style features standardised on the same articles."""
        words = Tfidf.fit(texts, min_df=min_df, max_terms=max_words)
        style = np.stack([style_features(t, p) for t, p in zip(texts, n_paragraphs, strict=True)])
        return cls(np.array(words.vocabulary), words.idf, style.mean(0), 1.0 / (style.std(0) + 1e-6))

    def __call__(self, text: str, n_paragraphs: int) -> np.ndarray:
        z = (style_features(text, n_paragraphs) - self.style_mean) * self.style_scale
        return np.concatenate([self.words(text), self.style_weight * np.clip(z, -self.style_clip, self.style_clip)])
