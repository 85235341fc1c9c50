"""The HTML reports in a real browser (Debian's headless Chromium, via Playwright).

One browser per module; every page runs in a fresh context that refuses and records any
request that is not the report file itself, any dialog and any script error, so each test
also checks that the report fetches nothing and runs nothing it should not.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM
from conftest import CHROMIUM_ARGS as LAUNCH_ARGS
from fixtures_reports import (
    ATTR,
    IMG,
    PWN,
    SCRIPT,
    assert_fragments_cover,
    hostile,
    oped,
    report_article,
)

from unspin.compare import compare
from unspin.document import Analysis
from unspin.report.html import render_analyses, render_analysis, render_comparison
from unspin.taxonomy import technique

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reports")
    pages = {
        "oped": render_analysis(oped()),
        "hostile": render_analysis(hostile()),
        "compare": render_comparison(compare([oped(), report_article(), hostile()])),
        "many": render_analyses([oped(), report_article(), hostile()]),
    }
    out = {}
    for name, html in pages.items():
        out[name] = root / f"{name}.html"
        out[name].write_text(html, encoding="utf-8")
    return out


class Guard:
    """What a page tried to do that a report never should."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []


@pytest.fixture
def open_page(browser: Any, files: dict[str, Path]) -> Iterator[Any]:
    contexts = []
    guards: list[Guard] = []

    def _open(name: str, width: int = 1280) -> Any:
        guard = Guard()
        guards.append(guard)
        ctx = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(ctx)

        def route(r: Any) -> None:
            if r.request.url.startswith("file://") and r.request.url.endswith(".html"):
                r.continue_()
            else:
                guard.requests.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.on("dialog", lambda d: (guard.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: guard.errors.append(str(e)))
        page.goto(files[name].as_uri())
        page.guard = guard
        return page

    yield _open
    for ctx in contexts:
        ctx.close()
    for g in guards:
        assert g.requests == [], f"the report made network requests: {g.requests}"
        assert g.dialogs == [], f"the report opened dialogs: {g.dialogs}"
        assert g.errors == [], f"script errors: {g.errors}"


_FRAGMENTS = """() => Array.from(document.querySelectorAll('mark.hl')).map(m => ({
  span: m.dataset.span, doc: +m.dataset.doc, technique: m.dataset.technique,
  start: +m.dataset.start, end: +m.dataset.end, from: +m.dataset.from, to: +m.dataset.to,
  score: +m.dataset.score, text: m.textContent, off: m.classList.contains('off'),
  tab: m.tabIndex}))"""


def _check_exact_text(page: Any, analyses: list[Analysis]) -> list[dict[str, Any]]:
    frags = page.evaluate(_FRAGMENTS)
    assert frags, "no highlights"
    by_span: dict[str, list[dict[str, Any]]] = {}
    for f in frags:
        text = analyses[f["doc"]].article.text
        assert f["text"] == text[f["from"] : f["to"]]
        by_span.setdefault(f["span"], []).append(f)
    for parts in by_span.values():
        text = analyses[parts[0]["doc"]].article.text
        pieces = [(p["from"], p["to"], p["text"]) for p in parts]
        assert_fragments_cover(text, parts[0]["start"], parts[0]["end"], pieces)
    assert len(by_span) == sum(len(a.spans) for a in analyses)
    return frags


def _tip_text(page: Any) -> str:
    tip = page.locator("#tip")
    tip.wait_for(state="visible", timeout=2000)
    return str(tip.inner_text())


def test_highlights_are_the_exact_span_text(open_page: Any) -> None:
    _check_exact_text(open_page("oped"), [oped()])
    _check_exact_text(open_page("compare"), [oped(), report_article(), hostile()])


def test_hover_shows_the_definition(open_page: Any) -> None:
    page = open_page("oped")
    page.locator('mark.hl[data-technique="Flag_Waving"]').first.hover()
    tip = _tip_text(page)
    assert technique("Flag_Waving").definition in tip and "92% sure the paragraph uses it" in tip and "about 93% of such highlighted text" in tip
    assert technique("Flag_Waving").example in tip and "likely" in tip
    # a nested span lists the span it sits in too
    page.locator('mark.hl[data-technique="Name_Calling-Labeling"]').first.hover()
    tip = _tip_text(page)
    assert technique("Name_Calling-Labeling").definition in tip
    assert technique("Loaded_Language").definition in tip and "within" in tip.lower()
    page.keyboard.press("Escape")
    assert not page.locator("#tip").is_visible()


def test_keyboard_focus_shows_the_definition(open_page: Any) -> None:
    page = open_page("oped")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('mark.hl')"):
            break
    else:
        pytest.fail("Tab never reached a highlight")
    name = page.evaluate("document.activeElement.dataset.technique")
    assert technique(name).definition in _tip_text(page)
    described = page.evaluate(
        "document.getElementById(document.activeElement.getAttribute('aria-describedby')).textContent"
    )
    assert technique(name).definition in described  # the same, for screen readers
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('mark.hl')")


def test_slider_hides_and_restores_weak_detections(open_page: Any) -> None:
    page = open_page("oped")
    slider = page.locator("#conf")
    assert slider.is_visible()
    total = len(oped().spans)
    strong = sum(1 for s in oped().spans if s.score >= 0.85)
    slider.fill("0.85")
    frags = page.evaluate(_FRAGMENTS)
    assert all(f["off"] == (f["score"] < 0.85) for f in frags)
    assert all(f["tab"] == (-1 if f["off"] else 0) for f in frags)
    assert page.locator('[data-stat="shown-all"]').inner_text() == str(strong)
    assert page.locator('[data-stat="shown"][data-doc="0"]').first.inner_text() == str(strong)
    assert page.locator("#conf-out").inner_text() == "85%"
    # the weak technique's bar shrinks to nothing and its margin entry disappears
    bar = page.locator('svg[data-live="technique"] g.bar[data-key="Repetition"] .c-fill')
    assert float(bar.get_attribute("width") or "1") == 0
    assert not page.locator('.pl[data-technique="Repetition"]').is_visible()
    # a hidden detection is not in the tooltip (which shows the slogan it sits in)
    page.locator('mark.hl[data-technique="Repetition"]').first.hover()
    assert technique("Repetition").definition not in _tip_text(page)
    assert technique("Slogans").definition in _tip_text(page)
    slider.fill("0")
    frags = page.evaluate(_FRAGMENTS)
    assert not any(f["off"] for f in frags)
    assert page.locator('[data-stat="shown-all"]').inner_text() == str(total)
    assert float(bar.get_attribute("width") or "0") > 0


@pytest.mark.parametrize("name", ["compare", "many"])
def test_slider_with_several_articles(open_page: Any, name: str) -> None:
    page = open_page(name)
    three = [oped(), report_article(), hostile()]
    _check_exact_text(page, three)
    page.locator("#conf").fill("0.9")
    shown = page.evaluate(
        "Array.from(document.querySelectorAll('[data-stat=\"shown\"]')).map(e => e.textContent)"
    )
    assert shown == [str(sum(1 for s in a.spans if s.score >= 0.9)) for a in three]


def test_charts_are_drawn(open_page: Any) -> None:
    for name in ("oped", "compare"):
        page = open_page(name)
        charts = page.locator("svg.chart[role=img]")
        assert charts.count() >= 5
        for i in range(charts.count()):
            chart = charts.nth(i)
            box = chart.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 20
            assert chart.get_attribute("aria-label")
            drawn = chart.evaluate(
                "svg => Array.from(svg.querySelectorAll('rect.c-fill, polyline'))"
                ".filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length"
            )
            assert drawn > 0, chart.get_attribute("aria-label")


def test_hostile_article_shows_text_and_runs_nothing(open_page: Any) -> None:
    page = open_page("hostile")
    body = page.inner_text("body")
    for s in (
        SCRIPT,
        IMG,
        ATTR.strip(),
        PWN,
        '<script>alert("title")</script>',
        "javascript:alert(1)",
    ):
        assert s in body, s
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    for mark in page.locator("mark.hl").all():
        mark.hover()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # the Content-Security-Policy blocks any script not written by the report itself
    with contextlib.suppress(sync_api.Error):
        page.add_script_tag(content="window.__pwned = 1;")
    page.evaluate(
        "() => { const s = document.createElement('img'); s.src = 'x'; s.setAttribute('onerror', 'window.__pwned = 2'); document.body.append(s); }"
    )
    page.wait_for_timeout(100)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    _check_exact_text(page, [hostile()])
    page.guard.requests.clear()  # the img just added by the test itself was refused, as it should be


def test_print_and_phone_layouts(open_page: Any) -> None:
    page = open_page("oped")
    page.emulate_media(media="print")
    assert not page.locator(".controls").is_visible()
    assert (
        page.evaluate("getComputedStyle(document.querySelector('mark.hl')).printColorAdjust")
        == "exact"
    )
    phone = open_page("compare", width=390)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.locator("mark.hl").first.is_visible()
