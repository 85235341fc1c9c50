"""Put two or more articles side by side: how differently do they persuade?

The summary is written from the numbers by fixed templates (no language model), so every
claim in it can be traced to a number shown in the report. Numbers are compared as they are
printed (one decimal, whole percentages), so the text never calls "6.1 vs 6.1" a
difference; zeros are said as "none", and articles no model has analysed are never compared
at all, since their zeros mean "not measured".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .analyze import analyze_with, checked, installed_model
from .config import Settings, load_settings
from .document import Analysis, Article
from .errors import InputError
from .model import Model
from .profile import Evidence, Profile
from .report import labels
from .report.labels import fmt_pct, fmt_rate, in_sentence, technique_info
from .taxonomy import TECHNIQUE_NAMES

__all__ = ["Comparison", "Contrast", "TechniqueRow", "compare", "summarize"]

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
    """Profiles of several articles, their differences and a plain-language summary.

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
    summary: str

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

    def at(self, min_score: float) -> Comparison:
        """The same comparison, counting only detections scoring >= ``min_score``."""
        if min_score == self.min_score:
            return self
        return compare(
            self.analyses,
            min_score=min_score,
            threshold=self.threshold,
            ratio=self.ratio,
            min_count=self.min_count,
        )

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

    def to_document(self) -> dict[str, Any]:
        """What the CLI writes as JSON and the API answers: every analysis, the numbers
        (``report/comparison.schema.json``) and the summary."""
        return {
            "analyses": [a.to_dict() for a in self.analyses],
            "comparison": self.to_dict(),
            "summary": self.summary,
        }


def _frames(a: Analysis) -> tuple[tuple[str, float], ...]:
    return tuple(
        sorted(((f, a.frame_scores.get(f, 0.0)) for f in a.frames), key=lambda fs: (-fs[1], fs[0]))
    )


def compare(
    items: Sequence[Analysis | Article | str],
    *,
    min_score: float = 0.0,
    threshold: float = 1.0,
    ratio: float = 3.0,
    min_count: int = 2,
    model: Model | None = None,
    settings: Settings | None = None,
) -> Comparison:
    """Compare articles; Articles and plain texts are analysed first (with ``model``, by
    default the one ``settings`` name, see :func:`unspin.analyze.installed_model`).

    A technique counts as "used by one, avoided by the others" when that article uses it at
    least ``threshold`` times per 1,000 words and ``min_count`` times (one phrase is no
    pattern), and every other article at most ``1/ratio`` as often.
    """
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise InputError("compare takes a list of articles (texts, Articles or Analyses).")
    if len(items) < 2:
        raise InputError("Comparing needs at least two articles.")
    settings = settings if settings is not None else load_settings()
    if model is None and not all(isinstance(item, Analysis) for item in items):
        model = installed_model(settings)
    analyses = tuple(
        item if isinstance(item, Analysis) else analyze_with(model, checked(item, settings), settings)
        for item in items
    )
    profiles = tuple(Profile.from_analysis(a, min_score=min_score) for a in analyses)
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
    tags = tuple(str(i + 1) for i in range(len(analyses)))  # letters would clash with symbols
    names = _names(analyses, tags)
    partial = Comparison(
        analyses=analyses,
        profiles=profiles,
        names=names,
        tags=tags,
        rows=tuple(rows),
        contrasts=tuple(contrasts),
        min_score=min_score,
        threshold=threshold,
        ratio=ratio,
        min_count=min_count,
        summary="",
    )
    return replace(partial, summary=summarize(partial))


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


# ---------------------------------------------------------------------------- summary


def cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].isalpha() else text


def join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _none_or(rate: float, name: str) -> str:
    r = fmt_rate(rate)
    return f"none in {name}" if r == "0.0" else f"{r} in {name}"


def _unmeasured(c: Comparison) -> str:
    missing = [c.names[i] for i, p in enumerate(c.profiles) if not p.measured]
    if len(missing) == len(c.profiles):
        return (
            "No trained model is installed, so unspin detected nothing in these articles: "
            "their zeros mean \u201cnot measured\u201d, not \u201cno persuasion\u201d, and "
            "the articles cannot be compared yet. Install a model and run the comparison again."
        )
    one = len(missing) == 1
    return (
        f"{cap(join(missing))} {'was' if one else 'were'} not analysed by a trained model, so "
        f"{'its' if one else 'their'} zeros mean \u201cnot measured\u201d, not \u201cno "
        f"persuasion\u201d, and unspin does not compare {'it' if one else 'them'} with the "
        "others. Analyse every article with a model and compare again."
    )


def _intensity(c: Comparison, threshold: str) -> str:
    rates = [p.total_per_1000 for p in c.profiles]
    shown = [fmt_rate(r) for r in rates]
    n = len(rates)
    if all(s == "0.0" for s in shown):
        who = "Neither article contains" if n == 2 else f"None of the {n} articles contains"
        return f"{who} a detected persuasion technique{threshold}."
    if len(set(shown)) == 1:
        who = "Both articles use" if n == 2 else f"All {n} articles use"
        return f"{who} {shown[0]} persuasion techniques per 1,000 words{threshold}."
    order = sorted(range(n), key=lambda i: -rates[i])
    first = order[0]
    head = f"{cap(c.names[first])} uses {shown[first]} persuasion techniques per 1,000 words"
    if n == 2:
        other = order[1]
        if shown[other] == "0.0":
            return f"{head}{threshold}; unspin found none in {c.names[other]}."
        return f"{head}{threshold}, {c.names[other]} {shown[other]}."
    rest = [f"{c.names[i]} {'none' if shown[i] == '0.0' else shown[i]}" for i in order[1:]]
    return f"{head}{threshold}, {join(rest)}."


def _contrasts(c: Comparison) -> str:
    if not c.contrasts:
        if all(p.span_count == 0 for p in c.profiles):
            return ""
        return (
            "No technique sets one article apart: none is used repeatedly (at least "
            f"{fmt_rate(c.threshold)} times per 1,000 words) by one article and rarely or "
            "never by the others."
        )
    n = len(c.profiles)
    sentences = []
    for leader in sorted({x.leader for x in c.contrasts}):
        mine = sorted(
            (x for x in c.contrasts if x.leader == leader), key=lambda x: -x.rates[leader]
        )[:2]
        parts = []
        for k, x in enumerate(mine):
            label = in_sentence(technique_info(x.technique).label)
            rate = fmt_rate(x.rates[leader])
            if n == 2:
                other = _none_or(x.others_max, c.names[1 - leader])
            elif fmt_rate(x.others_max) == "0.0":
                other = "none in the others"
            else:
                other = f"at most {fmt_rate(x.others_max)} in the others"
            unit = " per 1,000 words" if k == 0 else ""
            parts.append(f"{label} ({rate}{unit}, against {other})")
        sentences.append(f"{cap(c.names[leader])} stands out for {join(parts)}.")
    return " ".join(sentences)


def _spread(c: Comparison) -> str:
    if all(p.span_count == 0 for p in c.profiles):
        return ""
    shares = [fmt_pct(p.paragraph_share) for p in c.profiles]
    n = len(shares)
    if len(set(shares)) == 1:
        who = "both articles" if n == 2 else f"all {n} articles"
        return f"In {who}, {shares[0]} of paragraphs contain at least one technique."
    order = sorted(range(n), key=lambda i: -c.profiles[i].paragraph_share)
    if n == 2:
        hi, lo = order
        return (
            f"In {c.names[hi]}, {shares[hi]} of paragraphs contain at least one technique, "
            f"against {shares[lo]} in {c.names[lo]}."
        )
    return (
        "Paragraphs with at least one technique: "
        + join([f"{shares[i]} in {c.names[i]}" for i in order])
        + "."
    )


def _genres(c: Comparison) -> str:
    if not any(g for g, _ in c.genres):
        return ""
    parts = []
    for name, (genre, score) in zip(c.names, c.genres, strict=True):
        if genre is None:
            parts.append(f"{name} as undetermined")
            continue
        conf = f" ({labels.fmt_score(score)} confidence)" if score is not None else ""
        parts.append(f"{name} as {in_sentence(labels.genre_label(genre))}{conf}")
    return f"By genre, unspin reads {join(parts)}."


def _main_frames(c: Comparison) -> str:
    tops = [labels.frame_label(f[0][0]) if f else None for f in c.frames]
    if not any(tops):
        return ""
    if all(tops) and len(set(tops)) == 1:
        who = "both" if len(tops) == 2 else "all"
        return f"The main frame is the same for {who}: {in_sentence(tops[0] or '')}."
    parts = [
        f"{in_sentence(t)} for {name}" if t else f"none detected for {name}"
        for name, t in zip(c.names, tops, strict=True)
    ]
    return f"Main frames: {join(parts)}."


def summarize(c: Comparison) -> str:
    """One plain-language paragraph; every number in it is also shown in the report."""
    if not c.measured:
        return _unmeasured(c)
    threshold = (
        f" (counting detections of {fmt_pct(c.min_score)} confidence or more)"
        if c.min_score > 0
        else ""
    )
    sentences = [
        _intensity(c, threshold),
        _contrasts(c),
        _spread(c),
        _genres(c),
        _main_frames(c),
    ]
    return " ".join(s for s in sentences if s)
