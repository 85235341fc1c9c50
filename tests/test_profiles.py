"""Persuasion profile numbers and evidence sentences."""

from __future__ import annotations

import pytest
from fixtures_reports import article, no_model, oped, report_article, span
from hypothesis import given, settings
from hypothesis import strategies as st

from unspin.document import Analysis, Article, Span
from unspin.profiles import Profile, paragraphs_of, sentence_around
from unspin.taxonomy import CATEGORIES, TECHNIQUE_NAMES


def test_counts_and_rates() -> None:
    a = oped()
    p = Profile.from_analysis(a)
    assert p.words == a.article.word_count
    assert p.span_count == len(a.spans) == sum(p.counts.values())
    assert p.counts["Loaded_Language"] == 3
    assert p.per_1000["Loaded_Language"] == pytest.approx(3000 / p.words)
    assert p.total_per_1000 == pytest.approx(len(a.spans) * 1000 / p.words)
    assert set(p.category_counts) == set(CATEGORIES)
    assert sum(p.category_counts.values()) == p.span_count
    assert p.category_counts["distraction"] == 0
    assert p.category_per_1000["manipulative_wording"] == pytest.approx(
        sum(p.per_1000[t] for t in ("Loaded_Language", "Repetition", "Exaggeration-Minimisation"))
    )
    # taxonomy order, so tables line up across articles
    assert list(p.counts) == [t for t in TECHNIQUE_NAMES if t in p.counts]
    assert p.paragraphs == 5 and p.paragraphs_with_technique == 5 and p.paragraph_share == 1.0
    assert p.measured


def test_min_score_filters_everything() -> None:
    p = Profile.from_analysis(oped(), min_score=0.85)
    assert p.span_count == 6  # 0.91 0.86 0.93 0.89 0.87 0.9
    assert all(ev.span.score >= 0.85 for ev in p.evidence)
    assert p.min_score == 0.85
    r = Profile.from_analysis(report_article(), min_score=0.5)
    assert r.span_count == 1
    # paragraph 3 ("land grab", labelled 0.6) is the only one left
    assert r.paragraphs_with_technique == 1 and r.paragraph_share == pytest.approx(0.2)


def test_paragraph_share_counts_labels_and_spans() -> None:
    a = report_article()
    p = Profile.from_analysis(a)
    # paragraphs 2 (values: label and span) and 3 (loaded language, popularity)
    assert p.paragraphs_with_technique == 2
    a.paragraphs = []
    assert Profile.from_analysis(a).paragraphs_with_technique == 2


def test_density_integrates_to_span_count() -> None:
    for analysis in (oped(), report_article()):
        p = Profile.from_analysis(analysis, bins=7)
        assert len(p.density) == 7
        words = p.words
        per_bin = [(i + 1) * words // 7 - i * words // 7 for i in range(7)]
        assert sum(d * n / 1000 for d, n in zip(p.density, per_bin, strict=True)) == pytest.approx(
            p.span_count
        )


def test_density_locates_spans() -> None:
    a = oped()
    last = a.article.paragraphs[-1]
    a.spans = [s for s in a.spans if s.start >= last.start]  # only the closing slogans
    d = Profile.from_analysis(a).density
    assert d[-1] > 0 and all(v == 0 for v in d[:-2])


def test_no_model_is_not_measured() -> None:
    p = Profile.from_analysis(no_model())
    assert not p.measured
    assert p.span_count == 0 and p.total_per_1000 == 0 and p.evidence == ()


def test_empty_article() -> None:
    p = Profile.from_analysis(Analysis(article=Article(text="")))
    assert p.words == 0 and p.paragraphs == 0 and p.paragraph_share == 0
    assert p.density == (0.0,) * 10


def test_paragraphs_of_falls_back_to_whole_text() -> None:
    assert [(p.start, p.end) for p in paragraphs_of(Article(text="One. Two."))] == [(0, 9)]
    assert paragraphs_of(Article(text="  \n ")) == []


def test_evidence_is_whole_sentences_strongest_first_varied() -> None:
    a = oped()
    p = Profile.from_analysis(a, top=5)
    assert [e.span.score for e in p.evidence] == sorted(
        (e.span.score for e in p.evidence), reverse=True
    )
    assert len({e.span.technique for e in p.evidence}) == 5  # one per technique first
    nc = next(e for e in p.evidence if e.span.technique == "Name_Calling-Labeling")
    assert nc.text == (
        "Once again, the spineless bureaucrats at Marlow Bay city hall have betrayed the people "
        "who pay their salaries."
    )
    assert nc.paragraph == 0
    for e in p.evidence:
        assert a.article.text[e.start : e.end] == e.text
        assert e.start <= e.span.start and e.span.end <= e.end


def test_sentence_around() -> None:
    a = article(['He said it. "They are crooks!" she cried. Then: nothing', "Next paragraph."])
    s = span(a, "crooks", "Name_Calling-Labeling", 0.9)
    start, end, cut_before, cut_after = sentence_around(a, s)
    # a quotation followed by its attribution in lower case is one sentence (sentences.py)
    assert a.text[start:end] == '"They are crooks!" she cried.'
    assert not cut_before and not cut_after
    last = span(a, "nothing", "Doubt", 0.5)
    start, end, *_ = sentence_around(a, last)
    assert a.text[start:end] == "Then: nothing"  # stops at the paragraph's end
    ends_with_stop = span(a, "He said it.", "Doubt", 0.5)
    start, end, *_ = sentence_around(a, ends_with_stop)
    assert a.text[start:end] == "He said it."


def test_long_sentence_is_cut_around_the_span() -> None:
    words = " ".join(f"word{i}" for i in range(200))
    a = article([f"{words} villainous {words}."])
    s = span(a, "villainous", "Loaded_Language", 0.9)
    start, end, cut_before, cut_after = sentence_around(a, s)
    assert cut_before and cut_after
    assert start < s.start and end > s.end and end - start < 320
    assert a.text[start - 1] == " " and a.text[end] == " "


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 120),
            st.integers(1, 30),
            st.sampled_from(TECHNIQUE_NAMES),
            st.floats(0, 1),
        ),
        max_size=15,
    ),
    st.floats(0, 1),
)
def test_profile_invariants(raw: list[tuple[int, int, str, float]], min_score: float) -> None:
    a = article(
        [
            "Alpha beta gamma. Delta epsilon zeta eta.",
            "Theta iota kappa! Lambda mu nu xi omicron pi rho.",
        ]
    )
    n = len(a.text)
    spans = [Span(t, s, min(s + L, n), sc) for s, L, t, sc in raw if s < n]
    p = Profile.from_analysis(Analysis(article=a, spans=spans, model_id="m"), min_score=min_score)
    kept = [s for s in spans if s.score >= min_score]
    assert p.span_count == len(kept)
    assert 0 <= p.paragraph_share <= 1
    assert all(v >= 0 for v in p.density)
    for e in p.evidence:
        assert a.text[e.start : e.end] == e.text and e.start <= e.span.start
