"""Tidy tables out of a corpus (``corpus export``), and analysis results into one
(``corpus import``: the Parquet files the distributed path writes).

CSV needs nothing; Parquet needs pyarrow (``pip install 'unspin[corpus]'``). Tables are
written in batches, so a corpus of any size exports in bounded memory, and each file is
written under a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..taxonomy import GENRE_NAMES
from .correction import Quality, corpus_models
from .records import CorpusArticle, Findings
from .store import Store

__all__ = ["EXPORTS", "export", "import_results", "read_results", "result_row", "write_table"]

BATCH = 20_000


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet  # noqa: F401  (loads pa.parquet)
    except ImportError:
        raise InputError("Parquet needs pyarrow: pip install 'unspin[corpus]'.") from None
    return pa


def write_table(
    rows: Iterable[dict[str, Any]], path: str | os.PathLike[str], fmt: str, *, columns: Sequence[str]
) -> int:
    """Write ``rows`` to ``path`` as "csv" or "parquet"; the number of rows."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    try:
        if fmt == "csv":
            with tmp.open("w", encoding="utf-8", newline="") as f:
                out = csv.DictWriter(f, fieldnames=list(columns), lineterminator="\n")
                out.writeheader()
                for row in rows:
                    out.writerow(row)
                    n += 1
        elif fmt == "parquet":
            pa = _pyarrow()
            writer: Any = None
            batch: list[dict[str, Any]] = []

            def flush() -> None:
                nonlocal writer
                table = pa.Table.from_pylist(batch) if batch else None
                if table is None:
                    return
                if writer is None:
                    writer = pa.parquet.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
                batch.clear()

            for row in rows:
                batch.append({c: row.get(c) for c in columns})
                n += 1
                if len(batch) >= BATCH:
                    flush()
            flush()
            if writer is None:  # no rows: an empty table with string columns
                pa.parquet.write_table(pa.table({c: pa.array([], pa.string()) for c in columns}), tmp)
            else:
                writer.close()
        else:
            raise InputError(f"Unknown table format {fmt!r}: use csv or parquet.")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return n


# -- export -------------------------------------------------------------------------------

ARTICLE_COLUMNS = (
    "article_id", "content_hash", "title", "url", "outlet", "domain", "published", "month",
    "week", "language", "words", "source", "model_id", "model_version", "genre", "detections",
    "per_1k_words", "corrected_per_1k_words", *(f"genre_{g}" for g in GENRE_NAMES), "frames", "topics",
)  # fmt: skip
EXPORTS: dict[str, tuple[str, ...]] = {
    "articles": ARTICLE_COLUMNS,
    "spans": ("article_id", "technique", "start", "end", "score", "paragraph", "text"),
    "paragraphs": ("article_id", "paragraph", "start", "end", "words", "techniques"),
    "paragraph_labels": ("article_id", "paragraph", "technique", "score"),
    "frames": ("article_id", "frame", "score", "chosen"),
}


def _stream(store: Store, sql: str) -> Iterator[tuple[Any, ...]]:
    cursor = store.db.execute(sql)
    while batch := cursor.fetchmany(5000):
        yield from batch


def _corrected(store: Store, quality: Quality | None) -> dict[int, float] | None:
    """Per article, the estimated true detections (each technique's count times its
    precision / recall; techniques without an estimate left out): empty without quality
    counts for the model that analysed the corpus (None)."""
    if quality is None or corpus_models(store) != [quality.model]:
        return None
    factor = {t: quality.factor(t) for t in quality.counts}
    out: dict[int, float] = {}
    for a, technique, n in _stream(store, "SELECT article_id, technique, count(*) FROM spans GROUP BY 1, 2"):
        out[a] = out.get(a, 0.0) + n * (factor.get(technique) or 0.0)
    return out


def _articles(store: Store, quality: Quality | None = None) -> Iterator[dict[str, Any]]:
    genres = {(a, g): s for a, g, s in _stream(store, "SELECT article_id, genre, score FROM genre_scores")}
    frames: dict[int, list[str]] = {}
    for a, f in _stream(store, "SELECT article_id, frame FROM frame_scores WHERE chosen ORDER BY article_id, score DESC"):
        frames.setdefault(a, []).append(f)
    topics: dict[int, list[str]] = {}
    for a, name in _stream(store, "SELECT at.article_id, t.name FROM article_topics at JOIN topics t ON t.id = at.topic_id ORDER BY t.kind, t.name"):
        topics.setdefault(a, []).append(name)
    corrected = _corrected(store, quality)
    for row in _stream(
        store,
        "SELECT a.id, a.content_hash, a.title, a.url, a.outlet, a.domain, a.published, a.month, "
        "a.week, a.language, a.words, a.source, an.model_id, an.model_version, an.genre, "
        "an.detections FROM articles a LEFT JOIN analyses an ON an.article_id = a.id ORDER BY a.id",
    ):
        out = dict(zip(ARTICLE_COLUMNS[:16], row, strict=True))
        words, detections = out["words"], out["detections"]
        out["per_1k_words"] = round(detections / words * 1000, 4) if words and detections is not None else None
        estimate = corrected.get(row[0], 0.0) if corrected is not None else None
        out["corrected_per_1k_words"] = (
            round(estimate / words * 1000, 4) if estimate is not None and words and detections is not None else None
        )
        for g in GENRE_NAMES:
            out[f"genre_{g}"] = genres.get((row[0], g))
        out["frames"] = ";".join(frames.get(row[0], []))
        out["topics"] = ";".join(topics.get(row[0], []))
        yield out


def _spans(store: Store) -> Iterator[dict[str, Any]]:
    for row in _stream(
        store,
        'SELECT s.article_id, s.technique, s.start, s."end", s.score, s.paragraph, '
        'substr(a.text, s.start + 1, s."end" - s.start) FROM spans s '
        "JOIN articles a ON a.id = s.article_id ORDER BY s.article_id, s.start, s.technique",
    ):
        yield dict(zip(EXPORTS["spans"], row, strict=True))


def _paragraphs(store: Store) -> Iterator[dict[str, Any]]:
    for row in _stream(
        store,
        'SELECT p.article_id, p.paragraph, p.start, p."end", '
        "length(trim(substr(a.text, p.start + 1, p.\"end\" - p.start))) "
        "- length(replace(trim(substr(a.text, p.start + 1, p.\"end\" - p.start)), ' ', '')) + 1, "
        "(SELECT group_concat(technique, ';') FROM (SELECT technique FROM paragraph_labels l "
        "WHERE l.article_id = p.article_id AND l.paragraph = p.paragraph ORDER BY score DESC)) "
        "FROM paragraphs p JOIN articles a ON a.id = p.article_id ORDER BY p.article_id, p.paragraph",
    ):
        out = dict(zip(EXPORTS["paragraphs"], row, strict=True))
        out["techniques"] = out["techniques"] or ""
        yield out


def export(store: Store, out_dir: str | os.PathLike[str], fmt: str, *, quality: Quality | None = None) -> dict[str, int]:
    """Write the tidy tables (see :data:`EXPORTS`) into ``out_dir``; rows per table. With the
    model's ``quality`` counts, articles carry their estimated true rate beside the detected one."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = {
        "articles": _articles(store, quality),
        "spans": _spans(store),
        "paragraphs": _paragraphs(store),
        "paragraph_labels": (
            dict(zip(EXPORTS["paragraph_labels"], r, strict=True))
            for r in _stream(store, "SELECT article_id, paragraph, technique, score FROM paragraph_labels ORDER BY 1, 2, 4 DESC")
        ),
        "frames": (
            dict(zip(EXPORTS["frames"], r, strict=True))
            for r in _stream(store, "SELECT article_id, frame, score, chosen FROM frame_scores ORDER BY 1, 3 DESC")
        ),
    }
    return {
        name: write_table(rows, out / f"{name}.{fmt}", fmt, columns=EXPORTS[name])
        for name, rows in sources.items()
    }


# -- results of the distributed path -------------------------------------------------------

RESULT_FIELDS = (
    "content_hash", "text", "source", "source_kind", "title", "url", "outlet", "domain",
    "published", "language", "words", "external_id", "paragraphs", "model_id",
    "model_version", "spans", "paragraph_labels", "genre", "genre_scores", "frames",
    "frame_scores", "embedding", "error",
)  # fmt: skip


def result_schema() -> Any:
    """Arrow schema of one analysed article (nested lists, so DuckDB can query it as is)."""
    pa = _pyarrow()
    score = pa.list_(pa.struct([("name", pa.string()), ("score", pa.float64())]))
    return pa.schema([
        ("content_hash", pa.string()), ("text", pa.string()), ("source", pa.string()),
        ("source_kind", pa.string()), ("title", pa.string()), ("url", pa.string()),
        ("outlet", pa.string()), ("domain", pa.string()), ("published", pa.string()),
        ("language", pa.string()), ("words", pa.int64()), ("external_id", pa.string()),
        ("paragraphs", pa.list_(pa.list_(pa.int64()))),
        ("model_id", pa.string()), ("model_version", pa.string()),
        ("spans", pa.list_(pa.struct([
            ("technique", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
            ("score", pa.float64()), ("paragraph", pa.int64())]))),
        ("paragraph_labels", pa.list_(pa.struct([
            ("paragraph", pa.int64()), ("technique", pa.string()), ("score", pa.float64())]))),
        ("genre", pa.string()), ("genre_scores", score), ("frames", pa.list_(pa.string())),
        ("frame_scores", score), ("embedding", pa.binary()), ("error", pa.string()),
    ])  # fmt: skip


def result_row(article: CorpusArticle, findings: Findings | None, error: str | None = None) -> dict[str, Any]:
    """One row of the results Parquet: the article and what the model found (or an error)."""
    row: dict[str, Any] = {
        "content_hash": article.content_hash, "text": article.text, "source": article.source,
        "source_kind": article.source_kind, "title": article.title, "url": article.url,
        "outlet": article.outlet, "domain": article.domain, "published": article.published,
        "language": article.language, "words": article.words, "external_id": article.external_id,
        "paragraphs": [list(p) for p in article.paragraphs], "error": error,
    }  # fmt: skip
    f = findings
    row.update({
        "model_id": f.model_id if f else None,
        "model_version": f.model_version if f else None,
        "spans": [dict(zip(("technique", "start", "end", "score", "paragraph"), s, strict=True)) for s in f.spans] if f else [],
        "paragraph_labels": [dict(zip(("paragraph", "technique", "score"), p, strict=True)) for p in f.paragraph_labels] if f else [],
        "genre": f.genre if f else None,
        "genre_scores": [{"name": k, "score": v} for k, v in f.genre_scores.items()] if f else [],
        "frames": list(f.frames) if f else [],
        "frame_scores": [{"name": k, "score": v} for k, v in f.frame_scores.items()] if f else [],
        "embedding": f.embedding if f else None,
    })  # fmt: skip
    return row


def read_results(path: str | os.PathLike[str]) -> Iterator[tuple[CorpusArticle, Findings | None, str | None]]:
    """The rows of a results Parquet file written by :func:`result_row`."""
    pa = _pyarrow()
    try:
        file = pa.parquet.ParquetFile(path)
        missing = set(RESULT_FIELDS) - set(file.schema_arrow.names)
        if missing:
            raise InputError(f"{path} is not an unspin results file (no {', '.join(sorted(missing))}).")
        for batch in file.iter_batches(batch_size=2000):
            for row in batch.to_pylist():
                article = CorpusArticle(
                    content_hash=row["content_hash"], text=row["text"], source=row["source"],
                    source_kind=row["source_kind"] or "text", title=row["title"], url=row["url"],
                    outlet=row["outlet"], domain=row["domain"], published=row["published"],
                    language=row["language"], words=row["words"] or 0,
                    external_id=row["external_id"],
                    paragraphs=[(int(s), int(e)) for s, e in row["paragraphs"] or []],
                )  # fmt: skip
                if row["error"] or not row["model_id"]:
                    yield article, None, row["error"] or "no analysis"
                    continue
                findings = Findings(
                    model_id=row["model_id"], model_version=row["model_version"],
                    spans=[(s["technique"], s["start"], s["end"], s["score"], s["paragraph"]) for s in row["spans"]],
                    paragraph_labels=[(p["paragraph"], p["technique"], p["score"]) for p in row["paragraph_labels"]],
                    genre=row["genre"],
                    genre_scores={g["name"]: g["score"] for g in row["genre_scores"]},
                    frames=list(row["frames"]),
                    frame_scores={g["name"]: g["score"] for g in row["frame_scores"]},
                    embedding=row["embedding"],
                )  # fmt: skip
                yield article, findings, None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"Cannot read {path} as unspin results ({err}).") from None


def import_results(store: Store, paths: Iterable[str | os.PathLike[str]]) -> tuple[int, int, int]:
    """Load results files into the store: (imported, skipped as already there, failed).
    Idempotent: an article already analysed by the same model is skipped."""
    imported = skipped = failed = 0
    for path in paths:
        with store.transaction():
            for article, findings, error in read_results(path):
                if findings is None:
                    store.record_error(article.source, error or "no analysis",
                                       content_hash=article.content_hash, model=None)  # fmt: skip
                    failed += 1
                    continue
                found = store.lookup(article.content_hash)
                if found is not None and found[1] == findings.model:
                    skipped += 1
                    continue
                store.put(article, findings)
                imported += 1
    return imported, skipped, failed
