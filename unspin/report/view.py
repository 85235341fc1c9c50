"""What the HTML templates show, computed once in Python.

Templates stay free of logic; both the single-article report and the comparison build the
same ``DocView`` per article, so the two renderers share every partial.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from ..document import Analysis, Span, level_of
from ..profiles import Evidence, Profile
from . import charts, labels
from .highlight import Fragment, SpanIndex, block_labels, blocks, lanes, nest
from .labels import TechniqueInfo, technique_info
from .quotes import Quotation, quotation_of

_FRAME_COLOR, _FRAME_SELECTED = "#A9C1DB", "#3D6A99"


@dataclass(frozen=True)
class SpanView:
    uid: str
    span: Span
    info: TechniqueInfo
    lane: int
    label_score: float  # the confidence of its paragraph's label: how sure the model is
    quote: Quotation | None = None  # the quotation it sits in: the words may be a speaker's

    @property
    def quoted(self) -> str:
        """What the tooltip says of the quotation it sits in ("" when it sits in none)."""
        if self.quote is None:
            return ""
        who = f" ({self.quote.speaker})" if self.quote.speaker else ""
        return f"Inside a quotation{who}: the words are a speaker's, which the article reports."

    @property
    def description(self) -> str:
        """What a screen reader hears about this highlight (the tooltip, as text)."""
        words = f" Words that drove it: {', '.join(self.span.evidence)}." if self.span.evidence else ""
        return (
            f"{self.info.label} ({self.info.category.name}), {self.span.level}: "
            f"{labels.fmt_score(self.label_score)} sure the paragraph uses it; about "
            f"{labels.fmt_score(self.span.score)} of such highlighted text matches an annotator's."
            f"{words} {self.quoted + ' ' if self.quoted else ''}{self.info.definition}"
        )


@dataclass(frozen=True)
class LabelView:
    info: TechniqueInfo
    score: float

    @property
    def level(self) -> str:
        return level_of(self.score)


@dataclass(frozen=True)
class BlockView:
    start: int
    end: int
    paragraph: int | None
    number: int | None  # 1-based paragraph number as shown to readers
    nodes: list[Fragment | str]
    labels: list[LabelView]


@dataclass(frozen=True)
class LegendGroup:
    category: labels.Category
    index: int
    techniques: list[tuple[TechniqueInfo, int]]


@dataclass(frozen=True)
class EvidenceView:
    uid: str
    info: TechniqueInfo
    score: float
    level: str
    label_score: float
    before: str
    quote: str
    after: str
    evidence: Evidence
    paragraph_number: int | None


@dataclass(frozen=True)
class DocView:
    doc: int
    tag: str
    name: str
    analysis: Analysis
    profile: Profile
    title: str
    source: list[str]
    url: str | None
    href: str | None  # only http(s) URLs become links
    spans: list[SpanView]
    blocks: list[BlockView]
    legend: list[LegendGroup]
    techniques: list[TechniqueInfo]
    genre_label: str
    genre_score: float | None
    genre_definition: str
    genre_scores: list[tuple[str, float]]
    frames: list[tuple[str, float, bool]]
    frames_chart: Markup
    category_chart: Markup
    technique_chart: Markup
    paragraph_chart: Markup
    density_chart: Markup
    evidence: list[EvidenceView]
    color: str

    @property
    def model(self) -> str:
        a = self.analysis
        return " ".join(x for x in (a.model_id, a.model_version) if x) or "none"


def safe_href(url: str | None) -> str | None:
    """Only plain web links are clickable: no javascript:, data: or file: URLs."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in {"http", "https"} and parts.netloc else None


def _visible_spans(analysis: Analysis, min_score: float) -> list[Span]:
    n = len(analysis.article.text)
    return sorted(
        (s for s in analysis.spans_at_least(min_score) if 0 <= s.start < s.end <= n),
        key=lambda s: (s.start, -s.end, s.technique),
    )


def _key(s: Span) -> tuple[str, int, int, float]:
    return (s.technique, s.start, s.end, s.score)


def _evidence_view(
    ev: Evidence, uid: dict[tuple[str, int, int, float], str], numbers: dict[int, int],
    label_score: float,
) -> EvidenceView:
    s = ev.span
    a, b = max(s.start, ev.start), min(s.end, ev.end)
    return EvidenceView(
        uid=uid.get(_key(s), ""),
        info=technique_info(s.technique),
        score=s.score,
        level=s.level,
        label_score=label_score,
        before=ev.text[: a - ev.start],
        quote=ev.text[a - ev.start : b - ev.start],
        after=ev.text[b - ev.start :],
        evidence=ev,
        paragraph_number=numbers.get(ev.paragraph) if ev.paragraph is not None else None,
    )


def _profile_charts(doc: int, profile: Profile, infos: list[TechniqueInfo]) -> tuple[Markup, ...]:
    cat_bars = [
        charts.Bar(
            label=c.name,
            value=profile.category_per_1000.get(c.key, 0.0),
            color=c.color,
            symbol=c.symbol,
            key=c.key,
            doc=doc,
        )
        for c in (labels.category(k) for k in labels.CATEGORY_ORDER)
        if c.key in profile.category_per_1000
    ]
    tech_bars = [
        charts.Bar(
            label=info.label,
            value=profile.rate(info.name),
            color=info.category.color,
            symbol=info.category.symbol,
            key=info.name,
            doc=doc,
        )
        for info in sorted(infos, key=lambda i: (-profile.rate(i.name), i.category_index, i.label))
    ]
    para_bar = charts.Bar(
        label=f"Of {profile.paragraphs} paragraphs",
        value=profile.paragraph_share,
        text=labels.fmt_pct(profile.paragraph_share),
        color="#7a8ea8",
        key="paragraphs",
        doc=doc,
    )
    return (
        charts.hbar_chart(
            cat_bars, title="Techniques per 1,000 words, by category", live="category"
        ),
        charts.hbar_chart(
            tech_bars, title="Techniques per 1,000 words, by technique", live="technique"
        ),
        charts.hbar_chart(
            [para_bar],
            title="Paragraphs with at least one technique",
            max_value=1.0,
            live="paragraphs",
        ),
        charts.density_chart(
            [
                charts.Series(
                    name="Density", tag="", values=profile.density, color="#3D6A99", doc=doc
                )
            ],
            title="Technique density along the article",
        ),
    )


def doc_view(
    analysis: Analysis, *, doc: int = 0, min_score: float = 0.0, tag: str = "", name: str = ""
) -> DocView:
    article = analysis.article
    profile = Profile.from_analysis(analysis, min_score=min_score)
    spans = _visible_spans(analysis, min_score)
    pairs = [(s.start, s.end) for s in spans]
    lane_of = lanes(pairs)
    said = {p.index: p.techniques for p in analysis.paragraphs}

    def label_score(s: Span) -> float:
        p = article.paragraph_at(s.start)
        return said.get(p.index, {}).get(s.technique, s.score) if p else s.score

    span_views = [
        SpanView(uid=f"s{doc}-{i}", span=s, info=technique_info(s.technique), lane=lane_of[i],
                 label_score=label_score(s), quote=quotation_of(article, s))
        for i, s in enumerate(spans)
    ]
    block_views = []
    numbers: dict[int, int] = {}
    index = SpanIndex(pairs)
    started: set[int] = set()
    for b in blocks(article):
        near = index.overlapping(b.start, b.end)
        number = None
        if b.paragraph is not None:
            number = numbers[b.paragraph] = len(numbers) + 1
        block_views.append(
            BlockView(
                start=b.start,
                end=b.end,
                paragraph=b.paragraph,
                number=number,
                nodes=nest(article.text, b.start, b.end, pairs, near, started),
                labels=[
                    LabelView(technique_info(n), score)
                    for n, score in block_labels(analysis, b, [spans[i] for i in near], min_score)
                ],
            )
        )
    counts = Counter(s.technique for s in spans)
    for bv in block_views:
        for lv in bv.labels:
            counts.setdefault(lv.info.name, 0)
    infos = sorted({technique_info(n) for n in counts}, key=lambda i: (i.category_index, i.label))
    legend = [
        LegendGroup(
            category=labels.category(key),
            index=index,
            techniques=[(i, counts[i.name]) for i in infos if i.category.key == key],
        )
        for index, key in enumerate(labels.CATEGORY_ORDER)
        if any(i.category.key == key for i in infos)
    ]
    uid = {_key(sv.span): sv.uid for sv in span_views}
    genre_score = analysis.genre_scores.get(analysis.genre) if analysis.genre else None
    frames = sorted(
        (
            (labels.frame_label(frame), score, frame in analysis.frames)
            for frame, score in analysis.frame_scores.items()
        ),
        key=lambda f: (-f[1], f[0]),
    )
    for frame in analysis.frames:  # a decided frame without a score still shows
        if frame not in analysis.frame_scores:
            frames.append((labels.frame_label(frame), 0.0, True))
    frames_chart = charts.hbar_chart(
        [
            charts.Bar(
                label=label,
                value=score,
                text=labels.fmt_pct(score),
                color=_FRAME_SELECTED if chosen else _FRAME_COLOR,
                symbol="\u2713" if chosen else "",
                emphasis=chosen,
            )
            for label, score, chosen in frames[:8]
        ],
        title="Frames, most likely first (\u2713 = detected)",
        max_value=1.0,
        empty="No frame information.",
        width=360,
    )
    cat_chart, tech_chart, para_chart, dens_chart = _profile_charts(doc, profile, infos)
    local = None if article.url else article.file  # the URL, when there is one, is shown apart
    source = [x for x in (article.outlet, article.author, article.published, local) if x]
    color = charts.SERIES_COLORS[doc % len(charts.SERIES_COLORS)]
    return DocView(
        doc=doc,
        tag=tag,
        name=name,
        analysis=analysis,
        profile=profile,
        title=(article.title or "").strip() or "Untitled article",
        source=source,
        url=article.url,
        href=safe_href(article.url),
        spans=span_views,
        blocks=block_views,
        legend=legend,
        techniques=infos,
        genre_label=labels.genre_label(analysis.genre),
        genre_score=genre_score,
        genre_definition=labels.genre_definition(analysis.genre),
        genre_scores=sorted(
            ((labels.genre_label(g), p) for g, p in analysis.genre_scores.items()),
            key=lambda gp: -gp[1],
        ),
        frames=frames,
        frames_chart=frames_chart,
        category_chart=cat_chart,
        technique_chart=tech_chart,
        paragraph_chart=para_chart,
        density_chart=dens_chart,
        evidence=[_evidence_view(ev, uid, numbers, label_score(ev.span)) for ev in profile.evidence],
        color=color,
    )


def script_data(docs: list[DocView], min_score: float) -> dict[str, Any]:
    """The data the page script needs (goes into a JSON block, never into code)."""
    infos = {i.name: i for d in docs for i in d.techniques}
    return {
        "minScore": min_score,
        "techniques": {
            name: {
                "label": i.label,
                "definition": i.definition,
                "example": i.example,
                "category": i.category.name,
                "categoryKey": i.category.key,
                "symbol": i.category.symbol,
            }
            for name, i in infos.items()
        },
        "docs": [{"words": d.profile.words, "paragraphs": d.profile.paragraphs} for d in docs],
    }
