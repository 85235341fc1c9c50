"""Comparing articles: contrasts, names and the template-written summary."""

from __future__ import annotations

import dataclasses

import jsonschema
import pytest
from fixtures_reports import article, no_model, oped, report_article
from stand_in import PhraseModel

import unspin
from unspin.compare import compare
from unspin.document import Analysis
from unspin.errors import InputError
from unspin.report.jsonio import comparison_schema
from unspin.report.labels import fmt_rate
from unspin.report.levels import for_readers
from unspin.report.summary import summarize


def test_oped_against_report() -> None:
    c = compare([oped(), report_article()])
    assert c.names == ("the opinion piece", "the report") and c.tags == ("1", "2")
    assert c.measured
    assert [r.spread for r in c.rows] == sorted((r.spread for r in c.rows), reverse=True)
    stand_out = {x.technique for x in c.contrasts}
    assert stand_out == {
        "Slogans",
        "Repetition",
        "Exaggeration-Minimisation",
        "Name_Calling-Labeling",
        "Doubt",
    }
    assert all(x.leader == 0 and x.others_max == 0 for x in c.contrasts)
    # one detection is no pattern: appeal to popularity appears once, in the report only
    assert "Appeal_to_Popularity" not in stand_out
    assert c.genres == (("opinion", 0.92), ("reporting", 0.88))
    assert c.frames[0] == (("Political", 0.81), ("Cultural_identity", 0.62))
    assert len(c.evidence[0]) == 5
    rate = fmt_rate(c.profiles[0].total_per_1000)
    assert summarize(c).startswith(
        f"The opinion piece uses {rate} persuasion techniques per 1,000 words, the report "
        f"{fmt_rate(c.profiles[1].total_per_1000)}."
    )
    assert (
        "The opinion piece stands out for slogans (16.1 per 1,000 words, against none in the report)"
        in summarize(c)
    )
    assert (
        "In the opinion piece, 100% of paragraphs contain at least one technique, against 40% in the report."
        in summarize(c)
    )
    assert (
        "unspin reads the opinion piece as opinion (92% confidence) and the report as reporting (88% confidence)"
        in summarize(c)
    )
    assert "Main frames: political for the opinion piece and economic for the report." in summarize(c)


def test_zero_is_said_as_none() -> None:
    quiet = report_article()
    quiet.spans, quiet.paragraphs = [], []
    c = compare([oped(), quiet])
    assert "; unspin found none in the report." in summarize(c)
    assert "against none in the report" in summarize(c)
    assert "against 0%" in summarize(c)


def _twin(a: Analysis, title: str) -> Analysis:
    return dataclasses.replace(a, article=dataclasses.replace(a.article, title=title))


def test_ties_are_not_called_differences() -> None:
    c = compare([_twin(oped(), "First piece"), _twin(oped(), "Second piece")])
    assert c.names == ("\u201cFirst piece\u201d", "\u201cSecond piece\u201d")  # same genre: titles
    assert summarize(c).startswith(
        f"Both articles use {fmt_rate(c.profiles[0].total_per_1000)} persuasion"
    )
    assert "In both articles, 100% of paragraphs" in summarize(c)
    assert "No technique sets one article apart" in summarize(c)
    assert "The main frame is the same for both: political." in summarize(c)
    assert c.contrasts == ()


def test_nothing_detected_in_either() -> None:
    a, b = report_article(), _twin(report_article(), "Another")
    for x in (a, b):
        x.spans, x.paragraphs = [], []
    c = compare([a, b], min_score=0.5)
    assert summarize(c).startswith(
        "Neither article contains a detected persuasion technique (counting detections of 50% confidence or more)."
    )
    assert "sets one article apart" not in summarize(c) and "of paragraphs" not in summarize(c)


def test_without_a_model_nothing_is_compared() -> None:
    c = compare([no_model(), _twin(no_model(), "Other")])
    assert not c.measured
    assert summarize(c).startswith("No trained model is installed")
    assert "per 1,000 words" not in summarize(c)
    mixed = compare([report_article(), no_model()])
    assert mixed.names[1] == "article 2"
    assert summarize(mixed).startswith("Article 2 was not analysed by a trained model")
    assert "opinion" not in summarize(mixed)


def test_three_articles() -> None:
    quiet = _twin(report_article(), "Quiet")
    quiet.spans, quiet.paragraphs, quiet.genre = [], [], None
    c = compare([oped(), report_article(), quiet])
    assert c.names == (
        "\u201cThe harbour plan is a disgrace\u201d",
        "\u201cCouncil delays vote on harbour plan\u201d",
        "\u201cQuiet\u201d",
    )
    assert (
        ", \u201cCouncil delays vote on harbour plan\u201d 29.4 and \u201cQuiet\u201d none."
        in summarize(c)
    )
    assert "against none in the others" in summarize(c)
    assert "Paragraphs with at least one technique: 100% in" in summarize(c)
    assert "\u201cQuiet\u201d as undetermined" in summarize(c)


def test_min_score() -> None:
    strict = compare([oped(), report_article()], min_score=0.9)
    assert strict.min_score == 0.9 and strict.profiles[0].span_count == 3
    assert strict.profiles[1].span_count == 0
    assert "(counting detections of 90% confidence or more)" in summarize(strict)


def test_needs_two_articles() -> None:
    with pytest.raises(InputError, match="at least two"):
        compare([oped()])


def test_texts_and_articles_are_analysed() -> None:
    text = "What a disgrace. An utter disgrace, and a disgrace again.\n\nNothing else to say here."
    model = PhraseModel({"Loaded_Language": ("disgrace",)}, id="fake", score=0.9)
    c = unspin.compare([text, article(["Calm words about the weather today."])], model=model)
    assert c.analyses[0].model_id == "fake" and c.profiles[0].counts == {"Loaded_Language": 3}
    assert "Loaded_Language" in {x.technique for x in c.contrasts}


def test_the_numbers_take_analyses_only() -> None:
    with pytest.raises(InputError, match="takes Analyses"):
        compare([oped(), "a text"])  # type: ignore[list-item]
    with pytest.raises(InputError, match="a list of articles"):
        unspin.compare("one text")  # type: ignore[arg-type]


def test_exported_from_the_package() -> None:
    # unspin.compare rests on likely detections, as every readable comparison does
    likely = [for_readers(a) for a in (oped(), report_article())]
    assert unspin.compare([oped(), report_article()]) == compare(likely)
    assert unspin.compare([oped(), report_article()], possible=True) == compare(
        [for_readers(a, possible=True) for a in (oped(), report_article())])
    assert unspin.summarize is summarize
    assert {"compare", "Comparison", "summarize"} <= set(unspin.__all__)


@pytest.mark.parametrize("min_score", [0.0, 0.9])
def test_to_dict_follows_the_comparison_schema(min_score: float) -> None:
    schema = comparison_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for items in ([oped(), report_article()], [oped(), no_model(), report_article()]):
        jsonschema.validate(compare(items, min_score=min_score).to_dict(), schema)
    data = compare([oped(), report_article()]).to_dict()
    data["profiles"][0]["words"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
