"""Reader feedback in a real browser (Debian's chromium via Playwright): on a report page the
app serves, confirm one detection with the mouse, dispute one with the keyboard, add a
missed span by selecting its words, then read the store and check the exact offsets.

The text has astral characters (one code point, two UTF-16 units) before and inside the
selection, and the selection starts inside a highlight, so that any slip in mapping the
page's markup to code point offsets shows up.
"""

from __future__ import annotations

import re
import shutil
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
pytest.importorskip("uvicorn")

from live_app import live_app  # noqa: E402

from unspin.analyze import analyze_with  # noqa: E402
from unspin.config import load_settings  # noqa: E402
from unspin.feedback import FeedbackStore  # noqa: E402
from unspin.ingest import from_text  # noqa: E402

TEXT = (
    "The \U0001d57f\U0001d586 harbour deal \U0001f600 is a shameful betrayal of the city\n\n"
    "Behind closed doors, a few spineless councillors handed our waterfront to their friends. "
    "The so-called experts never worked a day \U0001f6a2 on the docks, and they will not be the "
    "ones who lose their jobs when the cranes stop.\n"
)

SELECT = """([needle, from, to]) => {
  // a range over the page's text: from the `from`-th UTF-16 unit of `needle`, to its `to`-th
  const doc = document.querySelector(".doc-text");
  const walker = document.createTreeWalker(doc, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let all = "";
  while (walker.nextNode()) {
    if (!walker.currentNode.parentElement.closest(".ptext")) { continue; }
    nodes.push([walker.currentNode, all.length]);
    all += walker.currentNode.data;
  }
  const at = all.indexOf(needle);
  const point = (i) => {
    for (const [node, base] of nodes) {
      if (i <= base + node.data.length) { return [node, i - base]; }
    }
  };
  const range = document.createRange();
  range.setStart(...point(at + from));
  range.setEnd(...point(at + to));
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  return [range.startContainer.parentElement.tagName, range.toString()];
}"""


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from chromium_browser()


def test_confirm_dispute_and_add_from_the_report_page(browser: Any, tmp_path: Path) -> None:
    db = tmp_path / "feedback.sqlite"
    settings = load_settings(feedback_db=str(db), connect_timeout=1.0, read_timeout=2.0)
    problems: list[str] = []
    with live_app(settings, PhraseModel()) as app:
        context = browser.new_context()
        context.set_default_timeout(15_000)
        p = context.new_page()
        p.on("pageerror", lambda err: problems.append(f"script error: {err}"))
        p.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        p.goto(app.url + "/")
        p.get_by_label("Article text").fill(TEXT)
        p.get_by_role("button", name="Analyse text").click()
        p.wait_for_url("**/reports/**")
        status = p.locator("#fb-status")

        # confirm with the mouse: the popover on the highlight
        shameful = p.locator('mark.hl[data-technique="Loaded_Language"]', has_text="shameful").first
        shameful.click()
        pop = p.locator("#fb-pop")
        sync_api.expect(pop).to_be_visible()
        pop.get_by_role("button", name="Confirm Loaded language").click()
        sync_api.expect(status).to_contain_text("Confirmed: Loaded language")
        sync_api.expect(pop).to_be_hidden()
        sync_api.expect(shameful).to_have_class(re.compile(r"\bfb-confirm\b"))

        # dispute with the keyboard: Enter on the focused highlight, Tab, Enter
        experts = p.locator('mark.hl[data-technique="Name_Calling-Labeling"]').first
        experts.focus()
        p.keyboard.press("Enter")
        sync_api.expect(pop).to_be_visible()
        focused = p.evaluate("document.activeElement.textContent")
        assert focused == "Confirm"
        p.keyboard.press("Tab")
        assert p.evaluate("document.activeElement.textContent") == "Dispute"
        p.keyboard.press("Enter")
        sync_api.expect(status).to_contain_text("Disputed: Name calling")
        assert p.evaluate("document.activeElement.dataset.technique") == "Name_Calling-Labeling"

        # add a missed span: select from inside the "so-called experts" highlight (a space
        # before "experts", which is trimmed) past the ship emoji to "docks"
        needle = "so-called experts never worked a day \U0001f6a2 on the docks"
        utf16 = len(needle.encode("utf-16-le")) // 2
        parent, chosen = p.evaluate(SELECT, [needle, len("so-called"), utf16])
        assert parent == "MARK" and chosen == " experts never worked a day \U0001f6a2 on the docks"
        sync_api.expect(p.locator("#fb-sel")).to_contain_text("experts never worked")
        p.select_option("#fb-technique", "Doubt")
        p.get_by_label("Note").fill("no evidence given")
        p.get_by_role("button", name="Add", exact=True).click()
        sync_api.expect(status).to_contain_text("Added: Casting doubt")
        sync_api.expect(p.locator("#fb-list li")).to_have_count(3)

        # a reload shows the judgements kept
        p.reload()
        sync_api.expect(
            p.locator('mark.hl.fb-confirm[data-technique="Loaded_Language"]').first
        ).to_be_visible()
        sync_api.expect(p.locator("#fb-list li")).to_have_count(3)

        # a mistaken judgement is taken back from the list (and the mark loses its state)
        p.get_by_label("Note").fill("")
        parent, _ = p.evaluate(SELECT, ["harbour deal", 0, len("harbour deal")])
        p.select_option("#fb-technique", "Slogans")
        p.get_by_role("button", name="Add", exact=True).click()
        sync_api.expect(p.locator("#fb-list li")).to_have_count(4)
        p.get_by_role("button", name="Undo: Added Slogans").click()
        sync_api.expect(status).to_contain_text("Removed: added Slogans")
        sync_api.expect(p.locator("#fb-list li")).to_have_count(3)
        context.close()

    assert problems == [], "no CSP violation or script error"
    [article] = FeedbackStore(db).articles()
    text = article.text
    assert text.replace("\r\n", "\n").strip() == TEXT.strip()  # a form sends CRLF line ends
    found = {(j.verdict, j.technique): j for j in article.judgements}
    assert len(found) == 3
    confirm = found["confirm", "Loaded_Language"]
    assert (confirm.start, confirm.end) == (text.index("shameful"), text.index("shameful") + 8)
    shown = analyze_with(PhraseModel(), from_text(text)).spans
    score = next(s.score for s in shown if (s.start, s.end) == (confirm.start, confirm.end))
    assert (confirm.score, confirm.model_id) == (score, "phrase-test-model")
    dispute = found["dispute", "Name_Calling-Labeling"]
    start = text.index("so-called experts")
    assert (dispute.start, dispute.end, dispute.span) == (start, start + 17, "so-called experts")
    added = found["add", "Doubt"]
    start, end = text.index("experts never"), text.index("on the docks") + len("on the docks")
    assert (added.start, added.end) == (start, end)
    assert added.span == "experts never worked a day \U0001f6a2 on the docks" == text[start:end]
    assert added.note == "no evidence given" and added.score is None
