"""Take the README screenshots (docs/report.png, docs/compare.png, docs/corpus-dashboard.png)
with headless Chromium.

Usage:
    python scripts/screenshots.py ANALYSIS.json [OTHER.json ...] [--out docs] [--full-page]
    python scripts/screenshots.py --dashboard CORPUS.db [--out docs]

The first analysis gives docs/report.png; the comparison of all given analyses (two or
more) gives docs/compare.png; a corpus (``scripts/demo_corpus.py`` builds the demo one)
gives docs/corpus-dashboard.png. Files may hold one Analysis JSON or JSON Lines (one per
line, as written by ``unspin.report.jsonio``). Uses Debian's /usr/bin/chromium (never
``playwright install``); nothing is fetched.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from unspin.compare import compare
from unspin.document import Analysis
from unspin.report.html import render_analysis, render_comparison
from unspin.report.jsonio import loads_analysis, loads_jsonl
from unspin.report.levels import for_readers

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def read_analyses(path: Path) -> list[Analysis]:
    text = path.read_text(encoding="utf-8")
    return loads_jsonl(text) if path.suffix == ".jsonl" else [loads_analysis(text)]


def shoot(html: str, out: Path, *, width: int, height: int, full_page: bool) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        page_file = Path(tmp) / "report.html"
        page_file.write_text(html, encoding="utf-8")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": width, "height": height}, device_scale_factor=1
            )
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
            )
            page.goto(page_file.as_uri())
            for mark in page.locator("mark.hl[data-first]").all()[:40]:
                box = mark.bounding_box()  # hover one visible highlight to show a tooltip
                if (
                    box
                    and box["y"] + 260 < height
                    and mark.get_attribute("data-level") == "likely"
                ):
                    mark.hover()
                    break
            page.screenshot(path=str(out), full_page=full_page)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--dashboard", type=Path, help="a corpus database: shoot its dashboard")
    ap.add_argument("--out", type=Path, default=Path("docs"))
    ap.add_argument("--min-score", type=float, default=0.0)
    ap.add_argument("--possible", action="store_true", help="show possible detections too")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1600)
    ap.add_argument("--full-page", action="store_true")
    args = ap.parse_args(argv)
    analyses = [for_readers(a, possible=args.possible) for f in args.files for a in read_analyses(f)]
    if not analyses and not args.dashboard:
        print("no analyses found", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    size = {"width": args.width, "height": args.height, "full_page": args.full_page}
    if args.dashboard:
        from unspin.corpus.correction import load_quality
        from unspin.corpus.dashboard import build_dashboard
        from unspin.corpus.store import open_store

        store = open_store(args.dashboard)
        try:
            html = build_dashboard(store, quality=load_quality(None))
        finally:
            store.close()
        shoot(html, args.out / "corpus-dashboard.png", **{**size, "width": 1200, "height": 1250})
        print(args.out / "corpus-dashboard.png")
    if not analyses:
        return 0
    shoot(render_analysis(analyses[0], min_score=args.min_score), args.out / "report.png", **size)
    print(args.out / "report.png")
    if len(analyses) >= 2:
        html = render_comparison(compare(analyses, min_score=args.min_score))
        shoot(html, args.out / "compare.png", **size)
        print(args.out / "compare.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
