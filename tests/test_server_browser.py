"""The web pages in a real browser (Debian's chromium, driven by Playwright; never
``playwright install``): paste, upload, compare, follow a feed, and a hostile article that
must run nothing. The server runs with uvicorn in a thread on 127.0.0.1.

Highlights are checked against a phrase-matching stand-in model, so that they are always
exercised; the installed model (or the "no model" note) is checked separately.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM, chromium_browser
from stand_in import PhraseModel

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
    pytest.skip("Debian chromium is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

from unspin.analyze import NO_MODEL_NOTE, installed_model  # noqa: E402
from unspin.config import load_settings  # noqa: E402
from unspin.server import create_app  # noqa: E402
from unspin.server.engine import ModelSource  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

OP_ED = """Enough Is Enough: The Harbour Deal Is a Shameful Betrayal

Make no mistake: the harbour deal signed last night is the most shameful betrayal this city has seen. Behind closed doors, a few spineless councillors handed our waterfront to their friends.

Everyone knows what comes next. The so-called experts who wrote the plan have never worked a day on the docks, and they will not be the ones who lose their jobs.

Picture the quay in five years: empty sheds, rusting cranes, families gone. If we do nothing, there will be nothing left to save.

Either we stand up now, or we explain to our children why we let it happen. Our river, our future: not one drop for sale.
"""

NEWS = """Library opening hours extended after student petition

The central library in Port Aldren will stay open until midnight on weekdays from next month, the city council announced on Friday, after more than 3,000 students signed a petition.

The change will cost about 140,000 euros a year, mostly for extra staff and security, the council said in a statement.
"""

HOSTILE = """Hostile test page <script>window.__pwned = 1; alert(1)</script>

Everyone knows this is a disaster. <img src=x onerror="window.__pwned = 1; alert(1)"> is only text here, and so is <a href="javascript:window.__pwned=1;alert(1)">x</a>, and <svg onload="window.__pwned=1"></svg> too.

A second paragraph, so that the text is long enough to analyse: the council met and argued for hours.
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving an app in a thread."""

    def __init__(self, model: ModelSource, **settings: Any) -> None:
        settings = {"connect_timeout": 1.0, "read_timeout": 2.0, **settings}
        app = create_app(load_settings(**settings), model=model)
        self.port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(PhraseModel()) as live:
        yield live


class Watched:
    """A page whose dialogs, CSP violations and script errors are recorded."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda err: self.problems.append(f"script error: {err}"))
        page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(message.text)


@pytest.fixture
def page(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(java_script_enabled=True)
    context.set_default_timeout(15_000)
    watched = Watched(context.new_page())
    yield watched
    context.close()
    assert watched.dialogs == [], "no page may open a dialog"
    assert watched.problems == [], "no CSP violation or script error"


def _paste(page: Any, base: str, text: str) -> None:
    page.goto(base + "/")
    page.get_by_label("Article text").fill(text)
    page.get_by_role("button", name="Analyse text").click()
    page.wait_for_url("**/reports/**")


def test_paste_shows_highlights_with_tooltips(page: Watched, server: LiveServer) -> None:
    p = page.page
    _paste(p, server.url, OP_ED)
    marks = p.locator("mark.hl")
    assert marks.count() >= 8
    # the tooltip gives the technique and its definition, on hover and on keyboard focus
    first = p.locator('mark.hl[data-technique="Loaded_Language"]').first
    first.hover()
    tip = p.locator("#tip")
    sync_api.expect(tip).to_be_visible()
    sync_api.expect(tip).to_contain_text("Loaded language")
    sync_api.expect(tip).to_contain_text("sure the paragraph uses it")
    assert len(tip.inner_text()) > 60  # with the definition
    p.mouse.move(0, 0)
    p.locator('mark.hl[data-technique="Slogans"]').first.focus()
    sync_api.expect(tip).to_contain_text("Slogan")
    # legend and profile charts
    assert p.locator(".legend").count() == 1
    assert p.locator("figure svg").count() >= 3
    # the confidence slider turns weaker detections off
    slider = p.locator("#conf")
    sync_api.expect(slider).to_be_visible()
    slider.fill("0.95")
    slider.dispatch_event("input")
    assert p.locator("mark.hl.off").count() > 0
    # the way back to the start page
    p.get_by_role("link", name="Analyse another article").click()
    p.wait_for_url(server.url + "/")


def test_installed_model_or_the_note(page: Watched) -> None:
    with LiveServer("default") as live:
        p = page.page
        p.goto(live.url + "/")
        if installed_model(load_settings()) is None:
            sync_api.expect(p.get_by_role("note")).to_contain_text("No model is installed")
            _paste(p, live.url, OP_ED)
            sync_api.expect(p.locator(".notes")).to_contain_text(NO_MODEL_NOTE)
            assert p.locator("mark.hl").count() == 0
        else:
            _paste(p, live.url, OP_ED)
            assert p.locator("mark.hl").count() > 0


def test_upload_a_file(page: Watched, server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "op-ed.txt"
    path.write_text(OP_ED, encoding="utf-8")
    p = page.page
    p.goto(server.url + "/")
    p.get_by_label("A text (.txt) or web page (.html) file").set_input_files(str(path))
    p.get_by_role("button", name="Analyse file").click()
    p.wait_for_url("**/reports/**")
    sync_api.expect(p.locator("h1")).to_contain_text("Enough Is Enough")
    assert p.locator("mark.hl").count() > 0


def test_form_error_is_shown_next_to_the_form(page: Watched, server: LiveServer) -> None:
    p = page.page
    p.goto(server.url + "/")
    p.get_by_label("Article text").fill("Too short.")
    p.get_by_role("button", name="Analyse text").click()
    alert = p.get_by_role("alert")
    sync_api.expect(alert).to_contain_text("too short")
    sync_api.expect(alert).to_be_focused()
    sync_api.expect(p.get_by_label("Article text")).to_have_value("Too short.")
    page.problems.clear()  # the browser logs the 422 status itself


def test_compare_two_articles(page: Watched, server: LiveServer) -> None:
    p = page.page
    p.goto(server.url + "/compare")
    p.locator("#text_0").fill(OP_ED)
    p.locator("#text_1").fill(NEWS)
    p.get_by_role("button", name="Add another article").click()
    assert p.locator("[data-slot]").count() == 4
    p.get_by_role("button", name="Compare").click()
    p.wait_for_url("**/comparisons/**")
    sync_api.expect(p.locator("h1")).to_contain_text("Comparing 2 articles")
    sync_api.expect(p.locator(".summary")).not_to_be_empty()


def test_feed_progress_page(page: Watched, http_server: Any) -> None:
    feed = http_server.add("/feed.rss", (FIXTURES / "feed.rss").read_bytes(), "application/rss+xml")
    article = http_server.add("/story.html", (FIXTURES / "news-page.html").read_bytes())
    with LiveServer(PhraseModel(delay=0.3), allow_private_urls=True) as live:
        p = page.page
        p.goto(live.url + "/")
        p.get_by_label("Address of an article, or of an RSS/Atom feed").fill(feed)
        p.get_by_role("button", name="Fetch and analyse").click()
        p.wait_for_url("**/jobs/**")
        sync_api.expect(p.locator("#job-status")).to_contain_text("Finished", timeout=20_000)
        assert p.locator("#job-results a.result-title").count() >= 2
        p.locator("#job-results a.result-title").first.click()
        p.wait_for_url("**/reports/**")
        sync_api.expect(p.get_by_role("link", name="All results of this job")).to_be_visible()
        # one article: the progress page moves on to its report by itself
        p.goto(live.url + "/")
        p.get_by_label("Address of an article, or of an RSS/Atom feed").fill(article)
        p.get_by_role("button", name="Fetch and analyse").click()
        p.wait_for_url("**/reports/**", timeout=20_000)


def test_hostile_article_runs_nothing(page: Watched, server: LiveServer) -> None:
    p = page.page

    def flag() -> Any:
        return p.evaluate("window.__pwned")

    _paste(p, server.url, HOSTILE)
    p.wait_for_timeout(300)
    assert flag() is None
    text = p.locator(".doc-text").inner_text()
    assert "<script>window.__pwned = 1; alert(1)</script>" in text
    assert '<img src=x onerror="window.__pwned = 1; alert(1)">' in text
    assert p.locator(".doc-text img, .doc-text script, .doc-text svg").count() == 0
    assert p.locator('a[href^="javascript:"]').count() == 0
    for mark in p.locator("mark.hl").all():  # hovering a highlight runs only the tooltip
        mark.hover()
    assert flag() is None
    # the same text, sent to the compare page, is still text
    p.goto(server.url + "/compare")
    p.locator("#text_0").fill(HOSTILE)
    p.locator("#text_1").fill(OP_ED)
    p.get_by_role("button", name="Compare").click()
    p.wait_for_url("**/comparisons/**")
    assert flag() is None
    assert page.dialogs == []
