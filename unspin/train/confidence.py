"""Fit the maps from raw scores to displayed confidences, and check them on held-out news.

    python -m unspin.train.confidence [--model DIR] [--write]

Every article is read the way users' news is (the English annotation style). The maps are
fitted on the tuning split (English and translated articles for paragraph labels, English
ones for spans: translations carry no character spans) and checked on the validation split,
which also measures what each level's detections are worth (``levels`` in ``model.json``).
Both splits are shaped like the news users bring (mostly reporting); see ``data.split``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..document import Analysis, Article, Paragraph, level_of
from ..evaluation import char_precision, expected_calibration_error, merge_spans, reliability
from ..model import load_uncached
from ..model.confidence import Confidence, fit_platt
from ..model.meta import read_meta, write_meta
from ..model.runtime import OnnxModel
from .data import NOT_IN_ENGLISH, DataReport, LabeledArticle, load_dir, load_translated, split

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "semeval2023task3" / "data" / "en"
TRANSLATED = ROOT.parent / "shared" / "data" / "semeval2023task3-multilingual"


def shared_splits(report: DataReport | None = None) -> dict[str, list[LabeledArticle]]:
    """The English and translated data of ../shared, split as training split it."""
    report = report if report is not None else DataReport()
    return split(load_dir(DATA, report) + load_translated(TRANSLATED, report))


def to_article(a: LabeledArticle) -> Article:
    paragraphs = [Paragraph(i, s, e, line) for i, (line, s, e) in enumerate(a.lines)]
    return Article(text=a.text, id=a.id, source_kind="semeval", paragraphs=paragraphs)


@dataclass
class Judged:
    """Detections with what held-out annotation says of them."""

    paragraph: list[float] = field(default_factory=list)  # a label's score
    right: list[float] = field(default_factory=list)  # 1 if the paragraph's gold has it
    span: list[float] = field(default_factory=list)  # a span's score
    precision: list[float] = field(default_factory=list)  # its character precision
    span_label: list[float] = field(default_factory=list)  # its paragraph label's score

    def extend(self, other: Judged) -> None:
        for f in dataclasses.fields(self):
            getattr(self, f.name).extend(getattr(other, f.name))


def judge(analysis: Analysis, gold: LabeledArticle) -> Judged:
    """Each paragraph label and span of ``analysis`` against ``gold``'s annotation. The English
    annotation never marks four techniques: there, detections of them are not judged."""
    out = Judged()
    unjudged = set(NOT_IN_ENGLISH) if gold.source == "en" else set()
    labels = {p.index: p.techniques for p in analysis.paragraphs}
    for p in analysis.article.paragraphs:
        if p.line not in gold.paragraph_labels:
            continue
        truth = set(gold.paragraph_labels[p.line])
        for t, score in labels.get(p.index, {}).items():
            if t not in unjudged:
                out.paragraph.append(score)
                out.right.append(float(t in truth))
    if gold.source == "en" and gold.annotated:
        spans = merge_spans(gold.spans)
        for s in analysis.spans:
            para = analysis.article.paragraph_at(s.start)
            if s.technique in unjudged or para is None:
                continue
            out.span.append(s.score)
            out.precision.append(char_precision(s.start, s.end, spans.get(s.technique, [])))
            out.span_label.append(labels.get(para.index, {}).get(s.technique, s.score))
    return out


def raw_judged(model: OnnxModel, articles: list[LabeledArticle]) -> Judged:
    """Judged detections with the heads' raw scores (no confidence map)."""
    shown, model.confidence = model.confidence, Confidence()
    out = Judged()
    try:
        for i, a in enumerate(articles):
            out.extend(judge(model.analyze(to_article(a), "en"), a))
            print(f"\r  {i + 1}/{len(articles)} articles", end="", file=sys.stderr, flush=True)
    finally:
        model.confidence = shown
        print(file=sys.stderr)
    return out


def fit(tune: Judged) -> Confidence:
    return Confidence(paragraph=fit_platt(np.array(tune.paragraph), np.array(tune.right)),
                      span=fit_platt(np.array(tune.span), np.array(tune.precision)))


def levels(confidence: Confidence, val: Judged, where: str) -> dict:
    """What each level's detections were worth on ``val``: the share of paragraph labels
    right, and the mean character precision of spans."""
    para = confidence.paragraph(np.array(val.paragraph))
    span_level = [level_of(float(x)) for x in confidence.paragraph(np.array(val.span_label))]
    out: dict = {"measured_on": where}
    right, precision = np.array(val.right), np.array(val.precision)
    for name in ("likely", "possible"):
        on = np.array([level_of(float(x)) == name for x in para], dtype=bool)
        spans = np.array([lv == name for lv in span_level], dtype=bool)
        out[name] = {
            "labels": int(on.sum()),
            "labels_right": round(float(right[on].mean()), 3) if on.any() else None,
            "spans": int(spans.sum()),
            "span_precision": round(float(precision[spans].mean()), 3) if spans.any() else None,
        }
    return out


def report(title: str, scores: np.ndarray, targets: np.ndarray) -> dict:
    """Print a reliability table (bins of 0.2) and return it with its expected calibration error."""
    bins = reliability(scores, targets)
    ece = expected_calibration_error(bins)
    print(f"{title}: {len(scores)} detections, expected calibration error {ece:.3f}")
    print("  score bin    count  mean score  observed  gap")
    for b in bins:
        flag = "" if b.count < 30 or abs(b.mean_score - b.observed) <= 0.10 else "  > 0.10"
        print(f"  {b.low:.1f}-{b.high:.1f}  {b.count:>8}  {b.mean_score:>10.3f}  {b.observed:>8.3f}"
              f"  {b.observed - b.mean_score:+.3f}{flag}")
    return {"ece": round(ece, 4), "bins": [dataclasses.asdict(b) for b in bins]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "unspin" / "model" / "default")
    ap.add_argument("--write", action="store_true", help="write the fitted maps into the model's model.json")
    args = ap.parse_args()
    parts = shared_splits()
    model = load_uncached(args.model)
    print(f"tune: {len(parts['tune'])} articles; val: {len(parts['val'])}", file=sys.stderr)
    tune, val = raw_judged(model, parts["tune"]), raw_judged(model, parts["val"])
    confidence = fit(tune)
    where = (f"validation split ({len(parts['val'])} articles, read as English news; "
             f"spans: its {sum(a.source == 'en' for a in parts['val'])} English articles)")
    confidence = dataclasses.replace(confidence, levels=levels(confidence, val, where),
                                     fitted_on=f"tuning split ({len(parts['tune'])} articles)")
    for name, c in (("raw", Confidence()), ("mapped", confidence)):
        report(f"paragraph labels, {name}", c.paragraph(np.array(val.paragraph)), np.array(val.right))
        report(f"spans, {name} (observed: character precision)", c.span(np.array(val.span)),
               np.array(val.precision))
    print(json.dumps(confidence.to_meta(), indent=1))
    if args.write:
        write_meta(args.model, dataclasses.replace(read_meta(args.model), confidence=confidence.to_meta()))
        print(f"wrote {args.model / 'model.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
