"""Plain text and SemEval layout: exact paragraph offsets, line numbers, titles."""

from __future__ import annotations

import os

import pytest
from conftest import FIXTURES, shared_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unspin.document import Article
from unspin.ingest import from_semeval, from_text, looks_like_semeval
from unspin.ingest.text import from_parts, semeval_id


def texts(article: Article) -> list[str]:
    return [article.text[p.start : p.end] for p in article.paragraphs]


def test_blank_lines_separate_paragraphs_and_wrapped_lines_stay_together() -> None:
    text = "Short headline\n\nFirst line of a paragraph\ncontinues here.\n\n\n  Second one.  \n"
    article = from_text(text)
    assert texts(article) == [
        "Short headline",
        "First line of a paragraph\ncontinues here.",
        "Second one.",
    ]
    assert article.title == "Short headline"
    assert [p.index for p in article.paragraphs] == [0, 1, 2]
    assert all(p.line is None for p in article.paragraphs)


def test_single_newlines_split_when_there_are_no_blank_lines() -> None:
    article = from_text("One paragraph here.\nAnother paragraph.\r\nA third one.\n")
    assert texts(article) == ["One paragraph here.", "Another paragraph.", "A third one."]
    assert article.title is None  # the first line ends like a sentence


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("Storm closes the harbour", "Storm closes the harbour"),
        ("Is the harbour safe?", "Is the harbour safe?"),
        ("The harbour closed on Monday after the storm.", None),
        ("x" * 250, None),
    ],
)
def test_title_heuristic(first: str, expected: str | None) -> None:
    assert from_text(f"{first}\n\nBody text follows here.").title == expected


def test_explicit_title_and_meta() -> None:
    article = from_text("Body only.", id="a1", title="Given", url="https://x.example/a", outlet="X")
    assert (article.title, article.id, article.url, article.outlet) == (
        "Given",
        "a1",
        "https://x.example/a",
        "X",
    )


def test_empty_text_has_no_paragraphs() -> None:
    assert from_text("").paragraphs == []
    assert from_text(" \n\t\r\n ").paragraphs == []


def test_semeval_fixture_lines_and_offsets() -> None:
    raw = (FIXTURES / "semeval-article.txt").read_bytes()
    text = raw.decode("utf-8")
    assert looks_like_semeval(text)
    article = from_semeval(text, id="1")
    assert [p.line for p in article.paragraphs] == [1, 3, 4, 6, 8, 10]
    assert article.title == "Ferry service resumes after storm repairs"
    lines = text.split("\n")
    for p in article.paragraphs:
        assert article.text[p.start : p.end] == lines[p.line - 1].strip()
    # offsets are code points: the emoji and curly quotes count as one character each
    quote = article.text[article.paragraphs[3].start : article.paragraphs[3].end]
    assert quote.startswith("“We were worried") and quote.endswith("🙂")
    assert article.text is text  # kept as given, not copied or normalised


def test_semeval_crlf_keeps_text_and_same_lines() -> None:
    lf = (FIXTURES / "semeval-article.txt").read_text(encoding="utf-8")
    crlf = lf.replace("\n", "\r\n")
    a, b = from_semeval(lf), from_semeval(crlf)
    assert b.text == crlf
    assert [p.line for p in a.paragraphs] == [p.line for p in b.paragraphs]
    assert texts(a) == texts(b)
    assert all("\r" not in t for t in texts(b))


def test_semeval_bom_is_kept_in_text_but_not_in_title() -> None:
    text = "\ufeffTitle here\n\nBody paragraph one.\nBody paragraph two.\n"
    article = from_semeval(text)
    assert article.text.startswith("\ufeff")
    assert article.paragraphs[0].start == 1
    assert article.title == "Title here"
    assert from_text(text).paragraphs[0].start == 1


def test_looks_like_semeval() -> None:
    assert looks_like_semeval("Title\n\nOne paragraph.\nAnother paragraph.\n")
    assert not looks_like_semeval("No title line\nfollowed by text\n")
    assert not looks_like_semeval("Title\n\n")
    wrapped = "Title\n\n" + "\n".join(["Text hard-wrapped at a fixed width, like an email."] * 8)
    assert not looks_like_semeval(wrapped)
    assert not looks_like_semeval((FIXTURES / "plain-article.txt").read_text())


def test_semeval_id() -> None:
    assert semeval_id("article111111111") == "111111111"
    assert semeval_id("op-ed") == "op-ed"


def test_from_parts_builds_semeval_layout() -> None:
    article = from_parts("A title", ["A title", "First\nparagraph.", "  ", "Second."], id="x")
    assert article.text == "A title\n\nFirst paragraph.\n\nSecond.\n"
    assert [p.line for p in article.paragraphs] == [1, 3, 5]
    assert article.title == "A title"


# -- property tests -------------------------------------------------------------------

PIECES = [
    "word", "Ünïcödé", "e\u0301", "🙂", "👩‍👩‍👧", "שלום", "مرحبا", "\u200f", " ", "\t", "\n", "\r\n",
    "\r", "\n\n", "\n \n", "\r\n\r\n", "\n\t\n\n\n", "\x0c", "\u2028", "\x85", "\xa0", "\ufeff", ".",
]  # fmt: skip
random_texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=40).map(
    "".join
)


def _check_partition(article: Article) -> None:
    text = article.text
    previous_end = -1
    covered: set[int] = set()
    for i, p in enumerate(article.paragraphs):
        chunk = text[p.start : p.end]
        assert p.index == i
        assert chunk == article.text[p.start : p.end]
        assert chunk, "empty paragraph"
        assert chunk == chunk.strip(), "paragraph not stripped"
        assert p.start > previous_end, "paragraphs overlap or are out of order"
        previous_end = p.end
        covered.update(range(p.start, p.end))
    for i, c in enumerate(text):
        if not c.isspace() and not (i == 0 and c == "\ufeff"):
            assert i in covered, f"character {c!r} at {i} is in no paragraph"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(random_texts)
def test_from_text_paragraphs_partition_the_text(text: str) -> None:
    _check_partition(from_text(text))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(random_texts)
def test_from_semeval_paragraphs_partition_the_text(text: str) -> None:
    article = from_semeval(text)
    _check_partition(article)
    lines = text.split("\n")
    for p in article.paragraphs:
        assert p.line is not None
        assert article.text[p.start : p.end] in lines[p.line - 1]


# -- the real SemEval data, when the shared checkout is there ---------------------------

SHARED = shared_dir()
SEMEVAL_EN = SHARED / "data/semeval2023task3/data/en" if SHARED else None


@pytest.mark.data
@pytest.mark.skipif(
    SEMEVAL_EN is None or not SEMEVAL_EN.is_dir(), reason="needs ../shared SemEval data"
)
def test_semeval_train_articles_match_the_template_lines() -> None:
    assert SEMEVAL_EN is not None
    expected: dict[str, list[int]] = {}
    template = SEMEVAL_EN / "train-labels-subtask-3.template"
    with template.open(encoding="utf-8", newline="") as f:
        for row in f:
            article_id, line, *_ = row.rstrip("\n").split("\t")
            expected.setdefault(article_id, []).append(int(line))
    folder = SEMEVAL_EN / "train-articles-subtask-3"
    names = sorted(os.listdir(folder))
    assert names
    for name in names:
        with (folder / name).open(encoding="utf-8", newline="") as f:
            text = f.read()
        article = from_semeval(text, id=semeval_id(name[:-4]))
        assert [p.line for p in article.paragraphs] == expected[article.id], name
