"""The plain-language summary of a comparison, written from its numbers by fixed templates.

No language model: every claim can be traced to a number shown in the report. Numbers are
compared as they are printed (one decimal, whole percentages), so the text never calls
"6.1 vs 6.1" a difference; zeros are said as "none", and articles no model has analysed are
never compared at all, since their zeros mean "not measured".
"""

from __future__ import annotations

from collections.abc import Sequence

from ..compare import Comparison
from . import labels
from .labels import fmt_pct, fmt_rate, in_sentence, technique_info

__all__ = ["summarize"]


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
