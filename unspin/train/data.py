"""Reading the SemEval-2023 Task 3 English data and carving the splits.

Noisy rows (unknown labels, offsets past the end, malformed lines) are counted, reported
and skipped: the data is known to contain a few.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..taxonomy import TECHNIQUE_NAMES, normalize_label

ARTICLE_RE = re.compile(r"^article(\d+)\.txt$")
T_INDEX = {n: i for i, n in enumerate(TECHNIQUE_NAMES)}
# Techniques the English training data never marks: it was annotated in an older scheme
# without them. Its labels say nothing about them, though English news uses them (newer
# English annotation gives Questioning_the_Reputation alone about 15% of the spans); only
# the translated articles teach them.
NOT_IN_ENGLISH = ("Questioning_the_Reputation", "Appeal_to_Values", "Consequential_Oversimplification",
                  "Appeal_to_Time")


@dataclass
class LabeledArticle:
    id: str
    text: str
    lines: list[tuple[int, int, int]]  # (line number, start, end) of every non-empty line
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    paragraph_labels: dict[int, list[str]] = field(default_factory=dict)  # line -> techniques
    genre: str | None = None
    frames: list[str] | None = None
    annotated: bool = True  # has span and paragraph annotation (subtask 3)
    source: str = "en"  # "en", or "mt-<lang>" for a machine-translated article

    @property
    def style(self) -> str:
        """Whose annotation density its labels follow (``unspin.model.heads.STYLES``)."""
        return "en" if self.source == "en" else "mt"


@dataclass
class DataReport:
    problems: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, example: str) -> None:
        self.problems[kind] += 1
        self.examples.setdefault(kind, example)

    def __str__(self) -> str:
        if not self.problems:
            return "data: no problems found"
        rows = [f"  {k}: {n} (e.g. {self.examples[k]})" for k, n in self.problems.most_common()]
        return "data: skipped noisy rows\n" + "\n".join(rows)


def read_text(path: Path) -> str:
    # newline="" keeps the file exactly as on disk: span offsets count every character.
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def semeval_lines(text: str) -> list[tuple[int, int, int]]:
    """(1-based line number, start, end) of each non-empty line; ends exclude the newline."""
    out = []
    pos = 0
    for number, line in enumerate(text.split("\n"), start=1):
        content = line.rstrip("\r")
        if content.strip():
            out.append((number, pos, pos + len(content)))
        pos += len(line) + 1
    return out


def _read_labels(path: Path, kind: str, report: DataReport) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    if not path.exists():
        return result
    for row in read_text(path).splitlines():
        parts = row.split("\t")
        if len(parts) < 2:
            report.add(f"malformed {kind} row", row[:60])
            continue
        labels = []
        for raw in parts[1].split(","):
            if not raw.strip():
                continue
            name = normalize_label(raw, kind)
            if name is None:
                report.add(f"unknown {kind} label", raw)
            else:
                labels.append(name)
        result[parts[0].strip()] = labels
    return result


def _read_paragraph_labels(path: Path, report: DataReport) -> dict[str, dict[int, list[str]]]:
    para: dict[str, dict[int, list[str]]] = defaultdict(dict)
    if not path.exists():
        return para
    for row in read_text(path).splitlines():
        parts = row.split("\t")
        if len(parts) < 2 or not parts[1].strip().isdigit():
            report.add("malformed paragraph row", row[:60])
            continue
        labels = []
        for raw in (parts[2] if len(parts) > 2 else "").split(","):
            if raw.strip():
                name = normalize_label(raw, "technique")
                if name is None:
                    report.add("unknown technique label", raw)
                else:
                    labels.append(name)
        para[parts[0]][int(parts[1])] = labels
    return para


def load_dir(root: Path, report: DataReport | None = None) -> list[LabeledArticle]:
    """Load ``data/en`` (or a directory with the same layout): articles and all labels."""
    report = report if report is not None else DataReport()
    articles_dir = root / "train-articles-subtask-3"
    if not articles_dir.is_dir():
        articles_dir = root
    genres = _read_labels(root / "train-labels-subtask-1.txt", "genre", report)
    frames = _read_labels(root / "train-labels-subtask-2.txt", "frame", report)
    para = _read_paragraph_labels(root / "train-labels-subtask-3.txt", report)
    spans_dir = root / "train-labels-subtask-3-spans"
    out = []
    # Articles of subtasks 1-2 missing from subtask 3 still teach the genre and frame heads.
    paths = {}
    for extra in ("train-articles-subtask-2", "train-articles-subtask-1"):
        if (root / extra).is_dir() and articles_dir != root:
            paths.update({p.name: p for p in (root / extra).iterdir()})
    paths.update({p.name: p for p in articles_dir.iterdir()})
    for name in sorted(paths):
        path = paths[name]
        m = ARTICLE_RE.match(path.name)
        if not m:
            continue
        aid = m.group(1)
        text = read_text(path)
        art = LabeledArticle(id=aid, text=text, lines=semeval_lines(text),
                             annotated=path.parent == articles_dir)
        span_file = spans_dir / f"article{aid}-labels-subtask-3.txt"
        if span_file.exists():
            for row in read_text(span_file).splitlines():
                parts = row.split("\t")
                if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
                    report.add("malformed span row", row[:60])
                    continue
                label = normalize_label(parts[1], "technique")
                start, end = int(parts[2]), int(parts[3])
                if label is None:
                    report.add("unknown technique label", parts[1])
                elif not 0 <= start < end <= len(text):
                    report.add("span offsets outside the article", f"{aid} {start}-{end}")
                else:
                    art.spans.append((label, start, end))
        art.paragraph_labels = para.get(aid, {})
        art.genre = next(iter(genres.get(aid, [])), None)
        art.frames = frames.get(aid)
        out.append(art)
    return out


def load_unlabelled(root: Path) -> list[LabeledArticle]:
    """The unlabelled test articles beside ``data/en``'s training data
    (``test-articles-subtask-3``): news of the kind users bring, with no labels, for checking
    label rates and correcting the genre prior (none if the folder is absent)."""
    folder = root / "test-articles-subtask-3"
    out = []
    for path in sorted(folder.glob("article*.txt")) if folder.is_dir() else []:
        text = read_text(path)
        out.append(LabeledArticle(id=path.stem, text=text, lines=semeval_lines(text), annotated=False))
    return out


def _unquote(text: str) -> str:
    # The translation files quote some rows CSV-style: "...""quoted""...".
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] == '"':
        t = t[1:-1].replace('""', '"')
    return t.strip()


def load_translated(root: Path, report: DataReport | None = None) -> list[LabeledArticle]:
    """The multilingual data's English translations (``semeval2023task3-multilingual``).

    Each article is its translated lines in order, one per line; paragraph labels, genre
    and frames come from the native label files. There are no character spans, so these
    articles teach the paragraph and article heads (and the token head only weakly).
    """
    report = report if report is not None else DataReport()
    out = []
    for lang_dir in sorted(p for p in (root / "translated-en").iterdir() if p.is_dir()):
        lang = lang_dir.name
        native = root / "native" / lang
        for part in ("train", "dev"):
            path = lang_dir / f"{part}-paragraphs-en.txt"
            if not path.exists():
                continue
            genres = _read_labels(native / f"{part}-labels-subtask-1.txt", "genre", report)
            frames = _read_labels(native / f"{part}-labels-subtask-2.txt", "frame", report)
            para = _read_paragraph_labels(native / f"{part}-labels-subtask-3.txt", report)
            rows: dict[str, list[tuple[int, str]]] = defaultdict(list)
            for row in read_text(path).splitlines():
                parts = row.split("\t")
                if len(parts) != 3 or not parts[1].strip().isdigit():
                    report.add("malformed translation row", row[:60])
                    continue
                text = _unquote(parts[2])
                if not text:
                    if para.get(parts[0], {}).get(int(parts[1])):
                        report.add("labelled line without translation", f"{lang} {parts[0]}:{parts[1]}")
                    continue
                rows[parts[0]].append((int(parts[1]), text))
            for aid in sorted(rows):
                chunks, lines, pos = [], [], 0
                for number, text in sorted(rows[aid]):
                    lines.append((number, pos, pos + len(text)))
                    chunks.append(text)
                    pos += len(text) + 1
                labels = {n: ls for n, ls in para.get(aid, {}).items() if any(n == ln for ln, _, _ in lines)}
                out.append(LabeledArticle(
                    id=f"{lang}-{aid}", text="\n".join(chunks), lines=lines, paragraph_labels=labels,
                    genre=next(iter(genres.get(aid, [])), None), frames=frames.get(aid),
                    annotated=False, source=f"mt-{lang}",
                ))
    return out


# Held-out articles per (source, genre) for the tuning and validation splits. They are
# shaped like the news users bring: about two thirds reporting, a tenth satire, English
# and translated, every technique. Everything else trains.
HELD_OUT = {
    ("en", "reporting"): (10, 14), ("en", "opinion"): (6, 8), ("en", "satire"): (2, 2),
    ("mt", "reporting"): (30, 40), ("mt", "opinion"): (9, 12), ("mt", "satire"): (4, 5),
}


def token_targets(offsets: np.ndarray, spans: list[tuple[str, int, int]]) -> np.ndarray:
    """[N, T]: 1 where a token overlaps an annotated span of that technique."""
    y = np.zeros((len(offsets), len(TECHNIQUE_NAMES)), dtype=np.float32)
    if len(offsets) == 0:
        return y
    for name, s, e in spans:
        hit = (offsets[:, 0] < e) & (offsets[:, 1] > s)
        y[hit, T_INDEX[name]] = 1.0
    return y


def projected_token_targets(offsets: np.ndarray, art: LabeledArticle,
                            unknown: set[tuple[int, str]] | frozenset = frozenset()) -> np.ndarray:
    """[N, T] targets of a translated article from its projected spans (``project.attach``):
    known over its labelled paragraphs, except a (line, technique) whose projection was
    dropped; -1 (unknown) elsewhere. (A token whose first technique is unknown counts as a
    weak target in ``loop.losses``: a rare dropped Appeal_to_Authority projection.)"""
    spans = token_targets(offsets, art.spans)
    y = np.full_like(spans, -1.0)
    for line, s, e in art.lines:
        if line not in art.paragraph_labels:
            continue
        hit = (offsets[:, 0] < e) & (offsets[:, 1] > s)
        y[hit] = spans[hit]
        for ln, name in unknown:
            if ln == line:
                y[hit, T_INDEX[name]] = -1.0
    return y


def split(articles: list[LabeledArticle], *, seed: int = 13) -> dict[str, list[LabeledArticle]]:
    """Train / tune / val by article, with tune and val shift-matched (see ``HELD_OUT``).

    ``tune`` picks thresholds and calibration; ``val`` is never looked at while fitting.
    Held-out articles all carry paragraph labels; articles without a genre always train.
    """
    rng = random.Random(seed)
    strata: dict[tuple[str, str], list[LabeledArticle]] = defaultdict(list)
    for a in sorted(articles, key=lambda a: a.id):
        strata[(a.source.split("-")[0], a.genre or "?")].append(a)
    parts: dict[str, list[LabeledArticle]] = {"train": [], "tune": [], "val": []}
    for key in sorted(strata):
        group = strata[key]
        rng.shuffle(group)
        n_tune, n_val = HELD_OUT.get(key, (0, 0))
        eligible = [a for a in group if a.paragraph_labels][: n_tune + n_val]
        parts["tune"] += eligible[:n_tune]
        parts["val"] += eligible[n_tune:]
        held = {id(a) for a in eligible}
        parts["train"] += [a for a in group if id(a) not in held]
    return parts


def in_distribution(articles: list[LabeledArticle]) -> list[LabeledArticle]:
    """The English opinion articles of a split: the training data's own distribution."""
    return [a for a in articles if a.source == "en" and a.genre == "opinion"]
