"""Predictions in the official SemEval-2023 Task 3 formats, for evaluation.

Articles are read exactly as on disk (no newline translation, no normalisation), so span
offsets are character offsets into the file. Work is checkpointed per article in
``OUTPUT.partial.jsonl``: an interrupted run, started again, skips what it already did.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .analyze import analyze_with, installed_model
from .document import Analysis
from .errors import InputError, ModelError
from .ingest import from_semeval
from .model import Model
from .report.jsonio import dumps

TASKS = ("st1", "st2", "st3", "spans")
ARTICLE_RE = re.compile(r"^article(\d+)\.txt$")


@dataclass
class Prediction:
    """What the formats need from one article's analysis."""

    id: str
    genre: str | None
    frames: list[str]
    paragraphs: dict[int, list[str]]  # SemEval line -> techniques
    spans: list[tuple[str, int, int]]

    @classmethod
    def from_analysis(cls, analysis: Analysis) -> Prediction:
        art = analysis.article
        lines = {p.index: p.line for p in art.paragraphs if p.line is not None}
        return cls(
            id=art.id,
            genre=analysis.genre,
            frames=list(analysis.frames),
            paragraphs={
                lines[p.index]: sorted(p.techniques, key=lambda t: -p.techniques[t])
                for p in analysis.paragraphs
                if p.index in lines
            },
            spans=[(s.technique, s.start, s.end) for s in analysis.spans],
        )


def article_files(directory: Path) -> list[tuple[str, Path]]:
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory of SemEval articles (article<ID>.txt).")
    found = []
    for p in directory.iterdir():
        m = ARTICLE_RE.match(p.name)
        if m and p.is_file():
            found.append((m.group(1), p))
    if not found:
        raise InputError(f"No articles (files named article<ID>.txt) in {directory}.")
    return sorted(found, key=lambda x: x[0])


def read_exact(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except UnicodeDecodeError as err:
        raise InputError(f"{path} is not UTF-8 text ({err.reason}).") from err


def predict_dir(
    directory: Path,
    partial: Path | None = None,
    *,
    model: Model | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[Prediction]:
    """Predictions for every article in ``directory``, reusing those already in ``partial``.
    ``model``: by default the installed one (see :func:`unspin.analyze.installed_model`)."""
    model = model or installed_model()
    if model is None:
        raise ModelError("No trained model is installed, so there is nothing to predict with.")
    files = article_files(directory)
    done: dict[str, Prediction] = {}
    if partial and partial.exists():
        for row in partial.read_text("utf-8").splitlines():
            try:
                d = json.loads(row)
                d["paragraphs"] = {int(k): v for k, v in d["paragraphs"].items()}
                d["spans"] = [tuple(s) for s in d["spans"]]
                done[d["id"]] = Prediction(**d)
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by an interruption: that article is simply redone
    out = open(partial, "a", encoding="utf-8") if partial else None  # noqa: SIM115
    try:
        for i, (aid, path) in enumerate(files):
            if aid in done:
                pred = done[aid]
            else:
                article = from_semeval(read_exact(path), id=aid)
                pred = Prediction.from_analysis(analyze_with(model, article))
                if out:
                    out.write(dumps(pred.__dict__, indent=None) + "\n")
                    out.flush()
            if progress:
                progress(i + 1, len(files))
            yield pred
    finally:
        if out:
            out.close()


def read_template(path: Path) -> list[tuple[str, int]]:
    rows = []
    for n, row in enumerate(path.read_text("utf-8").splitlines(), start=1):
        parts = row.split("\t")
        if len(parts) < 2 or not parts[1].strip().isdigit():
            raise InputError(f"{path}, line {n}: expected ID<TAB>LINE<TAB>..., got {row[:40]!r}.")
        rows.append((parts[0].strip(), int(parts[1])))
    return rows


def format_rows(task: str, preds: list[Prediction], template: list[tuple[str, int]] | None = None) -> list[str]:
    if task == "st1":
        return [f"{p.id}\t{p.genre or ''}" for p in preds]
    if task == "st2":
        return [f"{p.id}\t{','.join(p.frames)}" for p in preds]
    if task == "spans":
        return [f"{p.id}\t{t}\t{s}\t{e}" for p in preds for t, s, e in p.spans]
    if task == "st3":
        if template is None:
            return [f"{p.id}\t{line}\t{','.join(labels)}" for p in preds for line, labels in sorted(p.paragraphs.items())]
        by_id = {p.id: p for p in preds}
        return [
            f"{aid}\t{line}\t{','.join(by_id[aid].paragraphs.get(line, [])) if aid in by_id else ''}"
            for aid, line in template
        ]
    raise InputError(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}.")


def write_predictions(
    directory: Path,
    task: str,
    output: Path,
    *,
    template: Path | None = None,
    model: Model | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write ``task``'s file for ``directory``; return the number of rows written."""
    if task not in TASKS:
        raise InputError(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}.")
    rows_template = read_template(template) if template else None
    partial = output.with_name(output.name + ".partial.jsonl")
    preds = list(predict_dir(directory, partial, model=model, progress=progress))
    rows = format_rows(task, preds, rows_template)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, output)
    partial.unlink(missing_ok=True)
    return len(rows)
