"""Reports in the terminal, with rich; readable at 80 columns and without colour.

Highlights are coloured by category *and* bracketed with a technique code, e.g.
``[spineless bureaucrats]NC``, so ``--no-color`` output and screen readers lose nothing.
Article text is only ever put into ``rich.text.Text`` objects (never parsed as markup),
and control characters are neutralised so an article cannot drive the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich import box
from rich.console import Console, Group
from rich.rule import Rule
from rich.style import Style
from rich.table import Table
from rich.text import Text

from ..compare import Comparison
from ..document import Analysis, Span, level_of
from ..profiles import Evidence, Profile
from . import labels
from .highlight import SpanIndex, block_labels, blocks
from .labels import fmt_pct, fmt_rate, fmt_score, technique_info
from .quotes import quotation_of
from .summary import summarize

__all__ = ["print_analysis", "print_comparison"]

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPARK = " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
_MUTED = Style(dim=True)


def _clean(text: str) -> str:
    """Neutralise escape sequences, bidi overrides and other control characters."""
    return _CONTROL.sub(lambda m: "" if m.group() == "\r" else "\ufffd", text)


def _style(technique: str) -> Style:
    return Style(color="#111111", bgcolor=technique_info(technique).category.color)


def _marker(technique: str) -> Style:
    """Brackets and codes: bold badges, readable on dark and light terminal themes."""
    return _style(technique) + Style(bold=True)


def highlight(text: str, lo: int, hi: int, spans: Sequence[Span]) -> Text:
    """``text[lo:hi]`` with each span in its category colour and between ``[`` ``]CODE``."""
    clipped = [
        (max(s.start, lo), min(s.end, hi), s) for s in spans if max(s.start, lo) < min(s.end, hi)
    ]
    points = sorted({lo, hi} | {p for a, b, _ in clipped for p in (a, b)})
    out = Text()
    open_: list[tuple[int, int, Span]] = []
    for k, p in enumerate(points):
        for item in [x for x in reversed(open_) if x[1] == p]:
            open_.remove(item)
            out.append(
                "]" + technique_info(item[2].technique).abbr, style=_marker(item[2].technique)
            )
        for item in sorted(
            (x for x in clipped if x[0] == p), key=lambda x: (-x[1], x[2].technique)
        ):
            open_.append(item)
            out.append("[", style=_marker(item[2].technique))
        if k + 1 < len(points):
            style = _style(open_[-1][2].technique) if open_ else Style()
            if len(open_) > 1:
                style += Style(underline=True)
            out.append(_clean(text[p : points[k + 1]]), style=style)
    return out


def _source(analysis: Analysis) -> Text:
    a = analysis.article
    parts = [x for x in (a.outlet, a.author, a.published, a.url or a.file) if x]
    return Text(_clean(" \u00b7 ".join(parts)) if parts else "Source unknown", style=_MUTED)


def _genre(analysis: Analysis) -> Text:
    t = Text(_clean(labels.genre_label(analysis.genre)))
    if analysis.genre and analysis.genre in analysis.genre_scores:
        t.append(f" ({fmt_score(analysis.genre_scores[analysis.genre])} confidence)", style=_MUTED)
    return t


def _frames(analysis: Analysis) -> Text:
    t = Text()
    frames = sorted(analysis.frames, key=lambda f: -analysis.frame_scores.get(f, 0.0))
    if not frames:
        t.append("none detected", style=_MUTED)
    for i, f in enumerate(frames):
        if i:
            t.append(", ")
        t.append(_clean(labels.frame_label(f)))
        if f in analysis.frame_scores:
            t.append(f" {fmt_score(analysis.frame_scores[f])}", style=_MUTED)
    return t


def _notes(notes: Sequence[str], console: Console) -> None:
    for note in notes:
        console.print(Text.assemble(("! Note: ", "bold yellow"), _clean(note)))


def _sparkline(values: Sequence[float]) -> str:
    top = max(values, default=0.0)
    if top <= 0:
        return "\u2581" * len(values)
    return "".join(_SPARK[max(1, round(v / top * 8))] if v > 0 else _SPARK[1] for v in values)


def _profile_table(profile: Profile) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    table.add_column("Category")
    table.add_column("Techniques (count)", overflow="fold")
    table.add_column("/1k words", justify="right")
    for key in labels.CATEGORY_ORDER:
        count = profile.category_counts.get(key, 0)
        if not count:
            continue
        cat = labels.category(key)
        names = Text()
        for name, n in profile.counts.items():
            info = technique_info(name)
            if info.category.key == key:
                if names:
                    names.append(" ")
                names.append(f"{info.abbr}\u00d7{n}", style=_marker(name))
        table.add_row(
            Text.assemble(
                (f" {cat.symbol} ", Style(color="#111111", bgcolor=cat.color, bold=True)),
                " ",
                cat.name,
            ),
            names,
            fmt_rate(profile.category_per_1000.get(key, 0.0)),
        )
    return table


def _profile_line(profile: Profile) -> Text:
    return Text.assemble(
        (str(profile.span_count), "bold"),
        " detections \u00b7 ",
        (fmt_rate(profile.total_per_1000), "bold"),
        f" per 1,000 words ({profile.words} words) \u00b7 ",
        (f"{profile.paragraphs_with_technique} of {profile.paragraphs}", "bold"),
        f" paragraphs ({fmt_pct(profile.paragraph_share)}) use at least one technique",
    )


def _key(techniques: Sequence[str]) -> Text:
    out = Text()
    for i, name in enumerate(techniques):
        info = technique_info(name)
        if i:
            out.append("\n")
        out.append(f"{info.abbr:>3} ", style=_marker(name))
        out.append(f"{info.label} ")
        out.append(f"({info.category.symbol} {info.category.name})", style=_MUTED)
    return out


def _evidence_text(analysis: Analysis, ev: Evidence) -> Text:
    t = Text("\u201c" + ("\u2026" if ev.cut_before else ""))
    t.append_text(highlight(analysis.article.text, ev.start, ev.end, [ev.span]))
    t.append(("\u2026" if ev.cut_after else "") + "\u201d")
    info = technique_info(ev.span.technique)
    where = f", paragraph {ev.paragraph + 1}" if ev.paragraph is not None else ""
    words = f" \u00b7 words that drove it: {', '.join(ev.span.evidence)}" if ev.span.evidence else ""
    quote = quotation_of(analysis.article, ev.span)
    said = "" if quote is None else " \u00b7 in a quotation" + (f" ({quote.speaker})" if quote.speaker else "")
    t.append(f"\n  {info.label}, {ev.span.level}{where}{words}{said}", style=_MUTED)
    return t


def _threshold(min_score: float) -> str:
    return f" (confidence \u2265 {fmt_pct(min_score)})" if min_score > 0 else ""


def print_analysis(analysis: Analysis, console: Console, *, min_score: float = 0.0) -> None:
    """The whole report: header, notes, profile, annotated text, key and evidence."""
    article = analysis.article
    profile = Profile.from_analysis(analysis, min_score=min_score)
    spans = [
        s for s in analysis.spans_at_least(min_score) if 0 <= s.start < s.end <= len(article.text)
    ]
    console.print(Text(_clean(article.title or "Untitled article"), style="bold"))
    console.print(_source(analysis))
    console.print(Text("Genre: ", style="bold").append_text(_genre(analysis)))
    console.print(Text("Frames: ", style="bold").append_text(_frames(analysis)))
    _notes(analysis.notes, console)
    console.print(Rule("Persuasion profile" + _threshold(min_score), align="left"))
    console.print(_profile_line(profile))
    if profile.span_count:
        console.print(
            Text.assemble("Density, beginning to end: ", (_sparkline(profile.density), "bold"))
        )
        console.print(_profile_table(profile))
    console.print(Rule("Text", align="left"))
    index = SpanIndex([(s.start, s.end) for s in spans])
    for b in blocks(article):
        near = [spans[i] for i in index.overlapping(b.start, b.end)]
        label = f"\u00b6{b.paragraph + 1} " if b.paragraph is not None else ""
        console.print(
            Text(label, style="bold").append_text(highlight(article.text, b.start, b.end, near))
        )
        found = block_labels(analysis, b, near, min_score)
        if found:
            line = Text("   \u2192 ", style=_MUTED)
            for i, (name, score) in enumerate(found):
                info = technique_info(name)
                line.append(("; " if i else "") + info.abbr, style=_marker(name))
                line.append(f" {info.label} {fmt_score(score)} {level_of(score)}")
            console.print(line)
        console.print()
    if profile.counts:
        console.print(Rule("Key", align="left"))
        order = sorted(profile.counts, key=lambda n: (technique_info(n).category_index, n))
        console.print(_key(order))
    if profile.evidence:
        console.print(Rule("Strongest evidence", align="left"))
        for ev in profile.evidence:
            console.print(_evidence_text(analysis, ev))
    console.print(
        Text(
            "Detections are automatic and can be wrong: read the quoted text before relying on it.",
            style=_MUTED,
        )
    )


def print_comparison(c: Comparison, console: Console) -> None:
    """Summary, side-by-side table, differences and each article's strongest evidence
    (detections counted from ``c.min_score``)."""
    console.print(Text(f"Comparing {len(c.analyses)} articles", style="bold"))
    for tag, a in zip(c.tags, c.analyses, strict=True):
        console.print(
            Text.assemble(
                (f" {tag} ", "bold reverse"),
                " ",
                _clean(a.article.title or "Untitled article"),
                "  ",
                _source(a),
            )
        )
    for tag, a in zip(c.tags, c.analyses, strict=True):
        _notes([f"article {tag}: {n}" for n in a.notes], console)
    console.print(Rule("In short" + _threshold(c.min_score), align="left"))
    console.print(Text(summarize(c)))
    side = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    side.add_column("")
    for tag in c.tags:
        side.add_column(tag, overflow="fold")
    rows: list[tuple[str, list[Text]]] = [
        ("Genre", [_genre(a) for a in c.analyses]),
        ("Frames", [_frames(a) for a in c.analyses]),
        ("Detections", [Text(str(p.span_count)) for p in c.profiles]),
        ("Per 1,000 words", [Text(fmt_rate(p.total_per_1000)) for p in c.profiles]),
        ("Paragraphs", [Text(fmt_pct(p.paragraph_share)) for p in c.profiles]),
    ]
    for name, cells in rows:
        side.add_row(Text(name, style="bold"), *cells)
    console.print(side)
    if c.rows:
        console.print(Rule("Techniques per 1,000 words (count)", align="left"))
        diff = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        diff.add_column("Technique", overflow="fold")
        for tag in c.tags:
            diff.add_column(tag, justify="right")
        diff.add_column("Stands out")
        leaders = {x.technique: c.tags[x.leader] for x in c.contrasts}
        for row in c.rows:
            info = technique_info(row.technique)
            diff.add_row(
                Text.assemble((info.abbr, _marker(row.technique)), " ", info.label),
                *(Text(f"{fmt_rate(r)} ({n})") for r, n in zip(row.rates, row.counts, strict=True)),
                Text(leaders.get(row.technique, "")),
            )
        console.print(diff)
    for tag, a, p in zip(c.tags, c.analyses, c.profiles, strict=True):
        if p.evidence:
            console.print(Rule(f"Strongest evidence in {tag}", align="left"))
            console.print(Group(*(_evidence_text(a, ev) for ev in p.evidence[:3])))
