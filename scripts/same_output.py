"""Does a change alter unspin's output? Run every front end into a folder, then diff two folders.

    python scripts/same_output.py run /tmp/before      # on the code before the change
    python scripts/same_output.py run /tmp/after       # on the code after it
    python scripts/same_output.py diff /tmp/before /tmp/after

``run`` writes, with the installed model: ``unspin analyze -f json`` of each example
(``examples/`` and ``../shared/examples/``), ``unspin compare -f json`` of them,
``unspin analyze -o batch.jsonl`` (the batch loop), ``unspin predict`` (st1, st2, st3,
spans), ``unspin corpus add`` with ``corpus export -f csv`` and every table of the database,
and ``unspin corpus shards`` with ``corpus import``, over the first ``--articles`` (100)
English SemEval training articles in sorted order. Inputs are copied into ``RUN/work`` and
named by relative paths, so that both runs see the same names.

What legitimately varies is masked when written, and said so in ``RUN/MASKED``: the
timestamp columns (``*_at``, ``errors.at``) of the database and the CSV export, the result
files' names of ``corpus shards`` (a hash of the shard's absolute path), and the physical
order of a table's rows across articles (dumped by article id: which analysis finishes
first is not output; within an article, rows stay in the order written). ``diff`` compares
the folders byte for byte otherwise; it exits 1 when they differ. ``redump`` writes a run's
database dumps again (after a change to the dump).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TRAIN = SHARED / "data/semeval2023task3/data/en/train-articles-subtask-3"
MASK = "<varies>"
MASKED = """\
*_at and "at" columns (added_at, analyzed_at, errors.at) of the corpus database and the CSV export: the time of the run
corpus shards: result file names (a hash of the shard's absolute path): rows written in shard order
database rows are dumped by article id, then as written: which article's analysis finishes first is not output
"""


def unspin(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "unspin", *args]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")


def _cell(value: object) -> str:
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    return repr(value)


def dump_db(db: Path, out: Path) -> None:
    """Every table of a SQLite database, one TSV file each, ids included: rows in id order;
    an article's rows (spans...) in the order written, after the rows of lower ids (the
    order in which articles finish is not part of the output); errors by input."""
    out.mkdir(parents=True)
    con = sqlite3.connect(db)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    for table in tables:
        columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        order = "article_id, rowid" if "article_id" in columns else "item" if table == "errors" else "rowid"
        try:
            cur = con.execute(f"SELECT * FROM {table} ORDER BY {order}")
        except sqlite3.OperationalError:  # WITHOUT ROWID: read in primary key order
            cur = con.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        lines = ["\t".join(names)]
        for row in cur:
            lines.append("\t".join(MASK if n == "at" or n.endswith("_at") else _cell(v) for n, v in zip(names, row, strict=True)))
        (out / f"{table}.tsv").write_text("\n".join(lines) + "\n", "utf-8")
    con.close()


def mask_csv(folder: Path) -> None:
    for path in sorted(folder.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        masked = [i for i, name in enumerate(rows[0]) if name.endswith("_at")] if rows else []
        for row in rows[1:]:
            for i in masked:
                row[i] = MASK
        with open(path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)


def dump_parquet(folder: Path, out: Path) -> None:
    import pyarrow.parquet as pq

    lines = []
    for path in sorted(folder.glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            lines.append(json.dumps({k: _cell(v) for k, v in row.items()}, sort_keys=True))
    out.write_text("\n".join(lines) + "\n", "utf-8")


def run(out: Path, articles: int) -> None:
    if out.exists():
        raise SystemExit(f"{out} exists: give a new folder.")
    work = out / "work"
    (work / "examples").mkdir(parents=True)
    examples = sorted((ROOT / "examples").glob("*.txt")) + sorted((SHARED / "examples").glob("*.txt"))
    for path in examples:
        shutil.copyfile(path, work / "examples" / path.name)
    names = [f"examples/{p.name}" for p in examples]
    (work / "articles").mkdir()
    train = sorted(TRAIN.glob("article*.txt"))[:articles]
    if not train:
        raise SystemExit(f"No training articles in {TRAIN}.")
    for path in train:
        shutil.copyfile(path, work / "articles" / path.name)
    out.joinpath("MASKED").write_text(MASKED, "utf-8")

    for name in names:
        unspin("analyze", "-f", "json", "-o", f"../analyze-{Path(name).stem}.json", name, cwd=work)
    unspin("compare", "-f", "json", "-o", "../compare.json", *names, cwd=work)
    unspin("analyze", "-f", "jsonl", "-o", "../batch.jsonl", "articles", cwd=work)
    for task in ("st1", "st2", "st3", "spans"):
        unspin("predict", "--task", task, "-o", f"../predict-{task}.txt", "articles", cwd=work)

    unspin("corpus", "add", "-j", "2", "corpus.db", "articles", cwd=work)
    unspin("corpus", "export", "-f", "csv", "-o", "../corpus-export", "corpus.db", cwd=work)
    mask_csv(out / "corpus-export")
    dump_db(work / "corpus.db", out / "corpus-db")

    with open(work / "shard.jsonl", "w", encoding="utf-8") as f:
        for path in train:
            text = path.read_text("utf-8")
            f.write(json.dumps({"id": path.stem, "text": text}) + "\n")
    unspin("corpus", "shards", "-j", "1", "-o", "shards", "shard.jsonl", cwd=work)
    dump_parquet(work / "shards", out / "shards.jsonl")
    parquet = [str(p.relative_to(work)) for p in sorted((work / "shards").glob("*.parquet"))]
    unspin("corpus", "import", "shards.db", *parquet, cwd=work)
    dump_db(work / "shards.db", out / "shards-db")
    print(f"wrote {out}")


def diff(a: Path, b: Path) -> int:
    def files(root: Path) -> set[Path]:
        return {
            p.relative_to(root) for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).parts[0] not in ("work", "MASKED")
        }  # fmt: skip

    left, right = files(a), files(b)
    different = 0
    for name in sorted(left ^ right):
        print(f"only in {a if name in left else b}: {name}")
        different += 1
    for name in sorted(left & right):
        x, y = (a / name).read_bytes(), (b / name).read_bytes()
        if x != y:
            different += 1
            xs, ys = x.decode("utf-8", "replace").splitlines(), y.decode("utf-8", "replace").splitlines()
            first = next((i for i, (p, q) in enumerate(zip(xs, ys, strict=False)) if p != q), min(len(xs), len(ys)))
            print(f"differs: {name} (first at line {first + 1})")
    print(f"{len(left & right)} files compared, {different} differ")
    return 1 if different else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run every front end into a new folder")
    r.add_argument("folder", type=Path)
    r.add_argument("--articles", type=int, default=100)
    u = sub.add_parser("redump", help="dump the databases of a run again (after changing the dump)")
    u.add_argument("folder", type=Path)
    d = sub.add_parser("diff", help="compare two folders written by run")
    d.add_argument("a", type=Path)
    d.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        run(args.folder, args.articles)
        return 0
    if args.command == "redump":
        for name in ("corpus", "shards"):
            shutil.rmtree(args.folder / f"{name}-db", ignore_errors=True)
            dump_db(args.folder / "work" / f"{name}.db", args.folder / f"{name}-db")
        return 0
    return diff(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
