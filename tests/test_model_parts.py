"""The model's torch-free parts: windows, stitching, heads, span decoding, metrics."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from unspin.evaluation import SpanCounts, macro_f1_single, merge_spans, multilabel_f1
from unspin.model.decode import decode_article, with_evidence, word_roles
from unspin.model.heads import Heads
from unspin.model.runtime import inference_session
from unspin.model.windows import owned_rows, ownership, plan_windows, token_paragraphs, window_batch


@pytest.mark.parametrize("n", [0, 1, 253, 254, 255, 600, 1000, 5000])
def test_windows_cover_every_token_and_owners_partition_them(n: int) -> None:
    windows = plan_windows(n, size=254, stride=192)
    assert windows[0][0] == 0 and windows[-1][1] == n
    assert all(e - s <= 254 for s, e in windows)
    owned = ownership(windows)
    covered = [i for lo, hi in owned for i in range(lo, hi)]
    assert covered == list(range(n))  # each token owned exactly once, in order
    for (s, e), (lo, hi) in zip(windows, owned, strict=True):
        assert s <= lo <= hi <= e


def test_stitch_takes_each_token_from_its_owner() -> None:
    n = 700
    ids = np.arange(1000, 1000 + n)
    windows = plan_windows(n, size=254, stride=192)
    batch, mask = window_batch(ids, windows)
    assert (batch[:, 0] == 101).all() and mask.sum(1).tolist() == [e - s + 2 for s, e in windows]
    # A fake encoder that outputs the input id as the hidden state recovers the sequence.
    hidden = batch[..., None].astype(np.float32)
    assert owned_rows(hidden, windows, ownership(windows))[:, 0].tolist() == ids.tolist()


def test_token_paragraphs_by_start_offset() -> None:
    offsets = np.array([[0, 3], [4, 8], [10, 12], [13, 20], [25, 30]])
    assert token_paragraphs(offsets, [(0, 8), (10, 20)]).tolist() == [0, 0, 1, 1, -1]


def _text_tokens(text: str) -> tuple[np.ndarray, np.ndarray]:
    words = text.split(" ")
    offsets, pos = [], 0
    for w in words:
        offsets.append((pos, pos + len(w)))
        pos += len(w) + 1
    return np.array(offsets), np.arange(len(words))


def decode_spans(probs, offsets, words, para, thresholds, names, text, gaps=None, on=None):
    """Decode with every paragraph agreeing (``on``: [P, T] paragraph probabilities)."""
    n_para = int(para.max()) + 1
    pprobs = np.ones((n_para, probs.shape[1])) if on is None else on
    spans, _ = decode_article(probs, pprobs, offsets, words, para, thresholds,
                              np.full(probs.shape[1], 0.5), names, text, gaps)
    return spans


def test_decode_spans_on_word_boundaries_and_never_across_paragraphs() -> None:
    text = "they are corrupt liars and cowards"
    offsets, words = _text_tokens(text)
    probs = np.zeros((len(words), 2))
    probs[2:4, 0] = 0.9  # "corrupt liars"
    probs[3:6, 1] = 0.8  # "liars and cowards", overlapping the first
    para = np.array([0, 0, 0, 0, 1, 1])  # a paragraph break before "and"
    on = np.array([[0.9, 0.7], [0.0, 0.6]])
    spans = decode_spans(probs, offsets, words, para, np.array([0.5, 0.5]), ("A", "B"), text, on=on)
    got = [(s.technique, text[s.start : s.end], s.score) for s in spans]
    # Each span carries its paragraph's confidence: one story per article.
    assert got == [("A", "corrupt liars", 0.9), ("B", "liars", 0.7), ("B", "and cowards", 0.6)]


def test_decode_shows_no_span_where_its_paragraph_disagrees() -> None:
    text = "they are corrupt liars"
    offsets, words = _text_tokens(text)
    probs = np.zeros((4, 1))
    probs[2:4, 0] = 0.95
    para = np.zeros(4, dtype=int)
    spans, on = decode_article(probs, np.array([[0.2]]), offsets, words, para, np.array([0.5]),
                               np.array([0.5]), ("A",), text)
    assert spans == [] and not on.any()


def test_decode_backs_every_paragraph_label_with_its_strongest_phrase() -> None:
    text = "a b c d e"
    offsets, words = _text_tokens(text)
    probs = np.array([[0.05], [0.3], [0.4], [0.1], [0.25]])  # nothing clears the span threshold
    para = np.zeros(5, dtype=int)
    spans, on = decode_article(probs, np.array([[0.8]]), offsets, words, para, np.array([0.5]),
                               np.array([0.5]), ("A",), text, peak_share=0.5)
    assert on.tolist() == [[True]]
    # The words around the peak ("c") that keep half its probability; "e" is not contiguous.
    assert [(text[s.start : s.end], s.score) for s in spans] == [("b c", 0.8)]


def test_decode_weaker_spans_of_a_paragraph_score_below_its_best() -> None:
    text = "x y z w"
    offsets, words = _text_tokens(text)
    probs = np.array([[0.9], [0.1], [0.6], [0.1]])
    spans, _ = decode_article(probs, np.array([[0.8]]), offsets, words, np.zeros(4, dtype=int),
                              np.array([0.5]), np.array([0.5]), ("A",), text)
    assert [(text[s.start : s.end], s.score) for s in spans] == [("x", 0.8), ("z", round(0.8 * 0.6 / 0.9, 4))]


def test_decode_spans_word_level_max_extends_to_whole_words() -> None:
    text = "unbelievable"
    offsets = np.array([[0, 2], [2, 6], [6, 12]])
    words = np.array([0, 0, 0])  # one word split into three pieces
    probs = np.array([[0.1], [0.9], [0.2]])
    (span,) = decode_spans(probs, offsets, words, np.zeros(3, dtype=int), np.array([0.5]), ("A",), text)
    assert (span.start, span.end) == (0, 12)


def test_heads_pool_paragraphs_like_training() -> None:
    rng = np.random.default_rng(0)
    h, t = 4, 3
    w = {
        "token_w": rng.normal(size=(t, h)), "token_b": np.zeros(t),
        "paragraph_w": rng.normal(size=(t, 2 * h + t)), "paragraph_b": np.zeros(t),
        "genre_w": rng.normal(size=(3, h)), "genre_b": np.zeros(3),
        "frame_w": rng.normal(size=(5, h)), "frame_b": np.zeros(5),
    }
    hidden = rng.normal(size=(6, h)).astype(np.float32)
    para = np.array([0, 0, 1, 1, 1, -1])
    out = Heads(w)(hidden, para, [(0, 0), (0, 0)])
    assert out.token.shape == (6, t) and out.paragraph.shape == (2, t)
    probs = 1 / (1 + np.exp(-out.token))
    feats = np.concatenate([hidden[2:5].mean(0), hidden[2:5].max(0), probs[2:5].max(0)])
    np.testing.assert_allclose(out.paragraph[1], feats @ w["paragraph_w"].T, rtol=1e-5)
    np.testing.assert_allclose(out.genre, hidden.mean(0) @ w["genre_w"].T, rtol=1e-5)


def test_span_f1_partial_overlap_credit() -> None:
    c = SpanCounts()
    # Predicted 0-10 vs gold 5-15 (same technique): overlap 5 -> P credit 0.5, R credit 0.5.
    c.add([("A", 0, 10), ("B", 0, 4)], [("A", 5, 15)])
    assert c.precision == pytest.approx(0.25)  # (0.5 + 0) / 2 predictions
    assert c.recall == pytest.approx(0.5)
    assert c.f1 == pytest.approx(2 * 0.25 * 0.5 / 0.75)


def test_span_f1_merges_overlapping_spans_of_one_technique() -> None:
    assert merge_spans([("A", 0, 5), ("A", 3, 9), ("A", 12, 14), ("B", 1, 2)]) == {
        "A": [(0, 9), (12, 14)], "B": [(1, 2)]}
    c = SpanCounts()
    c.add([("A", 0, 5), ("A", 3, 9)], [("A", 0, 9)])
    assert c.f1 == pytest.approx(1.0)


def test_multilabel_and_single_label_f1() -> None:
    m = multilabel_f1([["A"], ["A", "B"], []], [["A"], ["B"], ["C"]], ["A", "B", "C"])
    assert m["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert macro_f1_single(["x", "x", "y"], ["x", "y", "y"], ["x", "y", "z"]) == pytest.approx(2 / 3)


def test_decode_bridges_short_gaps_but_not_paragraph_breaks() -> None:
    text = "x b c k e f g"
    offsets, words = _text_tokens(text)
    probs = np.array([[0.9], [0.1], [0.9], [0.1], [0.1], [0.1], [0.9]])
    para = np.zeros(7, dtype=int)
    spans = decode_spans(probs, offsets, words, para, np.array([0.5]), ("A",), text, gaps=np.array([1]))
    assert [text[s.start : s.end] for s in spans] == ["x b c", "g"]
    para[2:] = 1  # the gap now separates two paragraphs: never bridged
    spans = decode_spans(probs, offsets, words, para, np.array([0.5]), ("A",), text, gaps=np.array([1]))
    assert [text[s.start : s.end] for s in spans] == ["x", "c", "g"]


def test_decode_never_highlights_only_function_words() -> None:
    text = "the war machine of the regime"
    offsets, words = _text_tokens(text)
    probs = np.array([[0.9], [0.2], [0.2], [0.9], [0.9], [0.2]])  # peaks on "the", "of the"
    spans = decode_spans(probs, offsets, words, np.zeros(6, dtype=int), np.array([0.5]), ("A",), text)
    assert spans == []
    spans, on = decode_article(probs, np.array([[0.8]]), offsets, words, np.zeros(6, dtype=int),
                               np.array([0.5]), np.array([0.5]), ("A",), text)
    assert [text[s.start : s.end] for s in spans] == [] and not on.any()  # no evidence: no label


def test_sentence_level_techniques_show_whole_sentences() -> None:
    text = "U.S. officials met. She lied about it wildly today. Then they left!"
    offsets, words = _text_tokens(text)
    probs = np.zeros((len(offsets), 2))
    lied = [i for i, (s, e) in enumerate(offsets) if text[s:e] in ("lied", "wildly")]
    probs[lied] = 0.9  # two runs of both techniques in the second sentence
    para = np.zeros(len(offsets), dtype=int)
    spans, on = decode_article(probs, np.array([[0.8, 0.7]]), offsets, words, para, np.array([0.5, 0.5]),
                               np.array([0.5, 0.5]), ("Doubt", "LL"), text, sentence_level=np.array([True, False]))
    shown = [(s.technique, text[s.start : s.end]) for s in spans]
    assert ("Doubt", "She lied about it wildly today.") in shown  # one sentence, shown once
    assert sum(t == "Doubt" for t, _ in shown) == 1
    assert [w for t, w in shown if t == "LL"] == ["lied", "wildly"]  # phrase-level: the words
    assert on.all()
    probs[:] = 0
    probs[[i for i, (s, e) in enumerate(offsets) if text[s:e] == "officials"], 0] = 0.9
    spans, _ = decode_article(probs, np.array([[0.8, 0.0]]), offsets, words, para, np.array([0.5, 0.5]),
                              np.array([0.5, 0.5]), ("Doubt", "LL"), text, sentence_level=np.array([True, False]))
    assert [text[s.start : s.end] for s in spans] == ["U.S. officials met."]  # "U.S." ends no sentence


def test_phrase_level_techniques_never_show_a_lone_word() -> None:
    """A technique whose annotated spans are almost never one word (Flag_Waving) shows a
    lone word as its sentence; a phrase of it, and a lone word of another, stay as they are."""
    text = "Allies joined the pact on Monday. Our proud nation stands tall. Then they left."
    offsets, words = _text_tokens(text)
    probs = np.zeros((len(offsets), 2))
    for word in ("joined", "proud", "nation"):
        probs[[i for i, (s, e) in enumerate(offsets) if text[s:e] == word], 0] = 0.9
    probs[[i for i, (s, e) in enumerate(offsets) if text[s:e] == "left."], 1] = 0.9
    para = np.zeros(len(offsets), dtype=int)
    args = (probs, np.array([[0.8, 0.8]]), offsets, words, para, np.array([0.5, 0.5]),
            np.array([0.5, 0.5]), ("Flag_Waving", "LL"), text)
    plain, _ = decode_article(*args)
    assert [text[s.start : s.end] for s in plain] == ["joined", "proud nation", "left."]
    grown, _ = decode_article(*args, phrase_level=np.array([True, False]))
    assert [(s.technique, text[s.start : s.end]) for s in grown] == [
        ("Flag_Waving", "Allies joined the pact on Monday."), ("Flag_Waving", "proud nation"), ("LL", "left.")]


def test_best_threshold_picks_the_first_best_and_falls_back_when_nothing_scores() -> None:
    from unspin.evaluation import best_threshold

    probs = np.array([0.9, 0.8, 0.3, 0.2])
    gold = np.array([True, True, False, False])
    assert best_threshold(probs, gold, [0.1, 0.5, 0.7, 0.95]) == (0.5, 1.0)
    assert best_threshold(probs, ~gold | True, [0.1, 0.5]) == (0.1, 1.0)
    none = np.zeros(4, dtype=bool)
    assert best_threshold(probs, none, [0.1, 0.5], default=0.5) == (0.5, 0.0)
    assert best_threshold(probs, none, [0.1, 0.5]) == (0.1, 0.0)


def test_repetition_is_shown_only_on_what_the_article_repeats() -> None:
    text = "the swamp wins . drain the swamp now , creator"
    offsets, words = _text_tokens(text)
    content, repeatable = word_roles(text, offsets)
    assert repeatable.tolist() == [  # "the", "now": function words; ".", ",": punctuation
        True, True, False, True, False, True, True, True, True, False]
    assert content.tolist() == [False, True, True, False, True, False, True, False, False, True]
    probs = np.zeros((len(words), 2))
    probs[-1] = 0.9  # "creator": used once, a Repetition run and the paragraph's peak for both
    probs[6] = [0.3, 0.3]  # the second "swamp"
    para = np.zeros(len(words), dtype=int)
    spans, on = decode_article(probs, np.array([[0.8, 0.8]]), offsets, words, para, np.array([0.5, 0.5]),
                               np.array([0.5, 0.5]), ("Repetition", "Loaded_Language"), text)
    got = sorted((s.technique, text[s.start : s.end]) for s in spans)
    assert got == [("Loaded_Language", "creator"), ("Repetition", "swamp")]
    nothing_repeated = "a creator speaks"
    offsets, words = _text_tokens(nothing_repeated)
    spans, on = decode_article(np.full((3, 1), 0.9), np.array([[0.8]]), offsets, words, np.zeros(3, dtype=int),
                               np.array([0.5]), np.array([0.5]), ("Repetition",), nothing_repeated)
    assert spans == [] and not on.any()  # no highlight to show: no label either


def test_fallback_phrase_is_where_both_views_point() -> None:
    text = "they watch the sky while so called experts count fees"
    offsets, words = _text_tokens(text)
    probs = np.full((len(words), 1), 0.1)
    probs[3] = 0.3  # "sky": the token head's weak peak, below the span threshold
    probs[5:7] = 0.25  # "so called"
    lexical = np.zeros((len(words), 1))
    lexical[5:8] = [[2.0], [2.0], [0.5]]  # the words view: "so called" (and a little "experts")
    para = np.zeros(len(words), dtype=int)
    args = (probs, np.array([[0.8]]), offsets, words, para, np.array([0.5]), np.array([0.5]), ("A",), text)
    alone, _ = decode_article(*args, peak_share=0.5)
    both, _ = decode_article(*args, peak_share=0.5, lexical=lexical)
    assert [text[s.start : s.end] for s in alone] == ["sky"]
    assert [(text[s.start : s.end], s.score) for s in both] == [("so called", 0.8)]


def test_spans_never_cut_hyphenated_or_apostrophised_words() -> None:
    text = "a US-installed puppet said ‘no self-control’ at the Kremlin's door"
    pieces = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]
    offsets = np.array(pieces)
    words = np.arange(len(pieces))  # every piece its own word, as a tokenizer splits "US", "-"
    probs = np.zeros((len(pieces), 1))
    for piece in ("US", "-", "self", "control", "Kremlin"):
        probs[[i for i, (s, e) in enumerate(pieces) if text[s:e] == piece]] = 0.9
    spans = decode_spans(probs, offsets, words, np.zeros(len(pieces), dtype=int), np.array([0.5]), ("A",), text)
    # "US-" grows to the whole word; "self" and "control" are one span; the closing quote
    # is not part of a word.
    assert [text[s.start : s.end] for s in spans] == ["US-installed", "self-control", "Kremlin's"]


def test_a_sure_word_adds_its_technique_to_a_paragraph_that_missed_it() -> None:
    text = "they call him a puppet . the council met"
    offsets, words = _text_tokens(text)
    probs = np.zeros((len(words), 2))
    probs[4, 0] = 0.9  # "puppet": the token head is sure of technique A
    probs[8, 1] = 0.9  # "met": sure of B, in a paragraph whose head gives B almost nothing
    para = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
    pprobs = np.array([[0.2, 0.0], [0.0, 0.05]])  # below both thresholds
    thresholds = np.array([0.3, 0.3])
    raised = with_evidence(pprobs, probs, para, thresholds, (0.8, 0.5))
    # Paragraph 0 carries A at its threshold (0.2 is at least half of 0.3); B's 0.05 is not.
    assert raised.tolist() == [[0.3, 0.0], [0.0, 0.05]]
    assert with_evidence(pprobs, probs, para, thresholds, None) is pprobs
    assert with_evidence(pprobs, probs, para, thresholds, (0.8, 0.5), style="mt") is pprobs  # English style only
    assert (with_evidence(pprobs, probs, para, thresholds, (0.95, 0.5)) == pprobs).all()  # not sure enough
    spans, on = decode_article(probs, raised, offsets, words, para, np.array([0.5, 0.5]), thresholds, ("A", "B"), text)
    assert [(s.technique, text[s.start : s.end], s.score) for s in spans] == [("A", "puppet", 0.3)]
    assert on.tolist() == [[True, False], [False, False]]


def test_int8_encoder_sessions_compute_exactly_on_every_cpu() -> None:
    """``fixtures/int8-saturation.onnx`` is one MatMulInteger, like the encoder's: a [n, 64]
    uint8 input times 64×4 int8 weights that are all 127. On a CPU without VNNI, ONNX
    Runtime's fast kernel saturates pairs of 255 × 127 products at 32,767 (here 1,048,544
    in place of 2,072,640), and the shipped encoder's detections would depend on the CPU.
    (Where VNNI exists the fast kernel is exact too, so there this cannot fail.)"""
    session = inference_session(Path(__file__).parent / "fixtures" / "int8-saturation.onnx", threads=1)
    (out,) = session.run(None, {"A": np.full((3, 64), 255, dtype=np.uint8)})
    assert (out == 255 * 127 * 64).all()


# -- long articles: streamed, in pieces and in groups, to the last bit -----------------------


def test_a_span_head_places_spans_while_the_paragraph_head_reads_the_token_head() -> None:
    """With ``span_w`` the token output is the span head's (plus its translated offset for
    that style), and the paragraph features still hold the token head's probabilities the
    paragraph head was fitted on."""
    rng = np.random.default_rng(1)
    h, t = 4, 3
    w = {
        "token_w": rng.normal(size=(t, h)), "token_b": np.zeros(t),
        "span_w": rng.normal(size=(t, h)), "span_b": np.ones(t), "span_mt_b": np.full(t, 2.0),
        "paragraph_w": rng.normal(size=(t, 2 * h + t)), "paragraph_b": np.zeros(t),
        "genre_w": rng.normal(size=(3, h)), "genre_b": np.zeros(3),
        "frame_w": rng.normal(size=(5, h)), "frame_b": np.zeros(5),
    }
    hidden = rng.normal(size=(5, h)).astype(np.float32)
    para = np.array([0, 0, 0, 1, 1])
    out = Heads(w)(hidden, para, [(0, 0), (0, 0)])
    np.testing.assert_allclose(out.token, hidden @ w["span_w"].T + 1.0, rtol=1e-5)
    probs = 1 / (1 + np.exp(-(hidden @ w["token_w"].T)))
    feats = np.concatenate([hidden[3:].mean(0), hidden[3:].max(0), probs[3:].max(0)])
    np.testing.assert_allclose(out.paragraph[1], feats @ w["paragraph_w"].T, rtol=1e-5)
    translated = Heads(w)(hidden, para, [(0, 0), (0, 0)], style="mt")
    np.testing.assert_allclose(translated.token, out.token + 2.0, rtol=1e-5)


def _shipped_heads() -> Heads:
    from unspin.model import DEFAULT_DIR

    with np.load(DEFAULT_DIR / "heads.npz") as data:
        return Heads({k: data[k] for k in data.files})


def test_heads_fed_in_runs_give_the_whole_article_result_bit_for_bit() -> None:
    """What the runtime streams (batches of encoder rows) equals the heads over the whole
    output: same sums in the same order, no product of too few rows."""
    from unspin.model.heads import HeadStream

    heads = _shipped_heads()
    rng = np.random.default_rng(7)
    n, n_paragraphs = 5000, 1300  # more paragraphs than one block of the paragraph head
    hidden = rng.standard_normal((n, heads.w["token_w"].shape[1])).astype(np.float32)
    token_para = np.sort(rng.integers(0, n_paragraphs, n))
    token_para[rng.random(n) < 0.02] = -1  # tokens outside every paragraph
    token_para = np.where(token_para >= 0, np.maximum.accumulate(token_para), -1)
    text = " ".join(f"w{i}" for i in range(n_paragraphs))
    bounds = [(0, len(text))] * n_paragraphs
    whole = heads(hidden, token_para, bounds, text)
    stream = HeadStream(heads, token_para, n_paragraphs)
    at = 0
    for size in (384, 1536, 7, 1536, 1, 1531):  # odd runs; the last 5 rows go with the ones before
        stream.add(hidden[at : at + size])
        at += size
    stream.add(hidden[at:])
    parts = stream.finish(bounds, text)
    for name in ("token", "paragraph", "genre", "frames"):
        assert np.array_equal(getattr(parts, name), getattr(whole, name)), name


def test_tokenizing_in_pieces_gives_the_whole_texts_tokens() -> None:
    from unspin.model import DEFAULT_DIR
    from unspin.model.windows import encode, load_tokenizer

    tokenizer = load_tokenizer(DEFAULT_DIR / "tokenizer.json")
    text = ("Ünïcödé words, US-installed\u00a0puppets and 12,500.5 numbers!\n\n" * 400) + "中文" * 50
    whole, pieces = encode(tokenizer, text, piece_chars=10**9), encode(tokenizer, text, piece_chars=997)
    assert np.array_equal(whole.ids, pieces.ids) and np.array_equal(whole.offsets, pieces.offsets)
    new_word = lambda w: w[1:] != w[:-1]  # noqa: E731 (word indexes only mark word changes)
    assert np.array_equal(new_word(whole.word_ids), new_word(pieces.word_ids))


def test_decoding_in_groups_of_paragraphs_gives_the_same_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    import unspin.model.decode as decode

    rng = np.random.default_rng(3)
    words = [f"word{i % 97}" for i in range(3000)]
    text = " ".join(words)
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    offsets = np.stack([starts, starts + [len(w) for w in words]], 1)
    token_para = np.arange(3000) // 30  # 100 paragraphs of 30 words
    bounds = [(int(offsets[p * 30, 0]), int(offsets[p * 30 + 29, 1])) for p in range(100)]
    names = ("Loaded_Language", "Repetition", "Doubt")
    probs = rng.random((3000, 3)).astype(np.float32) ** 4
    para = rng.random((100, 3)).astype(np.float32)
    lexical = rng.standard_normal((3000, 3)).astype(np.float32)
    args = (probs, para, offsets, np.arange(3000), token_para, np.full(3, 0.6), np.full(3, 0.5), names, text)
    kwargs = {"sentence_level": np.array([False, False, True])}
    whole = decode_article(*args, lexical=lexical, **kwargs)
    monkeypatch.setattr(decode, "GROUP_TOKENS", 100)
    grouped = decode_article(*args, lexical=lambda ps, ts: lexical[ts[0] : ts[1]], **kwargs)
    assert whole[0] and whole[0] == grouped[0]
    assert np.array_equal(whole[1], grouped[1])
    assert bounds  # paragraphs of 30 words each
