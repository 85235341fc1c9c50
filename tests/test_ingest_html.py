"""HTML pages: main text without boilerplate, metadata kept, broken markup survives."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from unspin.errors import InputError
from unspin.ingest import from_html
from unspin.ingest.html import looks_like_html


def test_news_page_keeps_metadata_and_drops_boilerplate() -> None:
    article = from_html((FIXTURES / "news-page.html").read_bytes())
    assert article.title == "Harbour city votes to keep its old tram line"
    assert article.author == "Maria Okafor"
    assert article.published == "2024-03-12"
    assert article.outlet == "The Valley Courier"
    assert article.url == "https://valley-courier.example/news/2024/03/12/tram-line-vote"
    assert article.source_kind == "html"
    text = article.text
    assert "ending a two-year debate" in text
    assert "remaining sections before the end of the year" in text
    for boilerplate in ("Subscribe", "cookies", "Privacy policy", "Most read", "newsletter"):
        assert boilerplate not in text
    # SemEval layout: title on line 1, then one paragraph per line
    assert article.text[article.paragraphs[0].start : article.paragraphs[0].end] == article.title
    assert article.paragraphs[0].line == 1
    assert len(article.paragraphs) == 7
    assert text.count(article.title) == 1  # the <h1> is not repeated


def test_url_argument_is_kept() -> None:
    html = (FIXTURES / "news-page.html").read_text(encoding="utf-8")
    article = from_html(html, url="https://mirror.example/story")
    assert article.url == "https://mirror.example/story"


def test_malformed_html_is_handled() -> None:
    article = from_html((FIXTURES / "malformed.html").read_text(encoding="utf-8"))
    assert "three new bus lanes" in article.text
    assert "Work will start in May" in article.text
    assert all(article.text[p.start : p.end].strip() for p in article.paragraphs)


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><body></body></html>",
        "<html><head><script>var x = 1;</script></head><body><div></div></body></html>",
        b"\x00\x01\x02",
    ],
)
def test_pages_without_text_raise(html: str | bytes) -> None:
    with pytest.raises(InputError, match="No article text found"):
        from_html(html)


def test_looks_like_html() -> None:
    assert looks_like_html(b"<!DOCTYPE html><html>")
    assert looks_like_html("  <!-- hi -->\n<html lang=en>")
    assert not looks_like_html("Plain text about <html> tags.")
