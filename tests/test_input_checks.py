"""Input checks at every edge: the Python API raises UnspinErrors only; text with nothing
visible is empty; 8-bit encodings are told apart; bylines and file names are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import unspin
from unspin.cli import cli
from unspin.config import Settings
from unspin.document import Article, Paragraph
from unspin.errors import InputError, TooLargeError, UnspinError
from unspin.ingest import decode_bytes, from_semeval, from_text, load_one
from unspin.ingest.text import byline_author

pytestmark = pytest.mark.usefixtures("clean_env")

BODY = (
    "The council met on Tuesday and agreed, after a long debate, to repair the old bridge "
    "before winter. Everyone knows it cannot wait any longer."
)
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u202a\u2066\ufe0f" * 20  # 200, none visible


# ------------------------------------------------------------------------ the Python API


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (BODY + "\ud800", rf"lone surrogate \(U\+D800\) at character {len(BODY)}"),
        ("\udc80" + BODY, r"lone surrogate \(U\+DC80\) at character 0"),
        (INVISIBLE, r"empty \(only invisible formatting characters\)"),
        ("", "is empty"),
        ("   \n\t ", "is empty"),
        ("Too short.", "too short"),
        (123, "not int"),
        (b"bytes are not text", "not bytes"),
        (None, "not NoneType"),
        (["a list"], "not list"),
        (Article(text=BODY, paragraphs=[Paragraph(0, 50, 60), Paragraph(1, 10, 20)]), "overlaps"),
        (Article(text=BODY, paragraphs=[Paragraph(0, 0, 10_000)]), "past the end"),
        (Article(text=123), "not text"),  # type: ignore[arg-type]
    ],
)
def test_analyze_refuses_bad_input_with_an_unspin_error(value: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        unspin.analyze(value)  # type: ignore[arg-type]


def test_analyze_refuses_a_huge_text_before_splitting_it(settings: Settings) -> None:
    with pytest.raises(TooLargeError, match="too long"):
        unspin.analyze("word " * 1_000_000, settings=settings)


def test_a_surrogate_never_reaches_the_tokenizer() -> None:
    """The bug: TypeError: TextInputSequence must be str, from model/windows.py."""
    article = from_text(BODY + "\udc80")
    with pytest.raises(UnspinError):
        unspin.analyze(article)
    with pytest.raises(UnspinError):
        unspin.compare([BODY, BODY + "\ud800"])
    with pytest.raises(UnspinError):
        list(unspin.analyze_many([from_text(BODY), article]))


@pytest.mark.parametrize(
    "call",
    [
        lambda: unspin.load_articles(42),  # type: ignore[arg-type]
        lambda: unspin.load_articles(None),  # type: ignore[arg-type]
        lambda: unspin.compare("two texts"),  # type: ignore[arg-type]
        lambda: unspin.compare([BODY]),
        lambda: list(unspin.analyze_many(BODY)),  # type: ignore[arg-type]
    ],
)
def test_other_entries_check_their_arguments(call: object) -> None:
    with pytest.raises(InputError):
        call()  # type: ignore[operator]


def test_a_path_object_loads(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text(BODY, encoding="utf-8")
    assert unspin.load_articles(path)[0].text == BODY
    assert unspin.load(path) == unspin.load_articles(path)  # the old name still works


def test_valid_text_is_analysed() -> None:
    assert unspin.analyze(BODY).article.text == BODY


# ------------------------------------------------------------------ nothing visible = empty


def test_invisible_only_file_is_empty_in_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(INVISIBLE, encoding="utf-8")
    result = CliRunner().invoke(cli, ["analyze", str(path)])
    assert result.exit_code == 2
    assert "empty (only invisible formatting characters)" in result.stderr
    assert "Traceback" not in result.output


def test_visible_text_among_format_characters_is_kept(settings: Settings) -> None:
    article = from_text("\u200b" * 50 + BODY)
    assert unspin.ingest.check_text(article, settings) is article


# ------------------------------------------------------------------------ encodings

WESTERN = (
    "They walked along the rivi\u00e8re at dusk, past the caf\u00e9 where na\u00efve tourists "
    "ate cr\u00eapes, and talked about the \u00e9lection and the economy."
)
SAMPLES = [
    (WESTERN, "latin-1"),
    (WESTERN, "cp1252"),
    ("The Br\u00fcgermeister of M\u00fcnchen said the Stra\u00dfe would close; \u201cno\u201d \u2013 "
     "that\u2019s final\u2026", "cp1252"),
    ("The president, Pedro S\u00e1nchez, said the ni\u00f1o would return to M\u00e1laga.", "cp1252"),
    ("He said \u201cno\u201d \u2013 and that\u2019s final\u2026 The council\u2019s decision was "
     "expected.", "cp1252"),
    ("Anton\u00edn Dvo\u0159\u00e1k was born in Nelahozeves. P\u0159\u00edli\u0161 "
     "\u017elu\u0165ou\u010dk\u00fd k\u016f\u0148 \u00fap\u011bl \u010f\u00e1belsk\u00e9 "
     "\u00f3dy.", "cp1250"),
    ("The composer Anton\u00edn Dvo\u0159\u00e1k was born north of Prague, the council said.",
     "cp1250"),
    ("Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144. \u0141\u00f3d\u017a and "
     "Krak\u00f3w are cities in Poland.", "cp1250"),
    ("Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144. \u0141\u00f3d\u017a and "
     "Krak\u00f3w are cities in Poland.", "iso8859_2"),
    ("Az \u00e1rv\u00edzt\u0171r\u0151 t\u00fck\u00f6rf\u00far\u00f3g\u00e9p. The mayor of "
     "Gy\u0151r spoke.", "cp1250"),
    ("The mayor of Timi\u015foara and the people of Bra\u015fov said so.", "iso8859_2"),
    ("T\u00fcrkiye'nin ba\u015fkenti Ankara'd\u0131r. G\u00fczel a\u011fa\u00e7lar ve "
     "\u00e7i\u00e7ekler, the mayor said.", "cp1254"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "encoding"), SAMPLES, ids=[f"{e}-{i}" for i, (_, e) in enumerate(SAMPLES)])
def test_western_and_central_european_code_pages(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding), name="sample") == text


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom(codec: str) -> None:
    assert decode_bytes(BODY.encode(codec), name="u16") == BODY


def test_latin1_file_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "river.txt"
    path.write_bytes((WESTERN + "\n\n" + BODY).encode("latin-1"))
    result = CliRunner().invoke(cli, ["analyze", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "rivi\u00e8re" in json.loads(result.stdout)["article"]["text"]


# ------------------------------------------------------------------------ bylines, names


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("by Stephen Lendman", "Stephen Lendman"),
        ("By Jo Roe and Al Poe, Reuters", "Jo Roe and Al Poe"),
        ("BY JANE DOE | The Times", "JANE DOE"),
        ("By Jean-Luc O'Neill", "Jean-Luc O'Neill"),
        ("By the way, nobody asked", None),
        ("By Any Means Necessary", None),
        ("by 2030 the river will be dry", None),
        ("Stand by me", None),
    ],
)
def test_byline_author(line: str, author: str | None) -> None:
    assert byline_author(line) == author


def test_a_leading_byline_is_the_author_not_the_title() -> None:
    text = f"by Stephen Lendman\n\nThe Empire Strikes Again\n\n{BODY}\n\n{BODY}"
    article = from_text(text)
    assert (article.title, article.author) == ("The Empire Strikes Again", "Stephen Lendman")
    assert article.text == text and article.paragraphs[0].start == 0  # the text is untouched
    article = from_text(f"The Empire Strikes Again\n\nBy Stephen Lendman\n\n{BODY}")
    assert (article.title, article.author) == ("The Empire Strikes Again", "Stephen Lendman")
    article = from_semeval(f"by Stephen Lendman\n\n{BODY}\n{BODY}\n")
    assert (article.title, article.author) == (None, "Stephen Lendman")
    assert [p.line for p in article.paragraphs] == [1, 3, 4]


def test_local_files_are_named_by_their_file_name(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "council-report.txt"
    path.write_text(f"{BODY}\n\n{BODY}", encoding="utf-8")
    assert load_one(str(path), settings=settings)[0].file == "council-report.txt"
    for fmt in ("text", "html"):
        result = CliRunner().invoke(cli, ["analyze", str(path), "--format", fmt, "--no-color"])
        assert result.exit_code == 0, result.output
        assert "council-report.txt" in result.stdout and "Source unknown" not in result.stdout


# ------------------------------------------------------------------ what bounds time and memory


def test_a_text_over_the_token_cap_is_refused_before_the_model() -> None:
    from unspin.analyze import MAX_TOKENS

    with pytest.raises(TooLargeError, match=f"tokens; the limit is {MAX_TOKENS:,}"):
        unspin.analyze(BODY + " " + "&" * (MAX_TOKENS + 1))


def test_a_page_with_too_many_tags_is_refused() -> None:
    from unspin.ingest import from_html
    from unspin.ingest.html import MAX_HTML_TAGS

    page = "<html><body>" + "<p>Yes.</p>" * (MAX_HTML_TAGS // 2) + f"<p>{BODY}</p></body></html>"
    with pytest.raises(InputError, match="HTML tags"):
        from_html(page)


def test_a_feed_cannot_define_entities() -> None:
    """Its internal DTD subset is dropped: no entity expansion (quadratic blowup), no
    external entities (XXE)."""
    from unspin.ingest import from_feed

    doc = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "EXPANDED-ENTITY">'
        '<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><title>F</title>'
        f"<item><title>T &big;</title><description>{BODY} &big; &xxe;</description></item>"
        "</channel></rss>"
    )
    article = from_feed(doc.encode())[0]
    assert "EXPANDED-ENTITY" not in article.text + (article.title or "")
    assert "root:" not in article.text
