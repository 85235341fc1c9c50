"""Helpers for the corpus tests: small corpora written to a temp directory, and a dump of
a corpus database that two runs can be compared by."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from conftest import REPO, shared_dir

OUTLETS = ("Daily Planet", "Gotham Gazette", "Metro Times", "Bugle", "Sentinel")
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def example_rows(n: int, *, outlets: tuple[str, ...] = ("Alpha News", "Beta Times", "Gamma Post")) -> list[dict[str, Any]]:
    """``n`` distinct short articles made from the shipped examples (no shared data), each
    with an outlet, a date and a URL."""
    paras: list[str] = []
    for name in ("op-ed.txt", "report.txt"):
        text = (REPO / "examples" / name).read_text("utf-8")
        paras += [p.strip() for p in text.split("\n\n") if len(p.split()) >= 12]
    out = []
    for k in range(n):
        first = " ".join(paras[k % len(paras)].split()[:30])
        second = " ".join(paras[(k * 7 + 3) % len(paras)].split()[:30])
        out.append({
            "text": f"{first}\n\n{second} ({k})",
            "title": f"Story {k}",
            "outlet": outlets[k % len(outlets)],
            "date": f"2024-{1 + k % 6:02d}-{1 + k % 27:02d}",
            "url": f"https://www.site{k % len(outlets)}.example.com/a/{k}",
        })  # fmt: skip
    return out


def default_sigint() -> None:
    """For a child process: Ctrl-C as in a terminal, even when the tests run where SIGINT is
    ignored (a job in the background of a shell); Python then turns it into
    KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def group_alive(group: int) -> list[int]:
    """The processes of a process group that are still running (zombies do not count:
    where nothing reaps orphans they stay listed, but hold nothing)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it ended while being read
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def gone_within(group: int, seconds: float) -> None:
    """Wait until no process of ``group`` runs; fail after ``seconds``."""
    started = time.monotonic()
    while group_alive(group):
        assert time.monotonic() - started < seconds, f"left behind: {group_alive(group)}"
        time.sleep(0.05)


def training_articles() -> list[Path] | None:
    shared = shared_dir()
    if shared is None:
        return None
    folder = shared / "data" / "semeval2023task3" / "data" / "en" / "train-articles-subtask-3"
    files = sorted(folder.glob("article*.txt"))
    return files or None


def corpus_rows(files: list[Path], n: int, *, words: int = 25) -> list[dict[str, Any]]:
    """``n`` distinct short articles, each a paragraph of one training article and the
    first paragraph of another (at most ``words`` words each), with outlets, dates and URLs
    assigned here."""
    lines = [[line for line in f.read_text("utf-8").split("\n") if line.strip()] for f in files]
    rows = []
    start = date(2023, 1, 1)
    for k in range(n):
        first, round_ = k % len(files), k // len(files)
        paras = lines[first]
        chosen = [paras[round_ % len(paras)], lines[(first + 1 + round_) % len(files)][0]]
        text = "\n\n".join(" ".join(p.split()[:words]) for p in chosen)
        rows.append({
            "text": text,
            "outlet": OUTLETS[k % len(OUTLETS)],
            "date": (start + timedelta(days=(k * 7) % 730)).isoformat(),
            "url": f"https://www.example-{k % len(OUTLETS)}.com/story/{k}",
        })  # fmt: skip
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return path


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows that do not depend on when they were written, sorted."""
    con = sqlite3.connect(db)
    try:
        out = {
            "articles": con.execute(
                "SELECT id, content_hash, text, title, url, outlet, domain, published, month, "
                "week, language, words, source, source_kind, external_id FROM articles"
            ).fetchall(),
            "analyses": con.execute(
                "SELECT article_id, model_id, model_version, genre, detections FROM analyses"
            ).fetchall(),
            "errors": con.execute("SELECT item, content_hash, model_version, error FROM errors").fetchall(),
        }
        for table in ("paragraphs", "spans", "paragraph_labels", "genre_scores", "frame_scores",
                      "embeddings", "article_topics", "topics"):  # fmt: skip
            out[table] = con.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        con.close()
    return {k: sorted(v, key=repr) for k, v in out.items()}


def stop_budget(seconds: float = 2.0) -> float:
    """How long a stop may take here: ``seconds`` as promised, stretched by how many times
    over the machine's cores are asked for (a test run beside other work on two cores
    measured 2.06 s at a load of 21)."""
    return seconds * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
