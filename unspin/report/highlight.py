"""Turn possibly overlapping spans into properly nested fragments for HTML.

HTML elements must nest, spans need not: two spans that cross are split where they cross,
so one span may become several elements ("fragments"). Each fragment keeps the span's id
and its own offsets, so the concatenated fragments of a span always give back
``article.text[span.start:span.end]`` (minus whitespace-only gaps between paragraphs).
Each span also gets a "lane": overlapping spans get different lanes, which the stylesheet
turns into underlines at different depths, so that stacked detections stay visible.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..document import Analysis, Article, Span
from ..profiles import paragraphs_of


@dataclass(frozen=True)
class Block:
    """A stretch of article text shown as one block: a paragraph, or text between them."""

    start: int
    end: int
    paragraph: int | None  # paragraph index; None for text outside every paragraph


@dataclass
class Fragment:
    """One element of a highlighted span: ``text[start:end]``, holding nested nodes."""

    span: int  # index of the span in the list given to ``nest``
    start: int
    end: int
    first: bool
    children: list[Fragment | str] = field(default_factory=list)


Node = Fragment | str


def blocks(article: Article) -> list[Block]:
    """Paragraphs in order, plus any non-blank text between them, so no text is lost."""
    text = article.text
    out: list[Block] = []
    pos = 0
    for p in sorted(paragraphs_of(article), key=lambda p: (p.start, p.end)):
        start, end = max(p.start, pos), min(p.end, len(text))
        if start >= end:
            continue
        if text[pos:start].strip():
            out.append(Block(pos, start, None))
        out.append(Block(start, end, p.index))
        pos = end
    if text[pos:].strip():
        out.append(Block(pos, len(text), None))
    return out


class SpanIndex:
    """Finds the spans overlapping a stretch of text without scanning them all (long
    articles have hundreds of paragraphs and thousands of spans)."""

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        self.spans = spans
        self.order = sorted(range(len(spans)), key=lambda i: spans[i][0])
        self.starts = [spans[i][0] for i in self.order]
        self.longest = max((e - s for s, e in spans), default=0)

    def overlapping(self, lo: int, hi: int) -> list[int]:
        """Indices, in input order, of the spans with ``start < hi`` and ``end > lo``."""
        a = bisect.bisect_left(self.starts, lo - self.longest)
        b = bisect.bisect_left(self.starts, hi)
        return sorted(i for i in self.order[a:b] if self.spans[i][1] > lo)


def nest(
    text: str,
    lo: int,
    hi: int,
    spans: Sequence[tuple[int, int]],
    candidates: Iterable[int] | None = None,
    started: set[int] | None = None,
) -> list[Node]:
    """Nodes for ``text[lo:hi]``; ``spans`` are ``(start, end)`` pairs, clipped to the block
    (``candidates``: the indices worth looking at, e.g. from ``SpanIndex``; ``started``:
    spans already begun in earlier blocks, updated, so only a span's very first fragment
    is marked ``first``).

    Where spans start together the longer one is outside; where a span ends while spans
    opened after it are still open, those are closed and reopened as new fragments.
    """
    clipped = {}
    for i in range(len(spans)) if candidates is None else candidates:
        s, e = spans[i]
        if max(s, lo) < min(e, hi):
            clipped[i] = (max(s, lo), min(e, hi))
    points = sorted({lo, hi} | {p for se in clipped.values() for p in se})
    starting: dict[int, list[int]] = {}
    for i, (s, _) in clipped.items():
        starting.setdefault(s, []).append(i)
    root = Fragment(span=-1, start=lo, end=hi, first=False)
    stack = [root]
    open_ids: list[int] = []
    started = set() if started is None else started
    for k, p in enumerate(points[:-1]):
        ending = [j for j, i in enumerate(open_ids) if clipped[i][1] == p]
        reopen: list[int] = []
        if ending:
            cut = ending[0]
            reopen = [i for i in open_ids[cut:] if clipped[i][1] != p]
            del open_ids[cut:]
            for frag in stack[cut + 1 :]:
                frag.end = p
            del stack[cut + 1 :]
        for i in sorted(
            reopen + starting.get(p, []), key=lambda i: (-clipped[i][1], clipped[i][0], i)
        ):
            frag = Fragment(span=i, start=p, end=clipped[i][1], first=i not in started)
            started.add(i)
            stack[-1].children.append(frag)
            stack.append(frag)
            open_ids.append(i)
        stack[-1].children.append(text[p : points[k + 1]])
    for frag in stack[1:]:
        frag.end = hi
    return root.children


def lanes(spans: Sequence[tuple[int, int]]) -> list[int]:
    """Greedy interval colouring: overlapping spans never share a lane."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1], i))
    lane_end: list[int] = []
    out = [0] * len(spans)
    for i in order:
        start, end = spans[i]
        for lane, last_end in enumerate(lane_end):
            if last_end <= start:
                lane_end[lane] = end
                out[i] = lane
                break
        else:
            lane_end.append(end)
            out[i] = len(lane_end) - 1
    return out


def block_labels(
    analysis: Analysis, block: Block, spans: Sequence[Span], min_score: float
) -> list[tuple[str, float]]:
    """A paragraph's techniques for the margin, strongest first.

    The paragraph classifier's labels, plus the technique of any span in the paragraph
    they miss (with the span's score), so the margin never contradicts the highlights.
    """
    if block.paragraph is None:
        return []
    scores: dict[str, float] = {}
    for p in analysis.paragraphs:
        if p.index == block.paragraph:
            for name, score in p.techniques.items():
                if score >= min_score:
                    scores[name] = max(score, scores.get(name, 0.0))
    labelled = set(scores)
    for s in spans:
        if (
            s.technique not in labelled
            and s.score >= min_score
            and s.start < block.end
            and s.end > block.start
        ):
            scores[s.technique] = max(s.score, scores.get(s.technique, 0.0))
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
