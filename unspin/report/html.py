"""Self-contained HTML reports: one file, no network, safe to e-mail and to open offline.

Everything is inlined (CSS, the small script, SVG charts). Article-derived text reaches the
page only through autoescaping templates, data for the script travels in a JSON block, and
a Content-Security-Policy allows only the report's own script (by hash), so even a bug in
escaping could not run injected code.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from ..compare import Comparison
from ..document import Analysis
from ..feedback import text_hash
from ..taxonomy import CATEGORIES, TECHNIQUES
from ..version import __version__
from . import charts, labels
from .env import environment, static_text
from .summary import summarize
from .view import DocView, doc_view, script_data

__all__ = ["content_security_policy", "render_analyses", "render_analysis", "render_comparison"]

_UNDERLINES = ("solid", "dashed", "dotted", "double", "solid", "dashed", "dotted")


def _mix(color: str, other: tuple[int, int, int], amount: float) -> str:
    r, g, b = (int(color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    mixed = (round(c + (o - c) * amount) for c, o in zip((r, g, b), other, strict=True))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _category_styles() -> list[dict[str, str]]:
    """Per category: highlight tint, a dark line/marker colour, an underline style."""
    out = []
    for i, key in enumerate(labels.CATEGORY_ORDER):
        c = labels.category(key)
        out.append(
            {
                "color": c.color,
                "tint": _mix(c.color, (255, 255, 255), 0.42),
                "line": _mix(c.color, (17, 17, 17), 0.62),
                "style": _UNDERLINES[i % len(_UNDERLINES)],
            }
        )
    return out


def content_security_policy(*scripts: str, connect: bool = False) -> str:
    """The page's own policy: its inline ``scripts`` by hash, no network unless ``connect``
    (a report served by the app, which sends feedback to its own origin)."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode('utf-8')).digest()).decode('ascii')}'"
        for s in scripts
    )
    connect_src = "connect-src 'self'; " if connect else ""
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src {hashes}; {connect_src}base-uri 'none'; form-action 'none'"
    )


def _script(name: str) -> str:
    script = static_text(name)
    if "</script" in script.lower():  # would end the element early; never ship such a script
        raise RuntimeError(f"{name} must not contain '</script'")
    return script


def _feedback_context(analysis: Analysis) -> dict[str, Any]:
    """What the feedback controls of a served report need: the article's hash, the
    techniques to pick a missed one from, and their script and style."""
    return {
        "hash": text_hash(analysis.article.text),
        "script": Markup(_script("feedback.js")),
        "css": Markup(static_text("feedback.css")),
        "categories": [
            (c.name, [t for t in TECHNIQUES.values() if t.category == c.key])
            for c in CATEGORIES.values()
        ],
    }


def _page(
    template: str,
    *,
    docs: list[DocView],
    min_score: float,
    feedback: dict[str, Any] | None = None,
    **context: Any,
) -> str:
    script = _script("report.js")
    scripts = (script, str(feedback["script"])) if feedback else (script,)
    models = sorted({d.model for d in docs if d.model != "none"})
    return (
        environment()
        .get_template(template)
        .render(
            csp=content_security_policy(*scripts, connect=feedback is not None),
            css=Markup(static_text("report.css")),
            script=Markup(script),
            categories=_category_styles(),
            version=__version__,
            models=", ".join(models),
            data=script_data(docs, min_score),
            docs=docs,
            min_score=min_score,
            feedback=feedback,
            **context,
        )
    )


def render_analysis(analysis: Analysis, *, min_score: float = 0.0, feedback: bool = False) -> str:
    """The full report on one article as a standalone HTML document; with ``feedback``,
    as the web app serves it: with controls that send the reader's verdicts to
    ``/api/feedback`` (and a policy that allows that one connection)."""
    d = doc_view(analysis, min_score=min_score)
    return _page(
        "analysis.html.j2",
        docs=[d],
        min_score=min_score,
        feedback=_feedback_context(analysis) if feedback else None,
        d=d,
        kind="persuasion report",
        page_title=f"{d.title} \u2013 unspin report",
    )


def render_analyses(analyses: Sequence[Analysis], *, min_score: float = 0.0) -> str:
    """Several full reports in one standalone HTML document (one slider for all)."""
    if len(analyses) == 1:
        return render_analysis(analyses[0], min_score=min_score)
    docs = [doc_view(a, doc=i, min_score=min_score) for i, a in enumerate(analyses)]
    return _page(
        "many.html.j2",
        docs=docs,
        min_score=min_score,
        total=sum(len(d.spans) for d in docs),
        kind="persuasion reports",
        page_title=f"{len(docs)} articles \u2013 unspin report",
    )


def _comparison_charts(c: Comparison, docs: list[DocView]) -> dict[str, Markup]:
    series = [
        charts.Series(name=d.name, tag=d.tag, values=(), color=d.color, doc=d.doc) for d in docs
    ]

    def with_values(values: list[list[float]]) -> list[charts.Series]:
        return [
            charts.Series(s.name, s.tag, tuple(v), s.color, s.dash, s.doc)
            for s, v in zip(series, values, strict=True)
        ]

    cats = [labels.category(k) for k in labels.CATEGORY_ORDER]
    cats = [k for k in cats if any(k.key in p.category_per_1000 for p in c.profiles)]
    techs = [labels.technique_info(r.technique) for r in c.rows]
    techs.sort(key=lambda i: (-max(p.rate(i.name) for p in c.profiles), i.label))
    density = [
        charts.Series(s.name, s.tag, p.density, s.color, charts.SERIES_DASHES[i % 6], s.doc)
        for i, (s, p) in enumerate(zip(series, c.profiles, strict=True))
    ]
    return {
        "category": charts.grouped_bar_chart(
            [(k.name, k.key, k.symbol) for k in cats],
            with_values([[p.category_per_1000.get(k.key, 0.0) for k in cats] for p in c.profiles]),
            title="Techniques per 1,000 words, by category",
            live="category",
        ),
        "technique": charts.grouped_bar_chart(
            [(i.label, i.name, i.category.symbol) for i in techs],
            with_values([[p.rate(i.name) for i in techs] for p in c.profiles]),
            title="Techniques per 1,000 words, by technique",
            live="technique",
        ),
        "paragraphs": charts.grouped_bar_chart(
            [("Paragraphs with at least one technique", "paragraphs", "")],
            with_values([[p.paragraph_share] for p in c.profiles]),
            title="Share of paragraphs with at least one technique",
            live="paragraphs",
            percent=True,
        ),
        "density": charts.density_chart(density, title="Technique density along each article"),
    }


def render_comparison(c: Comparison) -> str:
    """Several articles side by side, as a standalone HTML document (detections counted and
    shown from ``c.min_score``)."""
    docs = [
        doc_view(a, doc=i, min_score=c.min_score, tag=c.tags[i], name=c.names[i])
        for i, a in enumerate(c.analyses)
    ]
    notes: dict[str, list[str]] = {}
    for d in docs:
        for note in d.analysis.notes:
            notes.setdefault(note, []).append(d.tag)
    leaders = {(x.technique, x.leader) for x in c.contrasts}
    rows = [
        {
            "info": labels.technique_info(r.technique),
            "rates": r.rates,
            "counts": r.counts,
            "leader": next((i for i in range(len(docs)) if (r.technique, i) in leaders), None),
        }
        for r in c.rows
    ]
    return _page(
        "comparison.html.j2",
        docs=docs,
        min_score=c.min_score,
        c=c,
        summary=summarize(c),
        rows=rows,
        charts=_comparison_charts(c, docs),
        notes=[f"{', '.join(tags)}: {note}" for note, tags in notes.items()],
        total=sum(len(d.spans) for d in docs),
        infos=sorted(
            {i for d in docs for i in d.techniques}, key=lambda i: (i.category_index, i.label)
        ),
        ratio_text={2.0: "half", 3.0: "a third", 4.0: "a quarter"}.get(c.ratio, f"1/{c.ratio:g}"),
        kind="comparison",
        page_title=f"Comparison of {len(docs)} articles \u2013 unspin",
    )
