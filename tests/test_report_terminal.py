"""Terminal reports: 80 columns, readable without colour, inert against hostile text."""

from __future__ import annotations

import io

from fixtures_reports import HOSTILE, article, hostile, no_model, oped, report_article, span
from rich.console import Console

from unspin.compare import compare
from unspin.document import Analysis
from unspin.report.terminal import highlight, print_analysis, print_comparison


def _plain(width: int = 80) -> Console:
    return Console(
        width=width, record=True, no_color=True, force_terminal=False, file=io.StringIO()
    )


def _render(analysis: Analysis, **kw: float) -> str:
    console = _plain()
    print_analysis(analysis, console, **kw)
    return console.export_text()


def _fits(text: str, width: int = 80) -> None:
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, too_long


def test_analysis_report_without_colour() -> None:
    out = _render(oped())
    _fits(out)
    for expected in (
        "The harbour plan is a disgrace",
        "Genre: Opinion (92% confidence)",
        "Frames: Political 81%, Cultural identity 62%",
        "19 detections",
        "[[spineless bureaucrats]NC at Marlow Bay city hall have",  # nested markers
        "[[Save our]RP harbour. [Save our]RP town.]SL",
        "\u2192 NC Name calling or labelling 90%",
        " NC Name calling or labelling (A Attack on reputation)",  # the key
        "Strongest evidence",
        "Manipulative wording",
    ):
        assert expected in out, expected


def test_min_score_hides_weak_detections() -> None:
    out = _render(oped(), min_score=0.85)
    assert "6 detections" in out and "(confidence \u2265 85%)" in out
    assert "]LL" in out and "[a fortune]" not in out


def test_notes_are_shown() -> None:
    out = _render(no_model())
    assert "! Note: No trained model is installed" in out
    _fits(out)


def test_hostile_text_cannot_drive_the_terminal() -> None:
    evil = "Break\x1b[31ming\x1b]0;owned\x07 \u202enews\r\n"
    art = article([evil + " the [bold red]corrupt[/] elite", *HOSTILE])
    a = Analysis(
        article=art,
        spans=[
            span(art, "corrupt", "Loaded_Language", 0.9),
            span(art, "ing\x1b]0;owned", "Doubt", 0.5),
        ],
        model_id="m",
    )
    a.article.title = "[bold red]markup[/] \x1b[2J"
    buf = io.StringIO()
    print_analysis(a, Console(width=80, file=buf, force_terminal=True, color_system="truecolor"))
    raw = buf.getvalue()
    for bad in ("\x07", "\x1b]0;", "\u202e", "\x1b[2J", "\x1b[31m", "\r"):
        assert bad not in raw, repr(bad)
    plain = _plain()
    print_analysis(a, plain)
    out = plain.export_text()
    assert "[bold red]markup[/]" in out  # shown as text, not interpreted
    assert "[bold red][corrupt]LL[/] elite" in out
    assert "<script>alert(1)</script>" in out and 'onmouseover="alert(1) idiots' in out
    print_analysis(hostile(), plain)


def test_colour_output_keeps_markers() -> None:
    buf = io.StringIO()
    print_analysis(
        oped(), Console(width=80, file=buf, force_terminal=True, color_system="truecolor")
    )
    raw = buf.getvalue()
    assert "\x1b[" in raw and "]NC" in raw


def test_highlight_clips_to_the_block() -> None:
    a = oped()
    p = a.article.paragraphs[2]
    t = highlight(a.article.text, p.start, p.end, a.spans)
    assert t.plain.startswith("[Either we stop") and t.plain.endswith("debate is over]AT.")


def test_comparison() -> None:
    console = _plain()
    c = compare([oped(), report_article()])
    print_comparison(c, console)
    out = console.export_text()
    _fits(out)
    assert "Comparing 2 articles" in out
    assert "The opinion piece uses" in out and "Stands out" in out
    assert "SL Slogans" in out and "16.1 (2)" in out
    assert "Strongest evidence in 1" in out and "Strongest evidence in 2" in out


def test_comparison_narrow_and_filtered() -> None:
    console = _plain(60)
    print_comparison(compare([oped(), report_article()], min_score=0.9), console)
    out = console.export_text()
    _fits(out, 60)
    assert "90% confidence or more" in out
