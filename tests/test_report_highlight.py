"""Overlapping spans become properly nested fragments that give back the exact text."""

from __future__ import annotations

from fixtures_reports import article, hostile, oped
from hypothesis import given, settings
from hypothesis import strategies as st

from unspin.document import Article, Paragraph
from unspin.report.highlight import Fragment, SpanIndex, blocks, lanes, nest

TEXT = "abcdefghijklmnopqrstuvwxyz0123456789"


def _fragments(nodes: list[Fragment | str], depth: int = 0) -> list[tuple[Fragment, int]]:
    out = []
    for n in nodes:
        if isinstance(n, Fragment):
            out.append((n, depth))
            out.extend(_fragments(n.children, depth + 1))
    return out


def _text(nodes: list[Fragment | str]) -> str:
    return "".join(n if isinstance(n, str) else _text(n.children) for n in nodes)


def test_crossing_spans_are_split() -> None:
    spans = [(0, 10), (2, 5), (5, 14), (12, 16)]
    nodes = nest(TEXT, 0, 16, spans)
    assert _text(nodes) == TEXT[:16]
    by_span: dict[int, list[Fragment]] = {}
    for f, _ in _fragments(nodes):
        by_span.setdefault(f.span, []).append(f)
    assert [(f.start, f.end) for f in by_span[2]] == [(5, 10), (10, 14)]
    assert [f.first for f in by_span[2]] == [True, False]
    assert len(by_span[0]) == len(by_span[1]) == 1


def test_same_start_puts_the_longer_span_outside() -> None:
    nodes = nest(TEXT, 0, 20, [(3, 6), (3, 12)])
    outer = next(n for n in nodes if isinstance(n, Fragment))
    assert (
        outer.span == 1 and isinstance(outer.children[0], Fragment) and outer.children[0].span == 0
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 35), st.integers(1, 20)), max_size=12), st.integers(0, 10))
def test_fragments_reconstruct_every_span(raw: list[tuple[int, int]], lo: int) -> None:
    hi = len(TEXT) - 2
    spans = [(s, min(s + n, len(TEXT))) for s, n in raw]
    nodes = nest(TEXT, lo, hi, spans)
    assert _text(nodes) == TEXT[lo:hi]
    pieces: dict[int, list[Fragment]] = {}
    for f, _ in _fragments(nodes):
        assert f.start < f.end
        assert _text(f.children) == TEXT[f.start : f.end]
        for child in f.children:  # children lie inside their parent
            if isinstance(child, Fragment):
                assert f.start <= child.start and child.end <= f.end
        pieces.setdefault(f.span, []).append(f)
    for i, (s, e) in enumerate(spans):
        s, e = max(s, lo), min(e, hi)
        if s >= e:
            assert i not in pieces
            continue
        frags = sorted(pieces[i], key=lambda f: f.start)
        assert "".join(TEXT[f.start : f.end] for f in frags) == TEXT[s:e]
        assert frags[0].start == s and frags[-1].end == e
        assert [f.first for f in frags] == [True] + [False] * (len(frags) - 1)
    lane = lanes(spans)
    for i, (s1, e1) in enumerate(spans):
        for j, (s2, e2) in enumerate(spans):
            if i < j and s1 < e2 and s2 < e1:
                assert lane[i] != lane[j]


def test_blocks_keep_text_outside_paragraphs() -> None:
    a = Article(
        text="Headline\n\nFirst para.\n\nSecond para.\n\nTrailer",
        paragraphs=[Paragraph(0, 10, 21), Paragraph(1, 23, 35)],
    )
    got = [(b.paragraph, a.text[b.start : b.end]) for b in blocks(a)]
    assert got == [
        (None, "Headline\n\n"),
        (0, "First para."),
        (1, "Second para."),
        (None, "\n\nTrailer"),
    ]


def test_blocks_of_fixtures_are_their_paragraphs() -> None:
    for analysis in (oped(), hostile()):
        bs = blocks(analysis.article)
        assert [b.paragraph for b in bs] == list(range(len(analysis.article.paragraphs)))


def test_blocks_without_paragraphs() -> None:
    a = article(["Only one."])
    a.paragraphs = []
    assert [(b.start, b.end, b.paragraph) for b in blocks(a)] == [(0, 9, 0)]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(1, 60)), max_size=30),
    st.integers(0, 220),
    st.integers(1, 80),
)
def test_span_index_finds_exactly_the_overlapping_spans(
    raw: list[tuple[int, int]], lo: int, length: int
) -> None:
    spans = [(s, s + n) for s, n in raw]
    hi = lo + length
    expected = [i for i, (s, e) in enumerate(spans) if s < hi and e > lo]
    assert SpanIndex(spans).overlapping(lo, hi) == expected
