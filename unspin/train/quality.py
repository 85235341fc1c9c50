"""The model's measured errors, per technique, as counts: what ``unspin corpus`` needs to turn
detection rates into estimated true prevalence (:mod:`unspin.corpus.stats`).

The counts are paragraph labels on the held-out validation split of
:func:`unspin.train.data.split` (English and translated articles, shaped like users' news),
every article read the way users' news is, in the English style, and scored on all
techniques: for each technique, true positives (paragraphs the model and the annotators both
give it), false positives and false negatives. Counts, not ratios, so a reader can put
their own uncertainty on precision and recall (the corpus layer draws them from Beta
posteriors).

    python -m unspin.train.quality --write unspin/model/default/model.json
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..document import Article, Paragraph
from ..model.meta import read_meta, write_meta
from ..taxonomy import TECHNIQUE_NAMES
from .data import DataReport, LabeledArticle, load_dir, load_translated, split

__all__ = ["paragraph_counts", "quality_section"]

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _article(a: LabeledArticle) -> Article:
    paragraphs = [Paragraph(i, s, e, line) for i, (line, s, e) in enumerate(a.lines)]
    return Article(text=a.text, id=a.id, source_kind="semeval", paragraphs=paragraphs)


def paragraph_counts(
    predicted: list[dict[int, list[str]]], articles: list[LabeledArticle]
) -> dict[str, dict[str, int]]:
    """Per technique, {"tp", "fp", "fn"} over the labelled paragraphs of ``articles``;
    ``predicted[i]``: line number -> techniques the model gives that paragraph."""
    out = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TECHNIQUE_NAMES}
    for pred, a in zip(predicted, articles, strict=True):
        for line, gold in a.paragraph_labels.items():
            p, g = set(pred.get(line, ())), set(gold)
            for t in p | g:
                if t in out:
                    out[t]["tp" if t in p and t in g else "fp" if t in p else "fn"] += 1
    return out


def quality_section(model: Any, articles: list[LabeledArticle], source: str) -> dict[str, Any]:
    """The ``"quality"`` section of a model.json: the model's paragraph-label counts on
    ``articles``, each read in the English style."""
    predicted = []
    for i, a in enumerate(articles):
        analysis = model.analyze(_article(a), "en")
        lines = {p.index: p.line for p in analysis.article.paragraphs}
        predicted.append({lines[p.index]: list(p.techniques) for p in analysis.paragraphs})
        print(f"\r  quality: {i + 1}/{len(articles)} articles", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    english = [dataclasses.replace(a, source="en") for a in articles]
    return {
        "source": source,
        "articles": len(articles),
        "paragraphs": sum(len(a.paragraph_labels) for a in articles),
        "unit": "paragraph",
        "techniques": paragraph_counts(predicted, english),
    }


def main(argv: list[str] | None = None) -> None:
    from ..model import load_uncached

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", type=Path, required=True, help="the model.json to fill (its directory is the model)")
    ap.add_argument("--data", type=Path, default=DATA, help="folder holding semeval2023task3[-multilingual]")
    args = ap.parse_args(argv)
    english = args.data / "semeval2023task3" / "data" / "en"
    if not english.is_dir():
        sys.exit(f"The training data is not at {english}.")
    report = DataReport()
    pool = load_dir(english, report)
    translated = args.data / "semeval2023task3-multilingual"
    if translated.is_dir():
        pool += load_translated(translated, report)
    val = split(pool)["val"]
    model = load_uncached(args.write.parent)
    section = quality_section(
        model, val, "validation split of unspin.train.data.split (seed 13), read as English news"
    )
    write_meta(args.write.parent, dataclasses.replace(read_meta(args.write.parent), quality=section))
    print(f"wrote the quality of {model.id} {model.version} ({len(val)} articles) into {args.write}")


if __name__ == "__main__":
    main()
