"""Judgements out in the SemEval-2023 Task 3 layout, to re-analyse, score or calibrate on.

For every judged article, in ``DIR``:

- ``article<ID>.txt``: the article text, exactly as judged (offsets count its code points);
- ``article<ID>-labels-subtask-3.txt``: one line per confirmed or added span, tab-separated
  ``ID, technique, start, end`` (the official span format); empty when the reader only
  disputed. It lists what the reader judged, not every technique the article holds.

and once, ``disputed.tsv``: the disputed spans of every article, the same four columns
(``ID, technique, start, end``, tab-separated, no header), so that the same reader parses it.

``ID`` is derived from the text's hash (:func:`~unspin.feedback.store.article_id`): the same
text always gets the same file names, so exporting again overwrites rather than duplicates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .store import ArticleJudgements, FeedbackError

DISPUTED_FILE = "disputed.tsv"


@dataclass(frozen=True)
class Exported:
    articles: int
    spans: int  # confirmed or added
    disputed: int


def _rows(a: ArticleJudgements, *verdicts: str) -> list[str]:
    return [f"{a.id}\t{t}\t{s}\t{e}\n" for t, s, e in a.spans(*verdicts)]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:  # no newline translation
        f.write(text)
    os.replace(tmp, path)


def export(articles: list[ArticleJudgements], directory: str | Path) -> Exported:
    """Write ``articles`` (see :func:`~unspin.feedback.store.judgements`) to ``directory``."""
    out = Path(directory).expanduser()
    if out.exists() and not out.is_dir():
        raise FeedbackError(f"{out} is a file: export into a folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        spans = disputed = 0
        disputed_rows: list[str] = []
        for a in articles:
            _write(out / f"article{a.id}.txt", a.text)
            rows = _rows(a, "confirm", "add")
            _write(out / f"article{a.id}-labels-subtask-3.txt", "".join(rows))
            spans += len(rows)
            disputed_rows += _rows(a, "dispute")
        disputed = len(disputed_rows)
        _write(out / DISPUTED_FILE, "".join(disputed_rows))
    except OSError as err:
        raise FeedbackError(f"Cannot write the export to {out}: {err.strerror or err}.") from None
    return Exported(len(articles), spans, disputed)
