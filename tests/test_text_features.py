"""The article-level text features and the annotation-style offset of the heads."""

from __future__ import annotations

import re

import numpy as np
import pytest

from unspin.model.heads import Heads, ParagraphWords
from unspin.model.text_features import STYLE_NAMES, TextFeatures, Tfidf, style_features

REPORT = ('The ministry said on Tuesday that 42 people were evacuated. "We are monitoring the river," '
          "a spokesman told reporters, according to a statement.")
OPINION = "I think we must stop this madness now! Why should you pay for their mistakes? We deserve better!"


def feature(text: str, name: str) -> float:
    return float(style_features(text, 1)[STYLE_NAMES.index(name)])


def test_style_features_tell_a_report_from_an_opinion() -> None:
    assert feature(REPORT, "attributions") > 10 > feature(OPINION, "attributions")
    assert feature(REPORT, "quoted share") > 0.15 and feature(OPINION, "quoted share") == 0
    assert feature(OPINION, "first person singular") > 0 == feature(REPORT, "first person singular")
    assert feature(OPINION, "exclamation marks") > 0 == feature(REPORT, "exclamation marks")
    assert feature(REPORT, "numbers") > 0 == feature(OPINION, "numbers")


def test_style_features_of_empty_text_are_finite() -> None:
    assert np.isfinite(style_features("", 0)).all()


def test_text_features_round_trip_through_weights() -> None:
    texts = [REPORT, OPINION, REPORT + " More.", OPINION + " Again!"]
    text = TextFeatures.fit(texts, [1, 1, 1, 1], min_df=2, max_words=50)
    again = TextFeatures.from_weights(text.weights())
    assert again is not None
    np.testing.assert_allclose(again(REPORT, 1), text(REPORT, 1))
    vocabulary = list(text.weights()["words_vocabulary"])
    assert "said" in vocabulary and "zebra" not in vocabulary  # kept only if in >= min_df articles
    words = text(REPORT, 1)[: len(vocabulary)]
    assert np.linalg.norm(words) == pytest.approx(1.0, rel=1e-5)  # L2-normalised TF-IDF
    assert not text("zebra giraffe", 1)[: len(vocabulary)].any()  # unknown words count for nothing


TWO = [(0, 0), (0, 0)]  # two (empty) paragraphs


def test_tfidf_counts_word_pairs_sublinearly() -> None:
    tfidf = Tfidf.fit(["so called experts", "the so called plan", "a plan"], min_df=2, max_terms=10, ngrams=2)
    assert sorted(tfidf.vocabulary) == ["called", "plan", "so", "so called"]
    x = tfidf("So called, so called experts plan")
    assert np.linalg.norm(x) == pytest.approx(1.0, rel=1e-5)
    i = tfidf.index
    # "so called" occurs twice: 1 + log 2 times its IDF; "plan" once (1 x IDF); IDFs of terms
    # in 2 of 3 texts are equal, so the ratio is the sublinear count alone.
    assert x[i["so called"]] / x[i["plan"]] == pytest.approx(1 + np.log(2), rel=1e-5)
    assert "called experts" not in i  # in one text only


def test_tfidf_matrix_has_the_rows_of_single_texts() -> None:
    pytest.importorskip("scipy")  # the sparse matrix is for training (the `train` extra)
    tfidf = Tfidf.fit(["so called experts", "the so called plan", "a plan"], min_df=2, max_terms=10, ngrams=2)
    m = tfidf.matrix(["so called", "nothing known"])
    np.testing.assert_allclose(m.toarray()[0], tfidf("so called"), rtol=1e-6)
    assert m[1].nnz == 0


def test_paragraph_words_view_is_averaged_into_the_paragraph_logits() -> None:
    rng = np.random.default_rng(3)
    texts = ["They are traitors!", "The meeting ends at noon."]
    tfidf = Tfidf.fit(texts, min_df=1, max_terms=50, ngrams=2)
    words = ParagraphWords(tfidf, rng.normal(size=(3, len(tfidf.idf))), np.array([0.1, 0.2, 0.3]),
                           np.array([1.0, 1.0, 1.0]), 0.4)
    base = _weights(rng, 4, 3)
    w = base | words.weights()
    text = " ".join(texts)
    bounds = [(0, len(texts[0])), (len(texts[0]) + 1, len(text))]
    hidden = rng.normal(size=(5, 4)).astype(np.float32)
    para = np.array([0, 0, 1, 1, 1])
    alone = Heads(base)(hidden, para, bounds, text).paragraph
    both = Heads(w)(hidden, para, bounds, text)
    view = np.stack([words.w @ tfidf(t) + words.b for t in texts])
    np.testing.assert_allclose(both.paragraph, 0.6 * alone + 0.4 * view, rtol=1e-4, atol=1e-5)
    mt = Heads(w)(hidden, para, bounds, text, style="mt")
    np.testing.assert_allclose(mt.paragraph - both.paragraph, 0.4 * np.ones((2, 3)), rtol=1e-4)
    again = ParagraphWords.from_weights(words.weights())
    assert again is not None
    np.testing.assert_allclose(again.logits(texts), words.logits(texts), rtol=1e-6)


def _weights(rng: np.random.Generator, h: int, t: int) -> dict[str, np.ndarray]:
    return {
        "token_w": rng.normal(size=(t, h)), "token_b": np.zeros(t),
        "paragraph_w": rng.normal(size=(t, 2 * h + t)), "paragraph_b": np.zeros(t),
        "genre_w": rng.normal(size=(3, h)), "genre_b": np.zeros(3),
        "frame_w": rng.normal(size=(5, h)), "frame_b": np.zeros(5),
    }


def test_translated_style_adds_its_offset_to_paragraphs_only() -> None:
    rng = np.random.default_rng(1)
    w = _weights(rng, 4, 3) | {"paragraph_mt_b": np.array([1.0, -2.0, 0.5])}
    hidden = rng.normal(size=(5, 4)).astype(np.float32)
    para = np.array([0, 0, 1, 1, -1])
    en, mt = Heads(w)(hidden, para, TWO), Heads(w)(hidden, para, TWO, style="mt")
    np.testing.assert_allclose(mt.paragraph - en.paragraph, np.tile(w["paragraph_mt_b"], (2, 1)), rtol=1e-5)
    np.testing.assert_allclose(mt.genre, en.genre)
    with pytest.raises(ValueError, match="annotation style"):
        Heads(w)(hidden, para, TWO, style="fr")


def test_text_genre_head_reads_the_text_and_frames_average_both_views() -> None:
    rng = np.random.default_rng(2)
    text = TextFeatures.fit([REPORT, OPINION], [1, 1], min_df=1, max_words=30)
    d = len(text(REPORT, 1))
    w = _weights(rng, 4, 3) | text.weights() | {
        "genre_w": rng.normal(size=(3, d)), "genre_input": np.array("text"),
        "frame_text_w": rng.normal(size=(5, d)), "frame_text_b": np.zeros(5)}
    hidden = rng.normal(size=(5, 4)).astype(np.float32)
    para = np.zeros(5, dtype=int)
    out = Heads(w)(hidden, para, [(0, len(REPORT))], REPORT)
    x = text(REPORT, 1)
    np.testing.assert_allclose(out.genre, x @ w["genre_w"].T, rtol=1e-4)
    joint = hidden.mean(0) @ w["frame_w"].T
    np.testing.assert_allclose(out.frames, (joint + x @ w["frame_text_w"].T) / 2, rtol=1e-4)
    assert not np.allclose(Heads(w)(hidden, para, [(0, len(OPINION))], OPINION).genre, out.genre)


def test_words_view_contributions_add_up_to_each_paragraphs_logits() -> None:
    rng = np.random.default_rng(5)
    texts = ["They are so called experts, traitors!", "The meeting ends at noon."]
    tfidf = Tfidf.fit(texts + ["so called plan"], min_df=1, max_terms=80, ngrams=2)
    words = ParagraphWords(tfidf, rng.normal(size=(3, len(tfidf.idf))), np.array([0.1, 0.2, 0.3]),
                           np.zeros(3), 0.5)
    text = " ".join(texts)
    bounds = [(0, len(texts[0])), (len(texts[0]) + 1, len(text))]
    # One token per regex word, and "traitors" split into two pieces that share its word.
    found = [(m.start(), m.end()) for m in re.finditer(r"\w+|[!]", text)]
    t = next(i for i, (s, e) in enumerate(found) if text[s:e] == "traitors")
    s, e = found[t]
    offsets = np.array(found[:t] + [(s, s + 5), (s + 5, e)] + found[t + 1 :])
    first_piece = np.ones(len(offsets), dtype=bool)
    first_piece[t + 1] = False
    c = words.contributions(text, bounds, offsets)
    np.testing.assert_allclose(c[t], c[t + 1])  # both pieces carry their word's share
    in_first = offsets[:, 0] < bounds[0][1]
    sums = np.stack([c[first_piece & in_first].sum(0), c[first_piece & ~in_first].sum(0)])
    np.testing.assert_allclose(sums, words.logits(texts) - words.b, rtol=1e-4, atol=1e-5)
