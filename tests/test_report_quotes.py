"""A highlight inside a quotation is the speaker's words, and the report says whose."""

from __future__ import annotations

from unspin.document import Analysis, Article, Paragraph, Span
from unspin.report.html import render_analysis
from unspin.report.quotes import quotation_around, quotation_of


def _at(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


def test_a_speaker_named_after_the_quotation() -> None:
    text = 'The plan is "a shameful betrayal of our farmers," said Jo Roe, a councillor. Others agreed.'
    q = quotation_around(text, *_at(text, "shameful"))
    assert q is not None and text[q.start : q.end] == '"a shameful betrayal of our farmers,"'
    assert q.speaker == "Jo Roe"


def test_a_speaker_named_before_in_an_earlier_paragraph() -> None:
    text = ("Deputy Minister Ana Vale of Marvania spoke on Monday, adding:\n\n"
            "\u201cOur proud nation will never surrender the river.\u201d\n\n"
            "\u201cThey will regret it.\u201d")
    for words in ("proud nation", "regret"):
        lo = text.rfind("\n", 0, text.index(words)) + 1
        q = quotation_around(text, *_at(text, words), lo, len(text))
        assert q is not None and q.speaker == "Ana Vale"


def test_no_quotation_and_no_guessed_speaker() -> None:
    text = 'Critics call it shameful. "It is a disgrace," Moscow said.'
    assert quotation_around(text, *_at(text, "shameful")) is None
    q = quotation_around(text, *_at(text, "disgrace"))
    assert q is not None and q.speaker is None  # one word ("Moscow") is no name to trust
    # a highlight running out of the quotation is the article's own words
    assert quotation_around(text, text.index("disgrace"), text.index("Moscow") + 6) is None


def test_the_report_tooltip_says_whose_words_they_are() -> None:
    text = 'Officials met.\n"Our proud nation stands tall," said Jo Roe.'
    article = Article(text=text, paragraphs=[Paragraph(0, 0, 14), Paragraph(1, 15, len(text))])
    start, end = _at(text, "proud nation")
    span = Span("Flag_Waving", start, end, 0.3, "likely", ["proud"])
    assert quotation_of(article, span) is not None
    html = render_analysis(Analysis(article=article, spans=[span], model_id="m", model_version="1"))
    assert 'data-quoted="Inside a quotation (Jo Roe): the words are a speaker&#39;s' in html
