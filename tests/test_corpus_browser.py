"""The corpus dashboard in a real browser (Debian's headless Chromium, via Playwright):
charts drawn, filters working, article text escaped, nothing fetched, no script errors."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS
from corpus_helpers import HOSTILE, example_rows, write_jsonl

from unspin.corpus import add, open_store
from unspin.corpus.dashboard import write_dashboard
from unspin.corpus.topics import assign_topics

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dash")
    items = example_rows(24, outlets=("Plain Daily", HOSTILE, "Third Wire"))
    for r in items[:6]:
        r["title"] = f"Title {HOSTILE}"
    db = root / "c.db"
    add(db, [str(write_jsonl(root / "a.jsonl", items))], workers=2)
    with open_store(db) as store:
        assign_topics(store, clusters=2)
        return write_dashboard(store, root / "dashboard.html", resamples=200, top=24)


@pytest.fixture(scope="module")
def page(dashboard: Path) -> Iterator[Any]:
    blocked: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1300, "height": 900})

        def route(r: Any) -> None:
            if r.request.url == dashboard.as_uri():
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("dialog", lambda d: (errors.append(d.message), d.dismiss()))
        pg.goto(dashboard.as_uri())
        yield pg
        browser.close()
    assert blocked == [], f"the dashboard fetched {blocked}"
    assert errors == [], f"script errors or dialogs: {errors}"


def _visible(page: Any, selector: str) -> int:
    return int(page.evaluate(
        f"""() => Array.from(document.querySelectorAll({selector!r}))
            .filter(e => e.getClientRects().length > 0).length"""
    ))  # fmt: skip


def test_charts_are_drawn(page: Any) -> None:
    assert page.locator("svg.heatmap").count() == 2  # by outlet, by topic
    assert _visible(page, "svg.heatmap[data-kind=outlet] g.row") == 3
    assert _visible(page, "#time-chart polyline") == 4  # all outlets + 3 outlets
    assert _visible(page, "#time-chart circle") > 10
    assert _visible(page, "table.mix") == 2
    assert _visible(page, "#top li") == page.locator("#top li").count() >= 12
    title = page.locator("svg.heatmap[data-kind=outlet] g.cell title").first.text_content()
    assert "95% CI" in title and "vs the rest" in title


def test_article_text_is_escaped(page: Any) -> None:
    assert page.evaluate("() => window.__pwned") is None
    hostile = page.locator("#top li a", has_text="Title <script>window.__pwned=1</script>")
    assert hostile.count() == page.locator("#top li a", has_text="Title").count() > 0
    assert page.locator("#top img").count() == 0


def test_filters(page: Any) -> None:
    page.select_option("#f-outlet", ["Plain Daily"])
    assert _visible(page, "svg.heatmap[data-kind=outlet] g.row") == 1
    plain = page.locator('#top li[data-outlet="Plain Daily"]').count()
    assert plain and _visible(page, "#top li") == plain
    assert _visible(page, "#time-chart polyline") == 1
    assert _visible(page, ".mix thead th[data-outlet]") == 2  # one column in each of the two tables
    page.select_option("#f-outlet", ["Plain Daily", "Third Wire"])
    page.select_option("#f-technique", "Loaded_Language")
    rows = page.locator("#pairs tbody tr:visible")
    assert rows.count() == 1 and "Loaded language" in rows.first.inner_text()
    assert all("Loaded_Language" in (li.get_attribute("data-techniques") or "")
               for li in page.locator("#top li:visible").all())  # fmt: skip
    months = page.evaluate("() => Array.from(document.querySelectorAll('#f-from option')).map(o => o.value)")
    page.select_option("#f-from", months[-2])
    labels = page.locator("#time-chart text").all_text_contents()
    dated = [t for t in labels if re.fullmatch(r"\d{4}-\d{2}", t)]  # not an axis value such as "20.1"
    assert dated and min(dated) >= months[-2]
    topic = page.evaluate("() => document.querySelectorAll('#f-topic option')[1].value")
    page.select_option("#f-topic", topic)
    assert _visible(page, "svg.heatmap[data-kind=topic] g.row") == 1
    page.click("#f-reset")
    page.wait_for_timeout(50)
    assert _visible(page, "svg.heatmap[data-kind=outlet] g.row") == 3
    assert _visible(page, "#top li") == page.locator("#top li").count()
