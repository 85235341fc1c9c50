"""The reader's judgements of detections, in one SQLite file on this machine.

A judgement says of ``text[start:end]`` of one article that it is (``confirm``) or is not
(``dispute``) the technique unspin showed there, or that unspin missed it (``add``). It is
keyed by the article's text hash, the technique and the offsets (code points into the exact
text), never by a model's output, so it survives re-analysis and model upgrades; a new
verdict on the same key replaces the old one. The article text is stored beside its
judgements, so that they can be exported and analysed again.

The file is opened per operation in WAL mode with a busy timeout, so the server's
concurrent requests and a command line can write to it at once.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InputError, UnspinError
from ..taxonomy import technique as technique_named

VERDICTS = ("confirm", "dispute", "add")
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    text_hash TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    title TEXT,
    url TEXT,
    added TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS judgements (
    text_hash TEXT NOT NULL REFERENCES articles (text_hash),
    technique TEXT NOT NULL,
    span_start INTEGER NOT NULL,
    span_end INTEGER NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('confirm', 'dispute', 'add')),
    span TEXT NOT NULL,
    score REAL,
    model_id TEXT,
    model_version TEXT,
    note TEXT,
    created TEXT NOT NULL,
    PRIMARY KEY (text_hash, technique, span_start, span_end)
);
"""
_COLUMNS = (  # a Judgement's fields, in order
    "text_hash, technique, span_start, span_end, verdict, span, score, model_id, "
    "model_version, note, created"
)
_QUOTE_CHARS = 60


class FeedbackError(InputError):
    """A judgement that cannot be stored: unknown technique, offsets outside the text, a
    span text that is not the text at those offsets, an unknown verdict."""


class FeedbackStoreError(UnspinError):
    """The feedback file is missing, unreadable, or not an unspin feedback store."""

    http_status = 503


def text_hash(text: str) -> str:
    """sha256 of the exact text (UTF-8): what every judgement of an article is keyed by."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def article_id(hash_: str) -> str:
    """A stable numeric id for the SemEval layout (``article<ID>.txt``): 48 bits of the hash."""
    return str(int(hash_[:12], 16))


def quote(text: str, limit: int = _QUOTE_CHARS) -> str:
    """A short, one-line rendering of a span for messages."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "\u2026")


def technique_name(name: str) -> str:
    """The canonical name of a technique (spelling variants and labels accepted)."""
    try:
        return technique_named(name).name
    except KeyError as err:
        message = str(err.args[0])
        raise FeedbackError(message[:1].upper() + message[1:] + ".") from None


@dataclass(frozen=True)
class Judgement:
    """One verdict on ``text[start:end]`` of the article ``text_hash``."""

    text_hash: str
    technique: str
    start: int
    end: int
    verdict: str
    span: str  # text[start:end], checked when stored
    score: float | None = None  # the score shown when it was judged (None: added, or unknown)
    model_id: str | None = None
    model_version: str | None = None
    note: str | None = None
    created: str = ""  # ISO 8601, UTC

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "article_id": article_id(self.text_hash)}


@dataclass(frozen=True)
class ArticleJudgements:
    """An article's text and every judgement of it, in reading order: what a calibration
    step or an export consumes."""

    text_hash: str
    text: str
    title: str | None
    url: str | None
    judgements: list[Judgement] = field(default_factory=list)

    @property
    def id(self) -> str:
        return article_id(self.text_hash)

    def spans(self, *verdicts: str) -> list[tuple[str, int, int]]:
        """(technique, start, end) of the judgements with these verdicts."""
        return [(j.technique, j.start, j.end) for j in self.judgements if j.verdict in verdicts]


@dataclass(frozen=True)
class Stored:
    """What :meth:`FeedbackStore.add` did: the judgement kept and the verdict it replaced."""

    judgement: Judgement
    replaced: str | None  # the earlier verdict on the same key, if any


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _encodable(value: str | None, what: str) -> None:
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FeedbackError(
            f"The {what} holds an unpaired surrogate: it is not valid text."
        ) from None


class FeedbackStore:
    """The judgements in the SQLite file at ``path`` (created on the first judgement)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()

    @contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists() and not create:
            yield None
            return
        if self.path.is_dir():
            raise FeedbackStoreError(f"The feedback store {self.path} is a folder, not a file.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise FeedbackStoreError(
                f"Cannot open the feedback store {self.path}: {err}."
            ) from None
        try:
            db.execute("PRAGMA busy_timeout = 10000")
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            if db.execute("PRAGMA user_version").fetchone()[0] == 0:
                self._create(db)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise FeedbackStoreError(
                    f"The feedback store {self.path} was written by a newer unspin "
                    f"(format {version}): upgrade unspin to read it."
                )
            yield db
        except sqlite3.DatabaseError as err:
            raise FeedbackStoreError(
                f"Cannot use the feedback store {self.path}: {err} (is it an unspin feedback file?)."
            ) from None
        finally:
            db.close()

    def _create(self, db: sqlite3.Connection) -> None:
        """The tables, in a new file; one writer at a time, so two processes starting
        together cannot both create them."""
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] == 0:
                names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
                if {n for n in names if not n.startswith("sqlite_")} - {"articles", "judgements"}:
                    raise FeedbackStoreError(
                        f"{self.path} is an SQLite file of another program, not unspin's "
                        "feedback store: give another path."
                    )
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def add(
        self,
        text: str,
        technique: str,
        start: int,
        end: int,
        verdict: str = "confirm",
        *,
        span: str | None = None,
        score: float | None = None,
        model_id: str | None = None,
        model_version: str | None = None,
        note: str | None = None,
        title: str | None = None,
        url: str | None = None,
    ) -> Stored:
        """Store one judgement of ``text[start:end]``, replacing any earlier verdict on the
        same article, technique and offsets. ``span``, when given, must be that text."""
        if verdict not in VERDICTS:
            raise FeedbackError(f"Unknown verdict {verdict!r}: use {', '.join(VERDICTS)}.")
        for value, what in ((text, "text"), (note, "note"), (title, "title"), (url, "url"),
                            (model_id, "model id"), (model_version, "model version")):  # fmt: skip
            _encodable(value, what)
        name = technique_name(technique)
        if not 0 <= start < end <= len(text):
            raise FeedbackError(
                f"The offsets {start}-{end} are not a span of this {len(text)}-character text "
                "(code points, 0 <= start < end <= length)."
            )
        at = text[start:end]
        if span is not None and span != at:
            raise FeedbackError(
                f"The span text {quote(span)} is not the text at {start}-{end}, which is "
                f"{quote(at)}: offsets count code points of the exact article text."
            )
        if not at.strip():
            raise FeedbackError(f"The text at {start}-{end} is only blanks: judge words.")
        if score is not None and not 0.0 <= score <= 1.0:
            raise FeedbackError(f"The score {score} is not between 0 and 1.")
        key = text_hash(text)
        judgement = Judgement(
            key, name, start, end, verdict, at, score, model_id, model_version, note, _now()
        )
        with self._connect(create=True) as db:
            assert db is not None
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO articles (text_hash, text, title, url, added) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (text_hash) DO UPDATE SET "
                    "title = coalesce(title, excluded.title), url = coalesce(url, excluded.url)",
                    (key, text, title, url, judgement.created),
                )
                row = db.execute(
                    "SELECT verdict FROM judgements WHERE text_hash = ? AND technique = ? "
                    "AND span_start = ? AND span_end = ?",
                    (key, name, start, end),
                ).fetchone()
                db.execute(
                    "INSERT OR REPLACE INTO judgements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, name, start, end, verdict, at, score, model_id, model_version, note,
                     judgement.created),
                )  # fmt: skip
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return Stored(judgement, row[0] if row else None)

    def remove(self, hash_: str, technique: str, start: int, end: int) -> Judgement | None:
        """Take back a judgement; the article's text goes too with its last one. Returns
        what was removed (None: there was no such judgement)."""
        name = technique_name(technique)
        key = (hash_, name, start, end)
        with self._connect(create=False) as db:
            if db is None:
                return None
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    f"SELECT {_COLUMNS} FROM judgements WHERE text_hash = ? AND technique = ? "
                    "AND span_start = ? AND span_end = ?",
                    key,
                ).fetchone()
                db.execute(
                    "DELETE FROM judgements WHERE text_hash = ? AND technique = ? "
                    "AND span_start = ? AND span_end = ?",
                    key,
                )
                db.execute(
                    "DELETE FROM articles WHERE text_hash = ? AND NOT EXISTS "
                    "(SELECT 1 FROM judgements WHERE text_hash = ?)",
                    (hash_, hash_),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return Judgement(*row) if row else None

    def text_of(self, hash_: str) -> tuple[str, str | None, str | None] | None:
        """(text, title, url) of a judged article, or None if it has no judgement here."""
        with self._connect(create=False) as db:
            if db is None:
                return None
            row = db.execute(
                "SELECT text, title, url FROM articles WHERE text_hash = ?", (hash_,)
            ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def judgements(self, hash_: str | None = None) -> list[Judgement]:
        """The judgements (of one article, with ``hash_``), the first judged article first, each
        article's in reading order."""
        where, args = ("WHERE j.text_hash = ?", (hash_,)) if hash_ else ("", ())
        with self._connect(create=False) as db:
            if db is None:
                return []
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM judgements j JOIN articles a USING (text_hash) {where} "
                "ORDER BY a.rowid, span_start, span_end, technique",
                args,
            ).fetchall()
        return [Judgement(*row) for row in rows]

    def articles(self) -> list[ArticleJudgements]:
        """Every judged article with its text and judgements."""
        with self._connect(create=False) as db:
            if db is None:
                return []
            rows = db.execute("SELECT text_hash, text, title, url FROM articles").fetchall()
        texts = {row[0]: (row[1], row[2], row[3]) for row in rows}
        by_article: dict[str, list[Judgement]] = {}
        for j in self.judgements():
            by_article.setdefault(j.text_hash, []).append(j)
        return [
            ArticleJudgements(key, texts[key][0], texts[key][1], texts[key][2], items)
            for key, items in by_article.items()
        ]


def judgements(db: str | Path) -> list[ArticleJudgements]:
    """Every article judged in the feedback store ``db``, with its text and its judgements
    (technique, start, end, verdict, score), for a calibration step to consume."""
    store = FeedbackStore(db)
    if not store.path.exists():
        raise FeedbackStoreError(
            f"There is no feedback store at {store.path}: confirm, dispute or add detections "
            "first (unspin feedback add, or the web app)."
        )
    return store.articles()
