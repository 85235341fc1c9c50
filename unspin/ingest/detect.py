"""Bytes -> text (encoding, binary detection) and the checks every article passes:
not empty, not too long, and English while the model reads English only."""

from __future__ import annotations

import codecs
import threading
from typing import Any

from ..config import DEFAULT_SETTINGS, Settings
from ..document import Article
from ..errors import InputError, TooLargeError

# BOMs other than UTF-8's: UTF-16/32 text is full of NUL bytes, so check these first.
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_MAGIC = [  # formats people may try, with a hint what to do instead
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or Word/OpenDocument file"),
    (b"\xd0\xcf\x11\xe0", "an old Word/Office document"),
    (b"{\\rtf", "an RTF document"),
]
_LANG_SAMPLE_CHARS = 3000  # language ID on a bounded sample keeps big articles fast
_MIN_LETTERS_TO_REFUSE = 80  # below this, language ID is a guess: never refuse on it
_REFUSE_CONFIDENCE = 0.9
LANGUAGE_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "fa": "Persian", "fi": "Finnish", "fr": "French", "ga": "Irish", "he": "Hebrew",
    "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "it": "Italian",
    "ja": "Japanese", "ka": "Georgian", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian",
    "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish",
    "sw": "Swahili", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip


def _binary_error(name: str, data: bytes) -> InputError:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return InputError(
                f"{name} is {what}, not text: unspin reads plain text, HTML and RSS/Atom "
                "feeds, so copy the article text into a .txt file."
            )
    return InputError(
        f"{name} looks like a binary file, not text: give unspin a text or HTML file."
    )


def _mostly_text(text: str) -> bool:
    """Few control characters: decoded binary data is full of them."""
    sample = text[:20_000]
    if not sample:
        return True
    controls = sum(1 for c in sample if c < " " and c not in "\t\n\r\x0b\x0c")
    return controls <= 0.01 * len(sample)


def decode_bytes(data: bytes, *, name: str) -> str:
    """Decode a file's bytes: UTF-8 first (a BOM is kept, SemEval offsets count it),
    then UTF-16/32 by BOM, then whatever charset-normalizer finds most plausible.

    Binary data (NUL bytes, undecodable, mostly control characters) is refused.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise _binary_error(name, data) from None
    if b"\x00" in data[:65536]:
        raise _binary_error(name, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes  # slow to import, seldom needed

        best = from_bytes(data).best()
        if best is None:
            raise _binary_error(name, data) from None
        text = str(best)
    if not _mostly_text(text):
        raise _binary_error(name, data)
    return text


class _LanguageID:
    """py3langid's model, loaded once on first use (it takes most of a second)."""

    def __init__(self) -> None:
        self._identifier: Any = None
        self._lock = threading.Lock()

    def classify(self, text: str) -> tuple[str, float, float]:
        """(best language, its probability, probability of English)."""
        with self._lock:
            if self._identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            ranked = self._identifier.rank(text)
        probs = dict(ranked)
        lang, conf = ranked[0]
        return str(lang), float(conf), float(probs.get("en", 0.0))


_langid = _LanguageID()


def _sample(article: Article) -> str:
    """Up to ~3,000 characters of body text (the title alone can mislead)."""
    chunks: list[str] = []
    size = 0
    paragraphs = article.paragraphs[1:] if len(article.paragraphs) > 1 else article.paragraphs
    for p in paragraphs:
        chunk = article.text[p.start : p.end]
        chunks.append(chunk)
        size += len(chunk)
        if size >= _LANG_SAMPLE_CHARS:
            break
    return "\n".join(chunks)[:_LANG_SAMPLE_CHARS] or article.text[:_LANG_SAMPLE_CHARS]


def detect_language(article: Article) -> tuple[str | None, float, float]:
    """(language code or None when unsure, confidence, probability of English)."""
    lang, conf, p_en = _langid.classify(_sample(article))
    return (lang if conf >= 0.5 else None), conf, p_en


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, f"language '{code}'")


def check_text(
    article: Article, settings: Settings = DEFAULT_SETTINGS, *, name: str | None = None
) -> Article:
    """Refuse what cannot be analysed; set ``article.language``. Returns the same article.

    ``name`` is how messages refer to the input (a path or URL); defaults to the article's
    URL or id.
    """
    label = name or article.url or article.id or "The text"
    content = article.text.replace("\ufeff", "").strip()
    if not content:
        raise InputError(f"{label} is empty: there is no text to analyse.")
    if len(content) < settings.min_text_chars:
        raise InputError(
            f"{label} is too short to analyse ({len(content)} characters; unspin needs at "
            f"least {settings.min_text_chars})."
        )
    if len(article.text) > settings.max_text_chars:
        raise TooLargeError(
            f"{label} is too long ({len(article.text):,} characters; the limit is "
            f"{settings.max_text_chars:,}): split it, or raise UNSPIN_MAX_TEXT_CHARS."
        )
    lang, conf, p_en = detect_language(article)
    article.language = lang
    if settings.require_english and lang not in (None, "en"):
        sample = _sample(article)
        letters = sum(c.isalpha() for c in sample)
        if letters >= _MIN_LETTERS_TO_REFUSE and conf >= _REFUSE_CONFIDENCE and p_en < 0.05:
            raise InputError(
                f"{label} looks like {language_name(lang)} ({lang}); unspin's model reads "
                "English only, so pass an English article (or set UNSPIN_REQUIRE_ENGLISH=0 "
                "to analyse it anyway)."
            )
    return article
