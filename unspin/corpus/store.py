"""The corpus database: one SQLite file in WAL mode, readable by any SQLite client.

The schema is documented in ``docs/corpus.md``. It changes only through :data:`MIGRATIONS`,
applied in order on open and recorded in ``PRAGMA user_version``; a file made by a newer
unspin is refused rather than guessed at. Each article is stored once, keyed by the SHA-256
of its exact text; its analysis belongs to one model (id and version), and is replaced,
never duplicated, when a newer model analyses the article again.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from ..document import Analysis, ParagraphLabels, Span
from ..errors import InputError, UnspinError
from .records import CorpusArticle, Findings

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Status", "Store", "open_store"]

MIGRATIONS: tuple[str, ...] = (
    # 1: articles, their analyses and everything the model says about them
    """
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        title TEXT,
        url TEXT,
        outlet TEXT,
        domain TEXT,
        published TEXT,
        month TEXT,
        week TEXT,
        language TEXT,
        words INTEGER NOT NULL,
        source TEXT NOT NULL,
        source_kind TEXT NOT NULL,
        external_id TEXT,
        added_at TEXT NOT NULL
    );
    CREATE INDEX articles_outlet ON articles(outlet, month);
    CREATE INDEX articles_month ON articles(month);
    CREATE INDEX articles_week ON articles(week);
    CREATE INDEX articles_source ON articles(source);
    CREATE INDEX articles_url ON articles(url);
    CREATE TABLE paragraphs (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        paragraph INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        PRIMARY KEY (article_id, paragraph)
    ) WITHOUT ROWID;
    CREATE TABLE analyses (
        article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        model_version TEXT NOT NULL,
        genre TEXT,
        detections INTEGER NOT NULL,
        analyzed_at TEXT NOT NULL
    );
    CREATE INDEX analyses_model ON analyses(model_id, model_version);
    CREATE TABLE spans (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        technique TEXT NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        score REAL NOT NULL,
        paragraph INTEGER
    );
    CREATE INDEX spans_article ON spans(article_id, technique);
    CREATE INDEX spans_technique ON spans(technique, article_id);
    CREATE TABLE paragraph_labels (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        paragraph INTEGER NOT NULL,
        technique TEXT NOT NULL,
        score REAL NOT NULL,
        PRIMARY KEY (article_id, paragraph, technique)
    ) WITHOUT ROWID;
    CREATE INDEX paragraph_labels_technique ON paragraph_labels(technique);
    CREATE TABLE genre_scores (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        genre TEXT NOT NULL,
        score REAL NOT NULL,
        PRIMARY KEY (article_id, genre)
    ) WITHOUT ROWID;
    CREATE TABLE frame_scores (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        frame TEXT NOT NULL,
        score REAL NOT NULL,
        chosen INTEGER NOT NULL,
        PRIMARY KEY (article_id, frame)
    ) WITHOUT ROWID;
    CREATE INDEX frame_scores_frame ON frame_scores(frame, chosen);
    CREATE TABLE embeddings (
        article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        vector BLOB NOT NULL
    );
    CREATE TABLE errors (
        item TEXT PRIMARY KEY,
        content_hash TEXT,
        model_version TEXT,
        error TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE topics (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('rule', 'cluster')),
        name TEXT NOT NULL,
        words TEXT,
        UNIQUE (kind, name)
    );
    CREATE TABLE article_topics (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        topic_id INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
        PRIMARY KEY (article_id, topic_id)
    ) WITHOUT ROWID;
    CREATE INDEX article_topics_topic ON article_topics(topic_id, article_id);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Status:
    """What a corpus holds, measured against one model (``model``: "id version")."""

    path: str
    model: str | None
    articles: int
    done: int  # analysed by ``model``
    stale: int  # analysed by another model, or not at all
    failed: int  # inputs or articles whose last attempt failed
    outlets: int
    first_date: str | None
    last_date: str | None
    undated: int
    topics: int
    by_model: dict[str, int]
    errors: list[tuple[str, str]]  # (item, error), the most recent first

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


class Store:
    """An open corpus database. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise InputError(f"No corpus database at {self.path}: create one with unspin corpus add.")
        if self.path.is_dir():
            raise InputError(f"{self.path} is a directory, not a corpus database.")
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA busy_timeout = 30000")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; WAL stays consistent
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as err:
            raise InputError(f"{self.path} is not a usable corpus database ({err}).") from None

    # -- lifecycle -----------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UnspinError(
                f"{self.path} was written by a newer unspin (schema {version}; this one knows "
                f"{SCHEMA_VERSION}): upgrade unspin to use it."
            )
        if version == 0 and self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise InputError(f"{self.path} is an SQLite file, but not an unspin corpus.")
        for number in range(version, SCHEMA_VERSION):
            try:  # each migration and its version number in one transaction
                self.db.executescript(
                    f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;"
                )
            except BaseException:
                self.rollback()
                raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none (a kill included)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    # -- reading -------------------------------------------------------------------------
    def lookup(self, content_hash: str) -> tuple[int, str | None] | None:
        """(article id, "model_id model_version" of its analysis or None), or None if new."""
        row = self.db.execute(
            "SELECT a.id, an.model_id || ' ' || an.model_version FROM articles a "
            "LEFT JOIN analyses an ON an.article_id = a.id WHERE a.content_hash = ?",
            (content_hash,),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def source_done(self, source: str, model: str) -> bool:
        """Whether an article read from ``source`` (a URL) is analysed by ``model``."""
        return (
            self.db.execute(
                "SELECT 1 FROM articles a JOIN analyses an ON an.article_id = a.id "
                "WHERE a.source = ? AND an.model_id || ' ' || an.model_version = ? LIMIT 1",
                (source, model),
            ).fetchone()
            is not None
        )

    def stale_articles(self, model: str) -> Iterator[CorpusArticle]:
        """Stored articles not analysed by ``model``, oldest first, with their paragraphs."""
        ids = [
            r[0]
            for r in self.db.execute(
                "SELECT a.id FROM articles a LEFT JOIN analyses an ON an.article_id = a.id "
                "WHERE an.article_id IS NULL OR an.model_id || ' ' || an.model_version != ? "
                "ORDER BY a.id",
                (model,),
            )
        ]
        for article_id in ids:
            yield self.article(article_id)

    def article(self, article_id: int) -> CorpusArticle:
        row = self.db.execute(
            "SELECT content_hash, text, title, url, outlet, domain, published, language, words, "
            "source, source_kind, external_id FROM articles WHERE id = ?",
            (article_id,),
        ).fetchone()
        if row is None:
            raise InputError(f"No article {article_id} in {self.path}.")
        paragraphs = [
            (s, e)
            for s, e in self.db.execute(
                'SELECT start, "end" FROM paragraphs WHERE article_id = ? ORDER BY paragraph',
                (article_id,),
            )
        ]
        return CorpusArticle(
            content_hash=row[0], text=row[1], title=row[2], url=row[3], outlet=row[4],
            domain=row[5], published=row[6], language=row[7], words=row[8], source=row[9],
            source_kind=row[10], external_id=row[11], paragraphs=paragraphs,
        )  # fmt: skip

    def analysis(self, article_id: int) -> Analysis:
        """The stored analysis of one article, as the Analysis every report renders."""
        article = self.article(article_id).to_article()
        article.id = article.id or str(article_id)
        head = self.db.execute(
            "SELECT model_id, model_version, genre FROM analyses WHERE article_id = ?", (article_id,)
        ).fetchone()
        if head is None:
            raise InputError(f"Article {article_id} of {self.path} is not analysed yet.")
        q = self.db.execute
        labels: dict[int, dict[str, float]] = {p.index: {} for p in article.paragraphs}
        for paragraph, technique, score in q(
            "SELECT paragraph, technique, score FROM paragraph_labels WHERE article_id = ?", (article_id,)
        ):
            labels.setdefault(paragraph, {})[technique] = score
        frames = q(
            "SELECT frame, score, chosen FROM frame_scores WHERE article_id = ? ORDER BY score DESC",
            (article_id,),
        ).fetchall()
        return Analysis(
            article=article,
            spans=[Span(t, s, e, sc) for t, s, e, sc in q(
                'SELECT technique, start, "end", score FROM spans WHERE article_id = ? '
                "ORDER BY start, technique", (article_id,))],
            paragraphs=[ParagraphLabels(i, labels[i]) for i in sorted(labels)],
            genre=head[2],
            genre_scores=dict(q("SELECT genre, score FROM genre_scores WHERE article_id = ?", (article_id,)).fetchall()),
            frames=[f for f, _, chosen in frames if chosen],
            frame_scores={f: sc for f, sc, _ in frames},
            model_id=head[0],
            model_version=head[1],
        )  # fmt: skip

    def status(self, model: str | None, *, errors: int = 10) -> Status:
        q = self.db.execute
        articles = q("SELECT count(*) FROM articles").fetchone()[0]
        by_model = dict(
            q(
                "SELECT model_id || ' ' || model_version, count(*) FROM analyses "
                "GROUP BY 1 ORDER BY 2 DESC"
            ).fetchall()
        )
        done = by_model.get(model, 0) if model else 0
        first, last = q("SELECT min(published), max(published) FROM articles").fetchone()
        return Status(
            path=str(self.path),
            model=model,
            articles=articles,
            done=done,
            stale=articles - done,
            failed=q("SELECT count(*) FROM errors").fetchone()[0],
            outlets=q("SELECT count(DISTINCT outlet) FROM articles").fetchone()[0],
            first_date=first,
            last_date=last,
            undated=q("SELECT count(*) FROM articles WHERE published IS NULL").fetchone()[0],
            topics=q("SELECT count(*) FROM topics").fetchone()[0],
            by_model=by_model,
            errors=q(
                "SELECT item, error FROM errors ORDER BY at DESC, item LIMIT ?", (errors,)
            ).fetchall(),
        )

    # -- writing (inside a transaction) -----------------------------------------------------
    def reserve(self, article: CorpusArticle) -> tuple[int, bool]:
        """Store one article, with no analysis yet, unless it is stored: (its id, whether
        it is new). ``corpus add`` reserves articles in input order, so ids do not depend
        on which analysis finishes first."""
        q = self.db.execute
        row = q("SELECT id FROM articles WHERE content_hash = ?", (article.content_hash,)).fetchone()
        if row is not None:
            return int(row[0]), False
        article_id = q(
            "INSERT INTO articles (content_hash, text, title, url, outlet, domain, published, "
            "month, week, language, words, source, source_kind, external_id, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.content_hash, article.text, article.title, article.url,
                article.outlet, article.domain, article.published, article.month,
                article.week, article.language, article.words, article.source,
                article.source_kind, article.external_id, _now(),
            ),
        ).lastrowid  # fmt: skip
        assert article_id is not None
        self.db.executemany(
            'INSERT INTO paragraphs (article_id, paragraph, start, "end") VALUES (?, ?, ?, ?)',
            [(article_id, i, s, e) for i, (s, e) in enumerate(article.paragraphs)],
        )
        return int(article_id), True

    def put(self, article: CorpusArticle, findings: Findings) -> int:
        """Store one article (once) and its analysis (replacing an older one); its id."""
        q = self.db.execute
        article_id, new = self.reserve(article)
        if not new:
            for table in ("spans", "paragraph_labels", "genre_scores", "frame_scores", "embeddings"):
                q(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))
        q(
            "INSERT OR REPLACE INTO analyses (article_id, model_id, model_version, genre, "
            "detections, analyzed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (article_id, findings.model_id, findings.model_version, findings.genre,
             len(findings.spans), _now()),
        )  # fmt: skip
        self.db.executemany(
            'INSERT INTO spans (article_id, technique, start, "end", score, paragraph) '
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(article_id, *s) for s in findings.spans],
        )
        self.db.executemany(
            "INSERT INTO paragraph_labels (article_id, paragraph, technique, score) "
            "VALUES (?, ?, ?, ?)",
            [(article_id, *p) for p in findings.paragraph_labels],
        )
        self.db.executemany(
            "INSERT INTO genre_scores (article_id, genre, score) VALUES (?, ?, ?)",
            [(article_id, g, s) for g, s in findings.genre_scores.items()],
        )
        chosen = set(findings.frames)
        self.db.executemany(
            "INSERT INTO frame_scores (article_id, frame, score, chosen) VALUES (?, ?, ?, ?)",
            [(article_id, f, s, int(f in chosen)) for f, s in findings.frame_scores.items()],
        )
        if findings.embedding is not None:
            q("INSERT INTO embeddings (article_id, vector) VALUES (?, ?)", (article_id, findings.embedding))
        q("DELETE FROM errors WHERE item = ?", (article.source,))
        return int(article_id)

    def record_error(self, item: str, error: str, *, content_hash: str | None, model: str | None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO errors (item, content_hash, model_version, error, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (item, content_hash, model, error, _now()),
        )

    def clear_error(self, item: str) -> None:
        self.db.execute("DELETE FROM errors WHERE item = ?", (item,))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params).fetchall()


def open_store(path: str | os.PathLike[str], *, create: bool = False) -> Store:
    """Open a corpus database; ``create``: make it if it does not exist."""
    return Store(path, create=create)
