"""Encoding detection, binary refusal, and the article checks (size, language)."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import FIXTURES

from unspin.config import Settings
from unspin.errors import InputError, TooLargeError
from unspin.ingest import check_text, decode_bytes, from_text

ENGLISH = (FIXTURES / "plain-article.txt").read_text(encoding="utf-8")


def test_utf8_with_and_without_bom() -> None:
    assert decode_bytes("café ✓".encode(), name="x") == "café ✓"
    # the BOM stays: SemEval span offsets count it
    assert decode_bytes(b"\xef\xbb\xbfcaf\xc3\xa9", name="x") == "\ufeffcafé"


def test_latin1_is_decoded() -> None:
    text = "The café on the corner serves crème brûlée to tourists every afternoon in summer.\n"
    assert "café" in decode_bytes((text * 5).encode("latin-1"), name="x")


def test_utf16_with_bom_is_text_not_binary() -> None:
    assert decode_bytes("Hello, world".encode("utf-16"), name="x") == "Hello, world"


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        bytes(range(256)) * 4,
        b"\x01\x02\x03\x04\x05\x06\x07\x08" * 100,
    ],
)
def test_binary_data_is_refused(data: bytes) -> None:
    with pytest.raises(InputError, match="blob.bin looks like a binary file"):
        decode_bytes(data, name="blob.bin")


def test_known_binary_formats_get_a_hint() -> None:
    with pytest.raises(InputError, match="is a PDF document.*copy the article text"):
        decode_bytes(b"%PDF-1.7\n\x00\x01binary", name="story.pdf")


def test_check_text_sets_english(settings: Settings) -> None:
    article = check_text(from_text(ENGLISH), settings)
    assert article.language == "en"


@pytest.mark.parametrize("text", ["", "   \n\t\n  ", "\ufeff"])
def test_empty_text_is_refused(text: str, settings: Settings) -> None:
    with pytest.raises(InputError, match="empty.txt is empty"):
        check_text(from_text(text), settings, name="empty.txt")


def test_short_text_is_refused(settings: Settings) -> None:
    with pytest.raises(InputError, match="too short.*at least 20"):
        check_text(from_text("Too short."), settings)


def test_long_text_is_refused(settings: Settings) -> None:
    small = dataclasses.replace(settings, max_text_chars=500)
    with pytest.raises(TooLargeError, match="too long.*limit is 500"):
        check_text(from_text(ENGLISH * 2), small)


def test_french_is_refused_unless_allowed(settings: Settings) -> None:
    french = (FIXTURES / "french.txt").read_text(encoding="utf-8")
    with pytest.raises(InputError, match=r"looks like French \(fr, \d+% sure\); unspin's model reads English"):
        check_text(from_text(french), settings, name="french.txt")
    allowed = dataclasses.replace(settings, require_english=False)
    assert check_text(from_text(french), allowed).language == "fr"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Le gouvernement a annoncé hier une nouvelle réforme des retraites.\n\n"
         "Les syndicats appellent à la grève dès lundi prochain.", "French"),
        ("Die Regierung hat gestern eine neue Reform angekündigt.\n\n"
         "Die Gewerkschaften rufen zum Streik auf.", "German"),
    ],
)
def test_a_short_foreign_text_is_refused_like_a_long_one(settings: Settings, text: str, language: str) -> None:
    """One rule for every length: two short paragraphs are judged as a long article is."""
    with pytest.raises(InputError, match=f"looks like {language}"):
        check_text(from_text(text), settings)


@pytest.mark.parametrize(
    "text",
    [
        "The council met on Tuesday and agreed to repair the bridge.\n\nEveryone knows it cannot wait.",
        "Merkel and Macron meet in Berlin.\n\nTalks on Ukraine resume on Friday.",
        "Prices rose again in March.\n\nThe central bank will meet next week.",
    ],
)
def test_short_english_is_analysed(settings: Settings, text: str) -> None:
    assert check_text(from_text(text), settings).language in ("en", None)


def test_a_text_too_short_to_tell_is_analysed_with_a_note(settings: Settings) -> None:
    from unspin.ingest import language_note

    article = check_text(from_text("Bridge repairs approved.\n\nWork starts Monday."), settings)
    assert article.language is None
    assert "too short or too mixed to tell its language" in (language_note(article) or "")
    article.language = "en"
    assert language_note(article) is None


def test_english_with_foreign_names_is_not_refused(settings: Settings) -> None:
    text = (
        "Olaf Scholz, Emmanuel Macron and Giorgia Meloni met in Bruxelles on Tuesday. "
        "The leaders discussed the Nord Stream pipeline, the Schengen rules and the "
        "budget of the Union with Ursula von der Leyen, according to a short statement."
    )
    assert check_text(from_text(text), settings).language == "en"
