"""Bring the translated data's spans across to its English translations.

The multilingual SemEval data marks technique spans in the native text only; its English
translations carry paragraph labels but no spans. A statistical word aligner (eflomal),
trained on the task's own parallel paragraphs in both directions and symmetrised with
grow-diag-final, maps each native span onto the English words its words align to.
Projections that too few of the span's words support, or whose length in words is far from
the native span's, are dropped, and the (paragraph, technique) pairs they leave behind are
reported as unknown rather than as negatives.

Native offsets: about two thirds of the native span files count every line break as two
characters (the articles were annotated as CRLF text and are stored with LF), so their spans
drift one character later per line break above them. Each file is read the way under which
its spans start on word boundaries (``native_reading``). Span ends are looser (a quarter end
one or more characters inside a word, against 6 of 7,201 English ones) and are extended to
the end of their word.

    python -m unspin.train.project ../shared/data/semeval2023task3-multilingual /work/cache/projected
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..taxonomy import normalize_label
from .data import LabeledArticle, load_translated, read_text, semeval_lines

WORD = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
INNER = re.compile(r"\w")
MIN_ALIGNED = 0.5  # share of a span's words that must align to some English word
MAX_RATIO = 2.0  # English words / native words, either way, beyond a slack of LENGTH_SLACK words
LENGTH_SLACK = 3


def words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word or punctuation mark."""
    return [m.span() for m in WORD.finditer(text)]


def is_punct(text: str, span: tuple[int, int]) -> bool:
    return INNER.search(text, span[0], span[1]) is None


# -- reading the native offsets ---------------------------------------------------------
def crlf_positions(text: str) -> list[int]:
    """For each offset counted with every line break as two characters (CRLF), the
    character position in ``text`` (LF); one entry past the end."""
    out: list[int] = []
    for i, ch in enumerate(text):
        out += [i, i] if ch == "\n" else [i]
    out.append(len(text))
    return out


def _mid_word(text: str, p: int) -> bool:
    return 0 < p < len(text) and text[p - 1].isalnum() and text[p].isalnum()


def native_reading(text: str, spans: list[tuple[int, int]]) -> str:
    """"lf" (offsets count characters) or "crlf" (line breaks count two): the reading under
    which fewer spans start inside a word or past the end; "lf" on ties."""
    def misses(pos: list[int] | None) -> int:
        n = 0
        for s, e in spans:
            if pos is None:
                n += 3 if e > len(text) else _mid_word(text, s)
            else:
                n += 3 if e >= len(pos) else _mid_word(text, pos[s])
        return n
    return "crlf" if misses(crlf_positions(text)) < misses(None) else "lf"


def snap(text: str, s: int, e: int) -> tuple[int, int] | None:
    """The span widened to whole words and stripped of surrounding white space; None if
    nothing but white space is left."""
    while 0 < s < len(text) and text[s - 1].isalnum() and text[s].isalnum():
        s -= 1
    while 0 < e < len(text) and text[e - 1].isalnum() and text[e].isalnum():
        e += 1
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if e > s else None


@dataclass
class NativeArticle:
    lang: str
    part: str
    id: str
    text: str
    reading: str
    spans: list[tuple[str, int, int]]  # snapped, in characters of ``text``
    # How far each span moved, in characters: its start by the reading (CRLF: one back per
    # line break above it), then its start and its end by snapping to words.
    drift: list[tuple[int, int, int]]
    paragraph_labels: dict[int, list[str]]


def load_native(root: Path, lang: str, part: str) -> list[NativeArticle]:
    """The native articles of one language and part with their spans read and snapped."""
    base = root / "native" / lang
    labels: dict[str, dict[int, list[str]]] = defaultdict(dict)
    label_file = base / f"{part}-labels-subtask-3.txt"
    for row in read_text(label_file).splitlines() if label_file.exists() else []:
        parts = row.split("\t")
        if len(parts) >= 2 and parts[1].strip().isdigit():
            names = [normalize_label(x, "technique") for x in (parts[2] if len(parts) > 2 else "").split(",")
                     if x.strip()]
            labels[parts[0]][int(parts[1])] = [n for n in names if n]
    out = []
    for f in sorted((base / f"{part}-labels-subtask-3-spans").glob("article*-labels-subtask-3.txt")):
        aid = f.name.split("-")[0][len("article"):]
        path = base / f"{part}-articles-subtask-3" / f"article{aid}.txt"
        if not path.exists():
            continue
        text = read_text(path)
        rows = []
        for row in read_text(f).splitlines():
            p = row.split("\t")
            name = normalize_label(p[1], "technique") if len(p) == 4 else None
            if name and p[2].isdigit() and p[3].isdigit() and int(p[2]) < int(p[3]):
                rows.append((name, int(p[2]), int(p[3])))
        reading = native_reading(text, [(s, e) for _, s, e in rows])
        pos = crlf_positions(text) if reading == "crlf" else list(range(len(text) + 1))
        spans, drift = [], []
        for name, s, e in rows:
            if e >= len(pos):
                continue
            snapped = snap(text, pos[s], pos[e])
            if snapped:
                spans.append((name, *snapped))
                drift.append((pos[s] - s, snapped[0] - pos[s], snapped[1] - pos[e]))
        out.append(NativeArticle(lang, part, aid, text, reading, spans, drift, labels.get(aid, {})))
    return out


# -- alignment --------------------------------------------------------------------------
def grow_diag_final(fwd: set[tuple[int, int]], rev: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Koehn's symmetrisation of two directional alignments of (source, target) links."""
    links = fwd & rev
    union = fwd | rev
    neighbours = [(-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)]
    src_done = {i for i, _ in links}
    trg_done = {j for _, j in links}
    grown = True
    while grown:
        grown = False
        for i, j in sorted(links):
            for di, dj in neighbours:
                p = (i + di, j + dj)
                if p in union and p not in links and (p[0] not in src_done or p[1] not in trg_done):
                    links.add(p)
                    src_done.add(p[0])
                    trg_done.add(p[1])
                    grown = True
    for i, j in sorted(union):
        if (i not in src_done or j not in trg_done) and (i, j) not in links:
            links.add((i, j))
            src_done.add(i)
            trg_done.add(j)
    return links


def _read_links(path: Path) -> list[set[tuple[int, int]]]:
    return [{(int(a), int(b)) for a, b in (x.split("-") for x in line.split())}
            for line in path.read_text().splitlines()]


def align(pairs: list[tuple[str, str]], work: Path) -> list[set[tuple[int, int]]]:
    """Symmetrised word links (native word, English word) for each (native, English) pair."""
    from eflomal import Aligner

    def line(text: str) -> str:
        return " ".join(text[s:e].replace(" ", "_") for s, e in words(text)) or "_"

    src, trg = [line(a) for a, _ in pairs], [line(b) for _, b in pairs]
    fwd, rev = work / "fwd.links", work / "rev.links"
    Aligner().align(src, trg, links_filename_fwd=str(fwd), links_filename_rev=str(rev))
    return [grow_diag_final(f, {(i, j) for i, j in r}) for f, r in
            zip(_read_links(fwd), _read_links(rev), strict=True)]


# -- projection -------------------------------------------------------------------------
@dataclass
class Projection:
    start: int | None  # in the English paragraph; None when dropped
    end: int | None
    reason: str  # "kept" or why it was dropped


def project(native: str, english: str, links: set[tuple[int, int]], s: int, e: int) -> Projection:
    """Project the span [s, e) of the paragraph ``native`` onto ``english``."""
    nw, ew = words(native), words(english)
    inside = [i for i, (a, b) in enumerate(nw) if a < e and b > s and not is_punct(native, nw[i])]
    if not inside:
        return Projection(None, None, "no native words")
    targets: dict[int, list[int]] = defaultdict(list)
    for i, j in links:
        if j < len(ew):
            targets[i].append(j)
    hit = [j for i in inside for j in targets.get(i, []) if not is_punct(english, ew[j])]
    aligned = sum(1 for i in inside if any(not is_punct(english, ew[j]) for j in targets.get(i, [])))
    if aligned < MIN_ALIGNED * len(inside):
        return Projection(None, None, "too few words aligned")
    lo, hi = min(hit), max(hit)
    n_en = sum(1 for j in range(lo, hi + 1) if not is_punct(english, ew[j]))
    n_nat = len(inside)
    if max(n_en, n_nat) > MAX_RATIO * min(n_en, n_nat) + LENGTH_SLACK:
        return Projection(None, None, "length mismatch")
    # Keep closing punctuation the native span keeps (a sentence's full stop, a quote).
    end = ew[hi][1]
    if hi + 1 < len(ew) and is_punct(english, ew[hi + 1]) and ew[hi + 1][0] == end:
        nat_last = max(i for i, (a, _) in enumerate(nw) if a < e)
        if is_punct(native, nw[nat_last]) and english[ew[hi + 1][0]] == native[nw[nat_last][0]]:
            end = ew[hi + 1][1]
    return Projection(ew[lo][0], end, "kept")


def project_all(root: Path, out_dir: Path, log=print) -> Path:
    """Align every language's paragraphs and write every span's projection to
    ``out_dir/spans.jsonl`` (one record per native span and paragraph it touches)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    english = {a.id: a for a in load_translated(root)}
    out_path = out_dir / "spans.jsonl"
    tmp = out_path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for lang in sorted(p.name for p in (root / "native").iterdir() if p.is_dir()):
            natives = [a for part in ("train", "dev") for a in load_native(root, lang, part)]
            pairs, keys = [], []
            for a in natives:
                en = english.get(f"{lang}-{a.id}")
                if en is None:
                    continue
                en_lines = {n: en.text[s:e] for n, s, e in en.lines}
                for number, s, e in semeval_lines(a.text):
                    if number in en_lines:
                        pairs.append((a.text[s:e], en_lines[number]))
                        keys.append((a, number, s, e))
            log(f"{lang}: aligning {len(pairs)} paragraph pairs")
            with tempfile.TemporaryDirectory() as work:
                links = align(pairs, Path(work))
            for (a, number, ls, le), (nat, eng), link in zip(keys, pairs, links, strict=True):
                for (name, s, e), drift in zip(a.spans, a.drift, strict=True):
                    if s >= le or e <= ls:
                        continue
                    p = project(nat, eng, link, max(s, ls) - ls, min(e, le) - ls)
                    out.write(json.dumps({
                        "lang": lang, "part": a.part, "id": f"{lang}-{a.id}", "line": number,
                        "technique": name, "reading": a.reading, "drift": list(drift),
                        "native": nat[max(s, ls) - ls:min(e, le) - ls], "start": p.start, "end": p.end,
                        "english": eng[p.start:p.end] if p.start is not None else None, "reason": p.reason,
                        "paragraph_labels": a.paragraph_labels.get(number),
                    }, ensure_ascii=False) + "\n")
    tmp.replace(out_path)
    return out_path


def attach(articles: list[LabeledArticle], path: Path) -> dict[str, set[tuple[int, str]]]:
    """Set the kept projections as the spans of the translated ``articles`` (in place) and
    return, per article, the (line, technique) pairs whose projection was dropped: their
    tokens are unknown for that technique, not negative."""
    records: dict[str, list[dict]] = defaultdict(list)
    for row in read_text(path).splitlines():
        r = json.loads(row)
        records[r["id"]].append(r)
    unknown: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for a in articles:
        if a.source == "en" or a.id not in records:
            continue
        start = {n: s for n, s, _ in a.lines}
        spans = []
        for r in records[a.id]:
            if r["reason"] != "kept":
                unknown[a.id].add((r["line"], r["technique"]))
            elif r["line"] in start:
                spans.append((r["technique"], start[r["line"]] + r["start"], start[r["line"]] + r["end"]))
        a.spans = sorted(set(spans))
    return unknown


def summary(root: Path, path: Path, log=print) -> None:
    """Spans in and kept per language, agreement with the paragraph labels, drift."""
    rows = [json.loads(x) for x in read_text(path).splitlines()]
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        c = by[r["lang"]]
        c["in"] += 1
        c[r["reason"]] += 1
        if r["reason"] == "kept":
            c["agrees"] += r["technique"] in (r["paragraph_labels"] or [])
    for lang, c in sorted(by.items()):
        log(f"{lang}: {c['in']} spans in, {c['kept']} kept ({c['kept'] / c['in']:.1%}); dropped: "
            + ", ".join(f"{k} {v}" for k, v in c.items() if k not in ("in", "kept", "agrees"))
            + f"; technique in the paragraph's labels: {c['agrees'] / max(c['kept'], 1):.1%}")
    natives = [a for lang in sorted(by) for part in ("train", "dev") for a in load_native(root, lang, part)]
    readings = Counter((a.lang, a.reading) for a in natives)
    log("readings (files): " + ", ".join(f"{lang} {r} {n}" for (lang, r), n in sorted(readings.items())))
    moves = [d for a in natives for d in a.drift]
    for i, what in enumerate(("start moved by the reading", "start moved by snapping", "end moved by snapping")):
        c = Counter(min(abs(d[i]), 10) for d in moves)
        log(f"{what} (|chars|: spans; 10 = 10 or more): " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="semeval2023task3-multilingual")
    ap.add_argument("out", type=Path, help="a directory outside git, e.g. /work/cache/projected")
    ap.add_argument("--sample", type=int, default=0, help="only print this many kept projections to read")
    ap.add_argument("--summary", action="store_true", help="only summarise the projections already made")
    args = ap.parse_args()
    path = args.out / "spans.jsonl"
    if args.sample:
        english = {(a.id, n): a.text[s:e] for a in load_translated(args.data) for n, s, e in a.lines}
        rows = [r for r in map(json.loads, read_text(path).splitlines()) if r["reason"] == "kept"]
        for i, r in enumerate(random.Random(13).sample(rows, args.sample), start=1):
            para = english[(r["id"], r["line"])]
            shown = para[:r["start"]] + "[[" + para[r["start"]:r["end"]] + "]]" + para[r["end"]:]
            print(f"{i}. {r['id']}:{r['line']} {r['technique']}\n   native:  {r['native']}\n   english: {shown}\n")
        return
    if args.summary:
        summary(args.data, path)
        return
    path = project_all(args.data, args.out, log=lambda m: print(m, file=sys.stderr))
    summary(args.data, path)


if __name__ == "__main__":
    main()
