"""Bytes -> text (encoding, binary detection) and the checks every article passes:
not empty, not too long, and English while the model reads English only."""

from __future__ import annotations

import codecs
import re
import threading
from typing import Any

from ..config import DEFAULT_SETTINGS, Settings, over_limit
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
# Characters that show nothing (format and zero-width characters, controls, variation
# selectors, the few letters that render blank): a text of only these is empty.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff0-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e0fff]+"
)
_SURROGATE = re.compile("[\ud800-\udfff]")  # half a UTF-16 pair: not text, and no encoder takes it
_LANG_SAMPLE_CHARS = 3000  # language ID on a bounded sample keeps big articles fast
# One rule for every length: fewer letters than this, and language ID is a guess, so the
# text is analysed with a note; from there, a text the identifier is sure is another
# language (and unlikely English) is refused, and one it is unsure of is analysed with a note.
_MIN_LETTERS_TO_JUDGE = 20
_REFUSE_CONFIDENCE = 0.9
_ENGLISH_UNLIKELY = 0.05
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


def _bomless_utf16(data: bytes) -> str | None:
    """"utf-16-le"/"-be" for UTF-16 text without a BOM (Latin text in it has a NUL beside
    every letter, on one side only), else None."""
    sample = data[:4096]
    if len(sample) < 8 or len(data) % 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= 0.3 * len(sample) / 2 and even == 0:
        return "utf-16-le"
    if even >= 0.3 * len(sample) / 2 and odd == 0:
        return "utf-16-be"
    return None


# The accented letters of languages written in Latin script, to tell 8-bit code pages apart:
# the same byte is "è" in Western (cp1252) and "č" in Central European (cp1250) text.
_ALPHABETS = (
    "àâæçéèêëîïôœùûüÿ",  # French
    "äöüßé",  # German
    "áéíñóúüçàèïò",  # Spanish, Catalan
    "àáâãçéêíóôõúü",  # Portuguese
    "àèéìíîòóùú",  # Italian
    "éëïóöüèá",  # Dutch
    "åæøäöéü",  # Danish, Norwegian, Swedish, Finnish
    "áðéíóúýþæö",  # Icelandic
    "áčďéěíňóřšťúůýž",  # Czech
    "áäčďéíĺľňóôŕšťúýž",  # Slovak
    "ąćęłńóśźż",  # Polish
    "áéíóöőúüű",  # Hungarian
    "ăâîșțşţ",  # Romanian
    "čćđšž",  # Croatian, Bosnian, Serbian, Slovenian
    "çğıöşüâîû",  # Turkish
    "ąčęėįšųūž",  # Lithuanian
    "āčēģīķļņšūž",  # Latvian
    "äõöüšž",  # Estonian
)
_ASCII = bytes(range(128))
_LATIN_CODECS = ("cp1252", "cp1250", "iso8859_2", "iso8859_15")  # Western first: ties go to it
# Other Latin code pages charset-normalizer may rightly guess. Not DOS or Mac pages: they
# read Windows quotes and dashes (0x80-0x9f) as letters, which would score as words.
_LATIN_GUESSES = frozenset(
    {"latin_1", "cp1254", "cp1257", "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10",
     "iso8859_13", "iso8859_14", "iso8859_16"}
)  # fmt: skip
_ODD_IN_WORD = re.compile(r"(?<=[^\W\d_])[^\w\s'\-’](?=[^\W\d_])")


def _latin_score(text: str) -> float:
    """How much ``text`` reads like a Latin-script language: its accented letters fit one
    alphabet; symbols inside words ("gę¶l±") and control characters count against it."""
    accented: dict[str, int] = {}
    for c in text:
        if c > "\x7f" and c.isalpha():
            accented[c.lower()] = accented.get(c.lower(), 0) + 1
    fit = max(sum(n for c, n in accented.items() if c in alphabet) for alphabet in _ALPHABETS)
    misfit = sum(accented.values()) - fit
    odd = sum(1 for m in _ODD_IN_WORD.finditer(text) if m.group() > "\x7f")
    controls = sum(1 for c in text if "\x80" <= c <= "\x9f")
    return fit - misfit - 2 * odd - 5 * controls


def _latin_text(data: bytes, guesses: list[str]) -> str:
    """Mostly-ASCII bytes in an 8-bit code page: of the Western and Central European code
    pages (and charset-normalizer's guesses), the decoding whose accents read best.

    charset-normalizer alone scores an English text with one "rière" as well in cp1250
    ("ričre") as in cp1252, and cannot tell cp1250 from ISO 8859-2 on Polish.
    """
    best_text, best_score = "", float("-inf")
    for codec in dict.fromkeys([*_LATIN_CODECS, *(g for g in guesses if g in _LATIN_GUESSES)]):
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        score = _latin_score(text[:65536])
        if score > best_score:
            best_text, best_score = text, score
    return best_text or data.decode(guesses[0], "replace")


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
        utf16 = _bomless_utf16(data)
        if utf16 is None:
            raise _binary_error(name, data)
        try:
            return data.decode(utf16)
        except UnicodeDecodeError:
            raise _binary_error(name, data) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes  # slow to import, seldom needed

        matches = from_bytes(data)
        best = matches.best()
        if best is None:
            raise _binary_error(name, data) from None
        text = str(best)
        sample = data[:65536]
        if len(sample.translate(None, _ASCII)) < 0.5 * len(sample):  # Latin script, not Cyrillic
            text = _latin_text(data, [best.encoding, *(m.encoding for m in matches)])
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
    """(language code or None when unsure or too short to tell, confidence, probability of
    English)."""
    sample = _sample(article)
    if sum(c.isalpha() for c in sample) < _MIN_LETTERS_TO_JUDGE:
        return None, 0.0, 0.0
    lang, conf, p_en = _langid.classify(sample)
    return (lang if conf >= 0.5 else None), conf, p_en


def language_note(article: Article) -> str | None:
    """What an analysis says when its text was not found to be English (``check_text`` set
    ``article.language``): too short or too mixed to tell, or another language let through."""
    if article.language == "en":
        return None
    what = (
        f"looks like {language_name(article.language)}" if article.language
        else "is too short or too mixed to tell its language"
    )
    return f"This text {what}: unspin's model reads English only, and analysed it as English."


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, f"language '{code}'")


def _check_fields(article: Article, label: str) -> None:
    """An Article built by hand (the Python API) is checked like one unspin read: real text,
    and paragraphs that are in order, inside it."""
    if not isinstance(article, Article) or not isinstance(article.text, str):
        got = type(article.text if isinstance(article, Article) else article).__name__
        raise InputError(f"{label} is not text (got {got}): pass a str or an unspin.Article.")
    bad = _SURROGATE.search(article.text)
    if bad:
        raise InputError(
            f"{label} holds a lone surrogate (U+{ord(bad.group()):04X}) at character "
            f"{bad.start():,}, which is not valid Unicode text: decode the input with "
            "errors='replace' (or fix what produced it) and try again."
        )
    end = 0
    for p in article.paragraphs:
        if not (isinstance(p.start, int) and isinstance(p.end, int) and end <= p.start <= p.end):
            raise InputError(
                f"{label}: paragraph {p.index} ({p.start}-{p.end}) overlaps the one before "
                "or ends before it starts; build Articles with unspin.ingest.from_text."
            )
        end = p.end
    if end > len(article.text):
        raise InputError(
            f"{label}: a paragraph ends at {end}, past the end of the text "
            f"({len(article.text)} characters)."
        )


def check_text(
    article: Article, settings: Settings = DEFAULT_SETTINGS, *, name: str | None = None
) -> Article:
    """Refuse what cannot be analysed; set ``article.language``. Returns the same article.

    ``name`` is how messages refer to the input (a path or URL); defaults to the article's
    URL or id.
    """
    label = name or article.url or article.id or "The text"
    _check_fields(article, label)
    content = _INVISIBLE.sub("", article.text).strip()
    if not content:
        hidden = " (only invisible formatting characters)" if article.text.strip() else ""
        raise InputError(f"{label} is empty{hidden}: there is no text to analyse.")
    if len(content) < settings.min_text_chars:
        raise InputError(
            f"{label} is too short to analyse ({len(content)} characters; unspin needs at "
            f"least {settings.min_text_chars:,}, UNSPIN_MIN_TEXT_CHARS)."
        )
    if len(article.text) > settings.max_text_chars:
        raise TooLargeError(
            f"{label} is too long: it is "
            f"{over_limit(len(article.text), settings.max_text_chars, 'characters', 'max_text_chars')}; "
            "split it, or raise that setting."
        )
    lang, conf, p_en = detect_language(article)
    sure = lang not in (None, "en") and conf >= _REFUSE_CONFIDENCE and p_en < _ENGLISH_UNLIKELY
    article.language = lang if lang == "en" or sure else None  # None: unsure, said in a note
    if settings.require_english and sure:
        raise InputError(
            f"{label} looks like {language_name(lang or '')} ({lang}, {conf:.0%} sure); unspin's "
            "model reads English only, so pass an English article (or set "
            "UNSPIN_REQUIRE_ENGLISH=0 to analyse it anyway)."
        )
    return article
