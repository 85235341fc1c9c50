"""One text, one answer: an article gives the same spans and paragraph labels whether it
comes as a .txt file, the SemEval layout, stdin, a pasted or uploaded text in the web app,
an HTML page (bare, or with a header and navigation around it), a feed entry or a corpus
row. Spans are compared relative to their paragraph, counting non-space characters (an
HTML page collapses runs of spaces), with their scores.

The invented article in fixtures/ always runs; the NATO op-ed of ../shared/examples (not
part of the project) runs where it is present.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from unspin.analyze import analyze_with, installed_model
from unspin.cli import cli
from unspin.config import Settings
from unspin.document import Analysis
from unspin.ingest import load_one

pytestmark = pytest.mark.usefixtures("clean_env")

FIXTURE = Path(__file__).parent / "fixtures" / "same-article.txt"
NATO = Path(__file__).resolve().parents[2] / "shared" / "examples" / "nato-russia-oped.txt"
ARTICLES = [
    pytest.param(FIXTURE, id="invented"),
    pytest.param(NATO, id="nato-oped", marks=pytest.mark.skipif(not NATO.exists(), reason="no ../shared/examples")),
]
SETTINGS = Settings()


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _nonspace(s: str) -> int:
    return len("".join(s.split()))


def answer(analysis: Analysis) -> tuple[list[str], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Paragraph texts (spaces collapsed), spans relative to their paragraph, labels."""
    article = analysis.article
    paragraphs = article.paragraphs
    texts = [" ".join(article.text[p.start : p.end].split()) for p in paragraphs]
    spans = []
    for s in analysis.spans:
        (i, p) = next((i, p) for i, p in enumerate(paragraphs) if p.start <= s.start < p.end)
        spans.append((i, _nonspace(article.text[p.start : s.start]), _nonspace(article.text[s.start : s.end]),
                      s.technique, s.score))
    labels = [(pl.index, sorted(pl.techniques.items())) for pl in analysis.paragraphs if pl.techniques]
    return texts, sorted(spans), labels


def _analyse(path: Path) -> Analysis:
    (article,) = load_one(str(path), settings=SETTINGS)
    return analyze_with(installed_model(SETTINGS), article, SETTINGS)


def _page(paragraphs: list[str], *, chrome: bool) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    header = ("<header><nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/opinion'>Opinion</a>"
              "</nav><div class='site'>The Daily Example</div></header>") if chrome else ""
    footer = "<footer><p>Copyright The Daily Example. All rights reserved.</p></footer>" if chrome else ""
    return (f"<!doctype html><html><head><title>An opinion | The Daily Example</title></head><body>{header}"
            f"<main><article>{body}</article></main>{footer}</body></html>")


def via_txt(text: str, tmp: Path) -> Analysis:
    (tmp / "article.txt").write_text(text, encoding="utf-8")
    return _analyse(tmp / "article.txt")


def via_semeval(text: str, tmp: Path) -> Analysis:
    first, *rest = _paragraphs(text)
    (tmp / "article1.txt").write_text(first + "\n\n" + "\n".join(rest) + "\n", encoding="utf-8")
    return _analyse(tmp / "article1.txt")


def via_html(text: str, tmp: Path) -> Analysis:
    (tmp / "page.html").write_text(_page(_paragraphs(text), chrome=False), encoding="utf-8")
    return _analyse(tmp / "page.html")


def via_html_with_header(text: str, tmp: Path) -> Analysis:
    (tmp / "page.html").write_text(_page(_paragraphs(text), chrome=True), encoding="utf-8")
    return _analyse(tmp / "page.html")


def via_feed(text: str, tmp: Path) -> Analysis:
    content = "".join(f"<p>{html.escape(p)}</p>" for p in _paragraphs(text))
    (tmp / "feed.rss").write_text(
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>The Daily Example</title><link>https://daily.example/</link><item>"
        "<title>An opinion</title><link>https://daily.example/opinion/1</link>"
        f"<content:encoded><![CDATA[{content}]]></content:encoded></item></channel></rss>",
        encoding="utf-8",
    )
    return _analyse(tmp / "feed.rss")


def via_stdin(text: str, tmp: Path) -> Analysis:
    result = CliRunner().invoke(cli, ["analyze", "-", "--format", "json"], input=text)
    assert result.exit_code == 0, result.output
    return Analysis.from_dict(json.loads(result.stdout))


def _client() -> Any:
    pytest.importorskip("fastapi")
    pytest.importorskip("python_multipart")
    from fastapi.testclient import TestClient

    from unspin.server import create_app

    return TestClient(create_app(SETTINGS, model=installed_model(SETTINGS)))


def via_web_app_paste(text: str, tmp: Path) -> Analysis:
    with _client() as client:
        r = client.post("/api/analyze", json={"text": text})
    assert r.status_code == 200, r.text
    return Analysis.from_dict(r.json())


def via_web_app_upload(text: str, tmp: Path) -> Analysis:
    with _client() as client:
        r = client.post("/api/analyze", files={"file": ("article.txt", text.encode(), "text/plain")})
    assert r.status_code == 200, r.text
    return Analysis.from_dict(r.json())


def via_corpus_row(text: str, tmp: Path) -> Analysis:
    from unspin.corpus import add, open_store

    (tmp / "rows.jsonl").write_text(json.dumps({"text": text, "title": "An opinion"}) + "\n", encoding="utf-8")
    add(tmp / "corpus.db", [str(tmp / "rows.jsonl")], settings=SETTINGS, workers=1)
    with open_store(tmp / "corpus.db") as store:
        (article_id,) = (row[0] for row in store.rows("SELECT id FROM articles"))
        return store.analysis(article_id)


PATHS: list[Callable[[str, Path], Analysis]] = [
    via_semeval, via_html, via_html_with_header, via_feed, via_stdin, via_web_app_paste, via_web_app_upload,
    via_corpus_row,
]
_reference: dict[Path, Any] = {}


@pytest.mark.parametrize("path", ARTICLES)
@pytest.mark.parametrize("how", PATHS, ids=lambda f: f.__name__)
def test_one_text_one_answer(path: Path, how: Callable[[str, Path], Analysis], tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if path not in _reference:
        _reference[path] = answer(via_txt(text, tmp_path))
    texts, spans, labels = _reference[path]
    assert spans, "the article must give detections for the comparison to mean something"
    got_texts, got_spans, got_labels = answer(how(text, tmp_path))
    assert got_texts == texts
    assert got_spans == spans
    assert got_labels == labels
