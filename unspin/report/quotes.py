"""Is a highlight inside a quotation, and whose? A news report quotes persuasion it does not
make: "joined" in a minister's words is the minister's flag waving, not the reporter's, and
a reader must see that before judging the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..document import Article, Span

# Straight quotes pair up in order; curly ones open and close.
_OPEN, _CLOSE = "\u201c", "\u201d"
_SPEECH = re.compile(
    r"\b(?:said|says|say|told|tells|added|adding|wrote|writes|stated|states|declared|warned|"
    r"claimed|claims|insisted|argued|asked|replied|called|according to)\b"
)
# A name: two to five title-case words ("Deputy Foreign Minister Alexander Grushko" keeps its
# last two). One word is too often "Wednesday" or "Moscow", and "US-dominated NATO" is no
# name: no speaker is better than a wrong one.
_NAME = re.compile(r"(?:[A-Z][a-z][\w'’-]*\s+){1,4}[A-Z][a-z][\w'’-]*")
_LOOK_BACK, _LOOK_AHEAD = 500, 80


@dataclass(frozen=True)
class Quotation:
    start: int  # the opening quote mark
    end: int  # one past the closing one
    speaker: str | None  # who the text says is speaking, when it says so nearby


def _quoted_segments(text: str) -> list[tuple[int, int]]:
    """[start, end) of every quotation, quote marks included, in reading order."""
    out, opened, straight = [], None, None
    for i, c in enumerate(text):
        if c == '"':
            if straight is None:
                straight = i
            else:
                out.append((straight, i + 1))
                straight = None
        elif c == _OPEN:
            opened = i
        elif c == _CLOSE and opened is not None:
            out.append((opened, i + 1))
            opened = None
    return sorted(out)


def _speaker(text: str, start: int, end: int) -> str | None:
    """The name beside a speech verb just after the quotation ("…," said Jo Roe) or, failing
    that, the nearest one before it ("Jo Roe told reporters: …")."""
    after = text[end : end + _LOOK_AHEAD]
    verb = _SPEECH.search(after)
    if verb and verb.start() < 20:
        name = _NAME.match(after, verb.end() + 1)
        if name:
            return _short(name.group())
    before_start = max(0, start - _LOOK_BACK)
    before = text[before_start:start]
    for verb in reversed(list(_SPEECH.finditer(before))):
        names = list(_NAME.finditer(before, max(0, verb.start() - 150), verb.start()))
        if names:
            return _short(names[-1].group())
    return None


def _short(name: str) -> str:
    words = name.split()
    return " ".join(words[-2:]).rstrip(".,:;")


def quotation_around(text: str, start: int, end: int, lo: int = 0, hi: int | None = None) -> Quotation | None:
    """The quotation that holds ``text[start:end]`` whole, if any, with quote marks paired
    within ``text[lo:hi]`` (its paragraph: a quotation running over several paragraphs opens
    each of them again)."""
    hi = len(text) if hi is None else hi
    for qs, qe in _quoted_segments(text[lo:hi]):
        if qs + lo <= start and end <= qe + lo:
            return Quotation(qs + lo, qe + lo, _speaker(text, qs + lo, qe + lo))
    return None


def quotation_of(article: Article, span: Span) -> Quotation | None:
    """The quotation ``span`` sits in, quote marks paired within its paragraph."""
    p = article.paragraph_at(span.start)
    lo, hi = (p.start, p.end) if p else (0, len(article.text))
    return quotation_around(article.text, span.start, span.end, lo, hi)
