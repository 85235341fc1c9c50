"""The HTML reports, checked without a browser: structure, exact text, escaping, CSP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter, defaultdict

import pytest
from fixtures_reports import (
    ATTR,
    BAD_TECHNIQUE,
    IMG,
    PWN,
    SCRIPT,
    PageParser,
    assert_fragments_cover,
    hostile,
    no_model,
    oped,
    report_article,
)

from unspin.compare import compare
from unspin.document import Analysis, Span
from unspin.report.html import render_analyses, render_analysis, render_comparison
from unspin.report.summary import summarize


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {
        "oped": render_analysis(oped()),
        "hostile": render_analysis(hostile()),
        "report": render_analysis(report_article()),
        "no_model": render_analysis(no_model()),
        "compare": render_comparison(compare([oped(), report_article(), hostile()])),
        "many": render_analyses([oped(), report_article(), hostile()]),
    }


def _inline_script(html: str) -> str:
    found = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("name", ["oped", "hostile", "no_model", "compare", "many"])
def test_self_contained_and_locked_down(pages: dict[str, str], name: str) -> None:
    html = pages[name]
    assert html.startswith('<!doctype html>\n<html lang="en">')
    page = PageParser(html)
    csp = next(
        a["content"]
        for t, a in page.tags
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    digest = base64.b64encode(hashlib.sha256(_inline_script(html).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    # the report's own two scripts: the code and its JSON data; nothing loaded from anywhere
    assert [s.get("type") for s in page.scripts] == ["application/json", None]
    assert not any(a.get("src") for _, a in page.tags)
    assert not {t for t, _ in page.tags} & {
        "img",
        "link",
        "iframe",
        "object",
        "embed",
        "base",
        "form",
    }
    assert "url(" not in html and "@import" not in html
    hrefs = [a["href"] for t, a in page.tags if "href" in a]
    assert all(h.startswith(("#", "https://")) for h in hrefs), hrefs
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert not [i for i, n in Counter(ids).items() if n > 1], "duplicate ids"
    described = {d for _, a in page.tags for d in a.get("aria-describedby", "").split()}
    assert described <= set(ids)


def _check_marks(html: str, analyses: list[Analysis]) -> int:
    page = PageParser(html)
    assert page.marks
    spans: dict[str, list[dict[str, str]]] = defaultdict(list)
    for m in page.marks:
        a = analyses[int(m["data-doc"])]
        text = a.article.text
        assert m["#text"] == text[int(m["data-from"]) : int(m["data-to"])]
        assert m["tabindex"] == "0" and m["aria-describedby"] == m["data-span"] + "-d"
        assert any(
            s.technique == m["data-technique"]
            and s.start == int(m["data-start"])
            and s.end == int(m["data-end"])
            and abs(s.score - float(m["data-score"])) < 1e-3
            for s in a.spans
        )
        spans[m["data-span"]].append(m)
    for frags in spans.values():
        text = analyses[int(frags[0]["data-doc"])].article.text
        start, end = int(frags[0]["data-start"]), int(frags[0]["data-end"])
        pieces = [(int(f["data-from"]), int(f["data-to"]), f["#text"]) for f in frags]
        assert_fragments_cover(text, start, end, pieces)
        assert sum(1 for f in frags if f.get("data-first")) == 1
    return len(spans)


def test_every_highlight_is_the_exact_span_text(pages: dict[str, str]) -> None:
    assert _check_marks(pages["oped"], [oped()]) == len(oped().spans)
    assert _check_marks(pages["hostile"], [hostile()]) == len(hostile().spans)
    both = [oped(), report_article(), hostile()]
    assert _check_marks(pages["compare"], both) == sum(len(a.spans) for a in both)


def test_paragraph_text_is_rendered_verbatim(pages: dict[str, str]) -> None:
    for name, analysis in (("oped", oped()), ("hostile", hostile()), ("report", report_article())):
        a = analysis.article
        assert PageParser(pages[name]).ptexts == [a.text[p.start : p.end] for p in a.paragraphs]


def test_hostile_text_is_inert(pages: dict[str, str]) -> None:
    html = pages["hostile"]
    for bad in (
        "<script>alert",
        "<img",
        "<svg onload",
        "<b>",
        "<i>",
        'onmouseover="alert',
        "</mark></p><script>",
    ):
        assert bad not in html.replace("<script>" + _inline_script(html), ""), bad
    page = PageParser(html)
    visible = "".join(page.text)
    for s in (
        SCRIPT,
        IMG,
        ATTR,
        PWN,
        "{{ 7*7 }}",
        "&lt;b&gt;",
        "<b>bold note</b>",
        '<script>alert("title")</script>',
    ):
        assert s in visible, s
    assert "javascript:" not in " ".join(a.get("href", "") for _, a in page.tags)
    # attribute values survive escaping exactly, so no attribute can be broken out of
    assert {m["data-technique"] for m in page.marks} >= {BAD_TECHNIQUE}
    assert any(a.get("lang") == 'en" onload="alert(1)' for _, a in page.tags)
    assert not any(k.startswith("on") for _, a in page.tags for k in a)


def test_script_data_is_json_without_markup(pages: dict[str, str]) -> None:
    html = pages["hostile"]
    block = re.search(
        r'<script type="application/json" id="unspin-data">(.*?)</script>', html, re.S
    )
    assert block
    assert "<" not in block.group(1) and ">" not in block.group(1)
    data = json.loads(block.group(1))
    assert BAD_TECHNIQUE in data["techniques"]
    assert data["docs"][0]["words"] == hostile().article.word_count


def test_report_content(pages: dict[str, str]) -> None:
    html = pages["oped"]
    text = "".join(PageParser(html).text)
    for expected in (
        "The harbour plan is a disgrace",
        "Marlow Bay Courier",
        "2024-05-02",
        "Opinion",
        "92% confidence",
        "Political",
        "Persuasion profile",
        "Strongest evidence",
        "Attaches a label to a person or group",  # a definition, for print and screen readers
        "fixture-model 0.0",
    ):
        assert expected in text, expected
    assert html.count('role="img"') >= 5 and html.count("<title>") >= 6
    assert 'type="range"' in html and 'data-live="technique"' in html
    assert '<div class="para" data-doc="0" id="p0-1" data-p="1">' in html
    assert 'class="pl chip c5" data-score="0.85" data-technique="Loaded_Language"' in html


def test_no_model_note_is_prominent(pages: dict[str, str]) -> None:
    html = pages["no_model"]
    assert 'class="notes" role="note"' in html and "No trained model is installed" in html
    assert html.index("No trained model") < html.index('id="glance-h"')
    assert "not measured" in html and 'type="range"' not in html  # nothing to filter


def test_min_score_drops_weak_spans() -> None:
    html = render_analysis(oped(), min_score=0.8)
    page = PageParser(html)
    assert {float(m["data-score"]) for m in page.marks} == {
        0.91,
        0.86,
        0.93,
        0.89,
        0.81,
        0.84,
        0.87,
        0.9,
    }
    assert 'min="0.8"' in html and 'value="0.8"' in html


def test_rendering_is_deterministic() -> None:
    assert render_analysis(oped()) == render_analysis(oped())


def test_comparison_page(pages: dict[str, str]) -> None:
    html = pages["compare"]
    text = "".join(PageParser(html).text)
    assert "Comparing 3 articles" in text
    c = compare([oped(), report_article(), hostile()])
    assert summarize(c) in text
    assert html.count('data-live="category"') == 1 and 'data-doc="2"' in html
    assert "Where they differ" in text and "Stands out in" in text


def test_comparison_without_model_does_not_compare_zeros() -> None:
    html = render_comparison(compare([no_model(), report_article()]))
    assert "Not compared" in html and 'data-live="category"' not in html


def test_span_across_paragraphs_is_split_at_the_gap() -> None:
    a = oped()
    p0, p1 = a.article.paragraphs[:2]
    start, end = p0.end - 9, p1.start + 5
    a.spans.append(Span("Loaded_Language", start, end, 0.5))
    page = PageParser(render_analysis(a))
    frags = [m for m in page.marks if (int(m["data-start"]), int(m["data-end"])) == (start, end)]
    text = a.article.text
    assert len(frags) >= 2 and sum(1 for f in frags if f.get("data-first")) == 1
    assert "".join(f["#text"] for f in frags) == text[start : p0.end] + text[p1.start : end]
    _check_marks(render_analysis(a), [a])


def test_many_reports_in_one_page(pages: dict[str, str]) -> None:
    html = pages["many"]
    three = [oped(), report_article(), hostile()]
    _check_marks(html, three)
    assert html.count('type="range"') == 1 and html.count('class="report"') == 3
    assert '<a href="#doc-title-1">Council delays vote on harbour plan</a>' in html
    assert render_analyses([oped()]) == render_analysis(oped())
