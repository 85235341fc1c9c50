"""Put two or more analyses side by side: how differently do they persuade?

Numbers only: rates, the techniques one article uses and the others avoid, and how to refer
to each article. Analysing texts first is :func:`unspin.analyze.compare_articles`'s job; the
plain-language summary written from these numbers is :mod:`unspin.report.summary`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .document import Analysis
from .errors import InputError
from .profiles import Evidence, Profile
from .taxonomy import TECHNIQUE_NAMES

__all__ = ["MAX_ARTICLES", "Comparison", "Contrast", "TechniqueRow", "check_count", "compare"]

MAX_ARTICLES = 10  # the most articles the CLI, the API and the web app compare at once

_GENRE_NOUNS = {"opinion": "opinion piece", "reporting": "report", "satire": "satire piece"}


@dataclass(frozen=True)
class TechniqueRow:
    """One technique's rate (per 1,000 words) and span count in each article."""

    technique: str
    rates: tuple[float, ...]
    counts: tuple[int, ...]

    @property
    def spread(self) -> float:
        return max(self.rates) - min(self.rates)


@dataclass(frozen=True)
class Contrast:
    """A technique that article ``leader`` uses and the others (nearly) avoid."""

    technique: str
    leader: int
    rates: tuple[float, ...]

    @property
    def others_max(self) -> float:
        return max((r for i, r in enumerate(self.rates) if i != self.leader), default=0.0)


@dataclass(frozen=True)
class Comparison:
    """Profiles of several articles and their differences.

    ``names`` are how the summary refers to each article ("the opinion piece"); ``tags``
    ("1", "2", ...; category symbols are letters) label them in charts and tables.
    """

    analyses: tuple[Analysis, ...]
    profiles: tuple[Profile, ...]
    names: tuple[str, ...]
    tags: tuple[str, ...]
    rows: tuple[TechniqueRow, ...]
    contrasts: tuple[Contrast, ...]
    min_score: float
    threshold: float
    ratio: float
    min_count: int

    @property
    def measured(self) -> bool:
        """False when some article was not analysed by a model: its zeros mean nothing."""
        return all(p.measured for p in self.profiles)

    @property
    def genres(self) -> tuple[tuple[str | None, float | None], ...]:
        return tuple(
            (a.genre, a.genre_scores.get(a.genre) if a.genre else None) for a in self.analyses
        )

    @property
    def frames(self) -> tuple[tuple[tuple[str, float], ...], ...]:
        """Each article's detected frames, most likely first."""
        return tuple(_frames(a) for a in self.analyses)

    @property
    def evidence(self) -> tuple[tuple[Evidence, ...], ...]:
        return tuple(p.evidence for p in self.profiles)

    def to_dict(self) -> dict[str, Any]:
        """The numbers of the comparison as JSON-ready data (analyses not included)."""
        c = self
        return {
            "min_score": c.min_score,
            "measured": c.measured,
            "profiles": [
                {
                    "tag": c.tags[i],
                    "name": c.names[i],
                    "words": p.words,
                    "paragraphs": p.paragraphs,
                    "paragraphs_with_technique": p.paragraphs_with_technique,
                    "span_count": p.span_count,
                    "total_per_1000": p.total_per_1000,
                    "paragraph_share": p.paragraph_share,
                    "counts": p.counts,
                    "per_1000": p.per_1000,
                    "category_counts": p.category_counts,
                    "category_per_1000": p.category_per_1000,
                    "density": list(p.density),
                    "measured": p.measured,
                }
                for i, p in enumerate(c.profiles)
            ],
            "rows": [
                {"technique": r.technique, "rates": list(r.rates), "counts": list(r.counts)}
                for r in c.rows
            ],
            "contrasts": [
                {"technique": x.technique, "leader": x.leader, "rates": list(x.rates)}
                for x in c.contrasts
            ],
        }


def _frames(a: Analysis) -> tuple[tuple[str, float], ...]:
    return tuple(
        sorted(((f, a.frame_scores.get(f, 0.0)) for f in a.frames), key=lambda fs: (-fs[1], fs[0]))
    )


def compare(
    analyses: Sequence[Analysis],
    *,
    min_score: float = 0.0,
    threshold: float = 1.0,
    ratio: float = 3.0,
    min_count: int = 2,
) -> Comparison:
    """Compare analyses, counting only detections scored at least ``min_score``.

    A technique counts as "used by one, avoided by the others" when that article uses it at
    least ``threshold`` times per 1,000 words and ``min_count`` times (one phrase is no
    pattern), and every other article at most ``1/ratio`` as often.
    """
    check_count(analyses)
    if not all(isinstance(a, Analysis) for a in analyses):
        raise InputError("compare takes Analyses; unspin.compare analyses texts and Articles first.")
    found = tuple(analyses)
    profiles = tuple(Profile.from_analysis(a, min_score=min_score) for a in found)
    order = {name: i for i, name in enumerate(TECHNIQUE_NAMES)}
    used = sorted(
        {t for p in profiles for t in p.counts}, key=lambda t: (order.get(t, len(order)), t)
    )
    rows = sorted(
        (
            TechniqueRow(
                technique=t,
                rates=tuple(p.rate(t) for p in profiles),
                counts=tuple(p.counts.get(t, 0) for p in profiles),
            )
            for t in used
        ),
        key=lambda r: -r.spread,
    )
    contrasts = []
    for row in rows:
        leader = max(range(len(profiles)), key=lambda i: row.rates[i])
        top = row.rates[leader]
        others = [r for i, r in enumerate(row.rates) if i != leader]
        count = row.counts[leader]
        if top >= threshold and count >= min_count and all(r * ratio <= top for r in others):
            contrasts.append(Contrast(technique=row.technique, leader=leader, rates=row.rates))
    tags = tuple(str(i + 1) for i in range(len(found)))  # letters would clash with symbols
    return Comparison(
        analyses=found,
        profiles=profiles,
        names=_names(found, tags),
        tags=tags,
        rows=tuple(rows),
        contrasts=tuple(contrasts),
        min_score=min_score,
        threshold=threshold,
        ratio=ratio,
        min_count=min_count,
    )


def check_count(items: object) -> None:
    """InputError unless ``items`` is a list of at least two things to compare."""
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise InputError("compare takes a list of articles (texts, Articles or Analyses).")
    if len(items) < 2:
        raise InputError("Comparing needs at least two articles.")


def _names(analyses: Sequence[Analysis], tags: Sequence[str]) -> tuple[str, ...]:
    """Refer to articles by genre when that tells them apart, else by title, else by tag."""
    genres = [a.genre for a in analyses]
    if all(g in _GENRE_NOUNS for g in genres) and len(set(genres)) == len(genres):
        return tuple(f"the {_GENRE_NOUNS[g]}" for g in genres if g)
    titles = [_short_title(a.article.title) for a in analyses]
    if all(titles) and len(set(titles)) == len(titles):
        return tuple(f"\u201c{t}\u201d" for t in titles if t)
    return tuple(f"article {t}" for t in tags)


def _short_title(title: str | None, words: int = 6) -> str:
    parts = (title or "").split()
    return " ".join(parts[:words]) + ("\u2026" if len(parts) > words else "")
