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
# A line that only dates the article ("March 3, 2022", "Updated 10:32 AM EST, Tue 3 March
# 2022", "2022-03-03") or places it ("WASHINGTON (Reuters) -"): never its title.
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH},?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})\b",
    re.I,
)
_PLACE_LINE = re.compile(r"[A-Z][A-Z .'\-]{2,}(?:,\s*[A-Za-z .]+)?\s*(?:\([^)]*\))?\s*[-\u2013\u2014:]\s*")
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


def is_dateline(line: str) -> bool:
    """A line that dates or places the article rather than names it: a date with at most
    a few words around it, or a place in capitals before a dash ("WASHINGTON (Reuters) -")."""
    line = line.strip()
    if _PLACE_LINE.fullmatch(line):
        return True
    return bool(_DATE.search(line)) and len(_DATE.sub("", line).split()) <= 6


def _front_line(line: str) -> bool:
    """A byline or a dateline: front matter that is never the title."""
    return byline_author(line) is not None or is_dateline(line)


def _front_matter(text: str, paragraphs: list[Paragraph]) -> tuple[str | None, str | None]:
    """(title, author) from the first paragraphs, as a reader takes them: bylines and
    datelines before or after the headline are skipped (a byline gives the author); the
    headline is the first line of what remains, when it reads like one; a subtitle after
    it, in the same paragraph or the next, is not the title."""
    title = None
    lines = [[ln.strip() for ln in text[p.start : p.end].splitlines() if ln.strip()] for p in paragraphs[:4]]
    bylines = [byline_author(ln) for group in lines for ln in group]
    for i, group in enumerate(lines):
        if all(_front_line(ln) for ln in group):
            continue  # only bylines and datelines
        subtitled = all(ln[0].isupper() or ln[0].isdigit() or ln[0] in "\"'\u201c\u2018" for ln in group[1:])
        if i < len(paragraphs) - 1 and len(group) <= 3 and subtitled:
            title = _headline(group[0])
        bylines = bylines[: sum(len(g) for g in lines[: i + 3])]  # a byline is near the top
        break
    return title, next((b for b in bylines if b), None)


def _headline(line: str) -> str | None:
    """``line`` when it reads like a headline: at most 200 characters, and not ending like a
    sentence or clause (``. , ; :``); headlines ending in ``?``, ``!`` or a quote pass."""
    if not line or len(line) > _MAX_TITLE_CHARS or _front_line(line):
        return None
    if line.endswith((".", ",", ";", ":")) and not line.endswith("..."):
        return None
    return line


def from_text(
    text: str,
    *,
    id: str = "",
    title: str | None = None,
    source_kind: str = "text",
    **meta: Any,
) -> Article:
    """An Article from plain text, split into paragraphs (see :func:`split_paragraphs`).

    ``title=None`` guesses the title from the first paragraphs (see :func:`_front_matter`);
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
        if _front_line(title):  # a byline or dateline where the title goes is no title
            title = None
    author = _front_matter(text, paragraphs)[1]
    if author:
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


def from_plain(
    text: str, *, id: str = "", title: str | None = None, source_kind: str = "text", **meta: Any
) -> Article:
    """An Article from text as a file holds it: the SemEval layout when it is one
    (:func:`looks_like_semeval`), else paragraphs at blank lines (:func:`from_text`).

    Every input's text is read here once it is extracted (a file, stdin, a pasted text, a
    web page, a feed entry, a corpus row), so one text gives one set of paragraphs, and so
    one analysis, however it came. ``title`` given (a page's, a feed entry's, a corpus
    row's) is metadata, kept instead of the one the text suggests; ``meta`` sets the other
    Article fields."""
    if looks_like_semeval(text):
        kind = "semeval" if source_kind == "text" else source_kind
        article = from_semeval(text, id=semeval_id(id), source_kind=kind, **meta)
    else:
        article = from_text(text, id=id, source_kind=source_kind, **meta)
    article.title = " ".join(title.split()) if title and title.strip() else article.title
    return article


def from_parts(
    title: str | None, paragraphs: Iterable[str], *, id: str = "", **meta: Any
) -> Article:
    """An article from extracted parts (a web page, a feed entry): the paragraphs, inner
    whitespace collapsed, joined by blank lines and read as a file's text
    (:func:`from_plain`). ``title`` (the page's or the entry's) is metadata: the model reads
    a headline only where the text holds it, as it reads a file's first line."""
    parts = [" ".join(p.split()) for p in paragraphs]
    return from_plain("\n\n".join(p for p in parts if p) + "\n", id=id, title=title, **meta)
