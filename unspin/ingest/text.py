"""Plain text and the SemEval article layout -> Article with exact paragraph offsets.

The text is never modified: paragraphs are ``(start, end)`` slices of it, so a span found
by the model (or read from a SemEval label file) points at the same characters on disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..document import Article, Paragraph

BOM = "\ufeff"
# The line breaks str.splitlines() knows; "\r\n" counts as one break.
_BREAK_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_MAX_TITLE_CHARS = 200  # SemEval titles are at most ~165 characters
_MAX_SEMEVAL_TITLE_CHARS = 300
_ARTICLE_ID = re.compile(r"article(\d+)")
_BYLINE = re.compile(r"\s*by[:\s]\s*(.+?)\s*", re.I)
_BYLINE_TAIL = re.compile(r"\s*[,|\u2022\u00b7\u2013\u2014]\s*|\s+-\s+")  # "By Jo Roe, Reuters"
_NAME_PARTICLES = frozenset(["and", "&", "de", "del", "della", "der", "den", "di", "du", "da", "la", "le", "van", "von", "al", "bin", "ibn", "y"])
_NOT_NAMES = frozenset(["the", "a", "an", "this", "that", "these", "those", "any", "all", "our", "their", "its", "his", "her", "my", "your", "no"])


def _lines(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each line's content (line break excluded), as splitlines() sees lines."""
    out: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        if line.endswith("\r\n"):
            brk = 2
        elif line[-1] in _BREAK_CHARS:
            brk = 1
        else:
            brk = 0
        out.append((pos, pos + len(line) - brk))
        pos += len(line)
    return out


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` to exclude surrounding whitespace (and a leading BOM at 0)."""
    if start == 0 and text.startswith(BOM):
        start = 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_paragraphs(text: str) -> list[Paragraph]:
    """Paragraphs separated by blank lines; by single line breaks when there are no blank lines.

    Blank means whitespace-only. Each paragraph's span excludes its leading and trailing
    whitespace; together the paragraphs cover every non-whitespace character of ``text``.
    """
    groups: list[list[tuple[int, int]]] = [[]]
    for start, end in _lines(text):
        s, e = _strip_span(text, start, end)
        if s == e:  # blank line: close the current group
            if groups[-1]:
                groups.append([])
        else:
            groups[-1].append((s, e))
    groups = [g for g in groups if g]
    if len(groups) == 1:  # no blank line between text: one paragraph per line
        groups = [[line] for line in groups[0]]
    return [Paragraph(index=i, start=g[0][0], end=g[-1][1]) for i, g in enumerate(groups)]


def byline_author(line: str) -> str | None:
    """The name in a byline ("by Stephen Lendman", "By Jo Roe and Al Poe, Reuters"), or
    None when ``line`` is not one: at most six words, each capitalised or a name particle."""
    m = _BYLINE.fullmatch(line)
    if m is None:
        return None
    name = _BYLINE_TAIL.split(m.group(1), maxsplit=1)[0].strip()
    words = name.split()
    if not 1 <= len(words) <= 6 or len(name) > 60 or words[0].lower() in _NOT_NAMES:
        return None
    for word in words:
        if word.lower() not in _NAME_PARTICLES and not (
            word[0].isupper() and all(c.isalpha() or c in ".'\u2019-" for c in word)
        ):
            return None
    return name


def _front_matter(text: str, paragraphs: list[Paragraph]) -> tuple[str | None, str | None]:
    """(title, author) from the first paragraphs: a byline first, then perhaps a headline;
    or a headline, then perhaps a byline."""
    first = text[paragraphs[0].start : paragraphs[0].end] if paragraphs else ""
    author = byline_author(first) if "\n" not in first else None
    if author is not None:
        return _guess_title(text, paragraphs[1:]), author
    title = _guess_title(text, paragraphs)
    if title is not None:
        second = text[paragraphs[1].start : paragraphs[1].end]
        author = byline_author(second) if "\n" not in second else None
    return title, author


def _guess_title(text: str, paragraphs: list[Paragraph]) -> str | None:
    """The first paragraph, when it reads like a headline (and is not a byline).

    Heuristic: one line, at most 200 characters, followed by more text, and not ending like
    a sentence or clause (``. , ; :``). Headlines ending in ``?``, ``!`` or a quote pass.
    """
    if len(paragraphs) < 2:
        return None
    first = text[paragraphs[0].start : paragraphs[0].end]
    if len(first) > _MAX_TITLE_CHARS or any(c in first for c in _BREAK_CHARS):
        return None
    if first.endswith((".", ",", ";", ":")) and not first.endswith("..."):
        return None
    return None if byline_author(first) else first


def from_text(
    text: str,
    *,
    id: str = "",
    title: str | None = None,
    source_kind: str = "text",
    **meta: Any,
) -> Article:
    """An Article from plain text, split into paragraphs (see :func:`split_paragraphs`).

    ``title=None`` guesses the title from the first paragraph (see :func:`_guess_title`);
    the title stays a paragraph of the text, as in SemEval, so spans in it can be shown.
    A byline before or after it ("by Jo Roe") gives the author, unless ``meta`` has one.
    ``meta`` sets other Article fields (url, outlet, author, published, language).
    """
    paragraphs = split_paragraphs(text)
    guessed, author = _front_matter(text, paragraphs)
    if title is None:
        title = guessed
    if author and not meta.get("author"):
        meta["author"] = author
    return Article(
        text=text, id=id, title=title, source_kind=source_kind, paragraphs=paragraphs, **meta
    )


def from_semeval(text: str, *, id: str = "", **meta: Any) -> Article:
    """An Article in the SemEval-2023 layout: line 1 the title, then one paragraph per line.

    Blank lines are skipped; ``Paragraph.line`` is the 1-based line number, as in the
    SemEval ``*.template`` files. Lines are split on ``"\\n"`` only (a ``"\\r"`` before it is
    whitespace and left out of the paragraph), and a BOM stays in the text, because the
    SemEval span offsets count it.
    """
    paragraphs: list[Paragraph] = []
    pos = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        s, e = _strip_span(text, pos, pos + len(line))
        if s < e:
            paragraphs.append(Paragraph(index=len(paragraphs), start=s, end=e, line=lineno))
        pos += len(line) + 1
    title = None
    if paragraphs and paragraphs[0].line == 1:
        title = text[paragraphs[0].start : paragraphs[0].end]
        author = byline_author(title)
        if author:  # a byline where the title goes is no title
            title = None
            meta["author"] = meta.get("author") or author
    meta.setdefault("source_kind", "semeval")
    return Article(text=text, id=id, title=title, paragraphs=paragraphs, **meta)


def _hard_wrapped(lines: list[str]) -> bool:
    """True when consecutive lines look like one paragraph wrapped at a fixed width.

    SemEval files also have consecutive lines, but those are whole paragraphs of any
    length; wrapped text has many continuation lines of similar, moderate length.
    """
    stripped = [line.strip() for line in lines]
    cont = [len(s) for s, nxt in zip(stripped, stripped[1:] + [""], strict=True) if s and nxt]
    if len(cont) < 3:
        return False
    moderate = sum(30 <= n <= 100 for n in cont)
    return moderate >= 0.8 * len(cont)


def looks_like_semeval(text: str) -> bool:
    """Title line, blank line, then paragraphs one per line (not text wrapped at a width)."""
    lines = text.split("\n")
    if len(lines) < 3:
        return False
    title = lines[0].lstrip(BOM).strip()
    if not title or len(title) > _MAX_SEMEVAL_TITLE_CHARS or lines[1].strip():
        return False
    body = lines[2:]
    if not any(line.strip() for line in body):
        return False
    return not _hard_wrapped(body)


def semeval_id(name: str) -> str:
    """``article123456`` (a SemEval file stem) -> ``123456``; other names unchanged."""
    m = _ARTICLE_ID.fullmatch(name)
    return m.group(1) if m else name


def from_parts(
    title: str | None, paragraphs: Iterable[str], *, id: str = "", **meta: Any
) -> Article:
    """Build an article in the SemEval layout from extracted parts (HTML, feeds).

    Each paragraph goes on its own line (inner line breaks become spaces), separated by a
    blank line, so ``Paragraph.line`` works as for SemEval files and the text can be saved
    and read back with the same offsets.
    """
    parts = [" ".join(p.split()) for p in paragraphs]
    parts = [p for p in parts if p]
    clean_title = " ".join(title.split()) if title else ""
    if clean_title and parts and parts[0] == clean_title:
        parts = parts[1:]
    if clean_title:
        return from_semeval("\n\n".join([clean_title, *parts]) + "\n", id=id, **meta)
    return from_text("\n\n".join(parts) + "\n", id=id, **meta)
