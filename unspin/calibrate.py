"""Teach the model a newsroom's own standard from a few dozen judged articles.

:func:`calibrate` refits what so few labels can support, on the base model's own outputs:
the per-technique paragraph thresholds (where the model's ranking is decent but the shift
from its training data to a newsroom's news puts the threshold in the wrong place) and the
maps from raw scores to displayed confidences. Every choice is cross-validated over the
given articles: how far each threshold moves from the base towards the labels' optimum
(none, a quarter, ... all the way) and how strongly the confidence maps hold to the base's
are picked by the out-of-fold score, so the result is never worse on those articles than
the base, as cross-validation can tell. The encoder and heads are not retrained.

Labels come as articles in the SemEval layout with span files, or as reader feedback
(:mod:`unspin.feedback`): a confirmed or added detection says the technique is used in its
paragraph, a disputed one (and nothing confirming it) that it is not, and every other
paragraph and technique stays unknown.
"""

from __future__ import annotations

import dataclasses
import datetime
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import DEFAULT_SETTINGS, Settings
from .document import Article, Span
from .errors import InputError, ModelError, UnspinError
from .evaluation import SpanCounts, char_precision, merge_spans
from .feedback import ArticleJudgements
from .ingest import from_text, load_source
from .model.confidence import Confidence, Platt, fit_platt
from .model.decode import decode_article, evidence_from_peaks, paragraph_peaks
from .model.meta import write_meta
from .model.runtime import OnnxModel, Scores
from .taxonomy import normalize_label

__all__ = ["Labelled", "Outcome", "Prepared", "calibrate", "check_output", "from_feedback", "decide", "fit", "prepare", "read_semeval", "write_model"]

MIN_ARTICLES = 5  # fewer cannot be split into folds that say anything
MIN_POSITIVES = 3  # a technique's threshold moves only with at least this many labelled uses
SHRINK = (0.0, 0.25, 0.5, 0.75, 1.0)  # how far thresholds move towards the labels' optimum
SCALES = tuple(np.round(np.exp(np.linspace(np.log(0.5), np.log(2.0), 21)), 4))  # one factor on all
STRENGTH = (1.0, 10.0, 100.0, 1e6)  # how strongly a refitted confidence map holds to the base
GRID = np.round(np.exp(np.linspace(np.log(0.02), np.log(0.9), 60)), 4)


@dataclass
class Labelled:
    """An article with what a person said about it. ``gold[p]``: the techniques paragraph
    ``p`` uses; ``judged[p]``: the techniques judged there at all (None: every technique,
    a fully annotated paragraph). ``spans``: annotated spans (technique, start, end), if the
    annotation marks them; ``span_verdicts``: (technique, start, end, right) of judged
    detections (feedback)."""

    article: Article
    gold: list[set[str]]
    judged: list[set[str] | None]
    spans: list[tuple[str, int, int]] | None = None
    span_verdicts: list[tuple[str, int, int, bool]] = field(default_factory=list)


@dataclass
class Outcome:
    """What :func:`calibrate` chose and what it measured out of fold."""

    thresholds: dict[str, float]
    confidence: Confidence
    shrink: float  # how far thresholds moved towards each technique's optimum
    scale: float  # the one factor applied to every base threshold first
    base_f1: float  # out-of-fold score of the base model: paragraph micro-F1, with span F1 averaged in if annotated
    calibrated_f1: float  # of the chosen procedure, out of fold
    articles: int
    paragraphs: int
    judgements: int  # (paragraph, technique) pairs the labels speak for
    notes: list[str] = field(default_factory=list)


# -- reading labels ---------------------------------------------------------------------------

def read_semeval(articles_dir: Path, spans_dir: Path, *, settings: Settings = DEFAULT_SETTINGS,
                 problems: Callable[[str], None] = lambda _: None) -> list[Labelled]:
    """Articles ``article<ID>.txt`` with span files ``article<ID>-labels-subtask-3.txt``
    (id, technique, start, end; tab-separated). A paragraph's labels are the techniques of
    the spans that touch it. Noisy rows are reported through ``problems`` and skipped; an
    article without a span file is skipped (an empty file says "no technique")."""
    if not articles_dir.is_dir():
        raise InputError(f"{articles_dir} is not a folder of article<ID>.txt files.")
    if not spans_dir.is_dir():
        raise InputError(f"{spans_dir} is not a folder of article<ID>-labels-subtask-3.txt files.")
    out = []
    for path in sorted(articles_dir.glob("article*.txt")):
        aid = path.stem[len("article"):]
        if not aid.isdigit():
            continue
        labels = spans_dir / f"article{aid}-labels-subtask-3.txt"
        if not labels.exists():
            problems(f"{path.name}: no {labels.name}, skipped")
            continue
        try:
            article = load_source(str(path), settings=settings)[0]
            rows = labels.read_text("utf-8").splitlines()
        except (UnspinError, OSError, UnicodeDecodeError) as err:
            problems(f"{path.name}: {' '.join(str(err).split())} (skipped)")
            continue
        spans = []
        for row in rows:
            parts = row.split("\t")
            if not row.strip():
                continue
            name = normalize_label(parts[1], "technique") if len(parts) == 4 else None
            if name is None or not (parts[2].isdigit() and parts[3].isdigit()):
                problems(f"{labels.name}: unreadable row {row[:60]!r}, skipped")
                continue
            start, end = int(parts[2]), int(parts[3])
            if not 0 <= start < end <= len(article.text):
                problems(f"{labels.name}: span {start}-{end} outside the article, skipped")
                continue
            spans.append((name, start, end))
        gold = [{t for t, s, e in spans if s < p.end and e > p.start} for p in article.paragraphs]
        out.append(Labelled(article, gold, [None] * len(gold), spans))
    return out


def from_feedback(articles: Sequence[ArticleJudgements]) -> list[Labelled]:
    """Reader feedback as labels: a confirmed or added detection says its paragraph uses the
    technique, a disputed one (with nothing confirming it there) that it does not; every other
    paragraph and technique is unknown. A confirmed or disputed span is a verdict on that
    exact highlight, which the span confidence map learns from."""
    out = []
    for a in articles:
        article = from_text(a.text)
        gold: list[set[str]] = [set() for _ in article.paragraphs]
        judged: list[set[str] | None] = [set() for _ in article.paragraphs]
        for j in a.judgements:
            for i, p in enumerate(article.paragraphs):
                if j.start < p.end and j.end > p.start:
                    judged[i].add(j.technique)  # type: ignore[union-attr]
                    if j.verdict in ("confirm", "add"):
                        gold[i].add(j.technique)
        verdicts = [(j.technique, j.start, j.end, j.verdict == "confirm")
                    for j in a.judgements if j.verdict in ("confirm", "dispute")]
        out.append(Labelled(article, gold, judged, None, verdicts))
    return out


# -- the base model's raw outputs -----------------------------------------------------------------

@dataclass
class Prepared:
    labelled: Labelled
    scores: Scores
    lexical: np.ndarray | None  # [N, T] the words view's contribution of each token's word
    peaks: np.ndarray  # [P, T] each paragraph's highest token probability
    known: np.ndarray  # [P, T] which cells the labels speak for
    truth: np.ndarray  # [P, T]


def _prepared(model: OnnxModel, item: Labelled) -> Prepared:
    article = item.article
    bounds = [(p.start, p.end) for p in article.paragraphs]
    s = model.scores(article.text, bounds)
    names = model.techniques
    known = np.array([[j is None or t in j for t in names] for j in item.judged], dtype=bool).reshape(-1, len(names))
    truth = np.array([[t in g for t in names] for g in item.gold], dtype=bool).reshape(-1, len(names))
    return Prepared(item, s, model.lexical(article.text, bounds, s.encoded.offsets),
                    paragraph_peaks(s.token, s.token_para, len(bounds)), known, truth)


def _labels(model: OnnxModel, r: Prepared, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([P, T] probabilities after word evidence, [P, T] decisions) at ``thresholds``."""
    probs = r.scores.paragraph
    if model.evidence is not None:
        probs = evidence_from_peaks(probs, r.peaks, thresholds, model.evidence)
    return probs, probs >= thresholds


@dataclass
class _Cells:
    """Every judged paragraph of some articles, stacked: what threshold fitting reads."""

    probs: np.ndarray  # [C, T]
    word: np.ndarray  # [C, T] True where a word's evidence could turn the label on
    truth: np.ndarray  # [C, T]
    known: np.ndarray  # [C, T]

    @classmethod
    def of(cls, model: OnnxModel, raws: Sequence[Prepared]) -> _Cells:
        n = len(model.techniques)
        probs = np.concatenate([r.scores.paragraph for r in raws]) if raws else np.zeros((0, n))
        peaks = np.concatenate([r.peaks for r in raws]) if raws else np.zeros((0, n))
        word = peaks >= model.evidence[0] if model.evidence is not None else np.zeros_like(peaks, dtype=bool)
        return cls(probs, word,
                   np.concatenate([r.truth for r in raws]) if raws else np.zeros((0, n), dtype=bool),
                   np.concatenate([r.known for r in raws]) if raws else np.zeros((0, n), dtype=bool))

    def on(self, model: OnnxModel, t: int, thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
        """[len(thresholds), C] technique ``t``'s decisions at each of ``thresholds``."""
        q = self.probs[:, t][None, :]
        th = np.asarray(thresholds, dtype=float)[:, None]
        share = model.evidence[1][t] if model.evidence is not None else np.inf
        return (q >= th) | (self.word[:, t][None, :] & (q >= share * th))

    def counts(self, model: OnnxModel, thresholds: np.ndarray) -> np.ndarray:
        """[T, 3] true positives, false positives, false negatives over the known cells."""
        out = np.zeros((len(thresholds), 3))
        for t, th in enumerate(thresholds):
            out[t] = self._tfn(self.on(model, t, [th])[0], t)
        return out

    def _tfn(self, on: np.ndarray, t: int) -> np.ndarray:
        y, k = self.truth[..., t], self.known[..., t]
        return np.array([(on & y & k).sum(-1), (on & ~y & k).sum(-1), (~on & y & k).sum(-1)], dtype=float)

    def scale(self, model: OnnxModel) -> float:
        """The one factor on every base threshold that scores best on these cells: most of the
        shift between the training annotation and a newsroom's is how densely it labels."""
        base = model.paragraph_thresholds
        return float(max(SCALES, key=lambda c: (_micro_f1(self.counts(model, base * c)), -abs(np.log(c)))))

    def fit(self, model: OnnxModel, shrink: float, start: np.ndarray | None = None) -> np.ndarray:
        """Each technique's F1-optimal threshold (if labelled often enough), moved ``shrink``
        of the way from ``start`` (the base's) in log space."""
        base = model.paragraph_thresholds if start is None else start
        out = base.copy()
        if shrink == 0.0:
            return out
        positives = (self.truth & self.known).sum(0)
        for t in (int(i) for i in np.flatnonzero(positives >= MIN_POSITIVES)):
            tp, fp, fn = self._tfn(self.on(model, t, GRID), t)
            best = GRID[int(np.argmax(2 * tp / np.maximum(2 * tp + fp + fn, 1.0)))]
            out[t] = float(np.exp((1 - shrink) * np.log(base[t]) + shrink * np.log(best)))
        return out

    def procedure(self, model: OnnxModel, scaled: bool, shrink: float) -> np.ndarray:
        start = model.paragraph_thresholds * (self.scale(model) if scaled else 1.0)
        return self.fit(model, shrink, start)


def _micro_f1(counts: np.ndarray) -> float:
    tp, fp, fn = counts.sum(0)
    return float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0


def _folds(n: int, k: int, seed: int = 0) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def _label_pairs(model: OnnxModel, raws: Sequence[Prepared], thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw probability and verdict of every shown paragraph label the labels judge."""
    x, y = [], []
    for r in raws:
        probs, on = _labels(model, r, thresholds)
        sel = on & r.known
        x.append(probs[sel])
        y.append(r.truth[sel].astype(float))
    return np.concatenate(x) if x else np.zeros(0), np.concatenate(y) if y else np.zeros(0)


def _span_pairs(model: OnnxModel, raws: Sequence[Prepared], thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw score and character precision of every decoded span the labels judge: against the
    annotated spans, or a reader's verdict on that exact span."""
    x, y = [], []
    for r in raws:
        item = r.labelled
        if item.spans is None and not item.span_verdicts:
            continue
        spans = _decode(model, r, thresholds)
        gold = merge_spans(item.spans or [])
        verdicts = {(t, s, e): ok for t, s, e, ok in item.span_verdicts}
        for sp in spans:
            if item.spans is not None:
                x.append(sp.score)
                y.append(char_precision(sp.start, sp.end, gold.get(sp.technique, [])))
            elif (sp.technique, sp.start, sp.end) in verdicts:
                x.append(sp.score)
                y.append(float(verdicts[(sp.technique, sp.start, sp.end)]))
    return np.array(x), np.array(y)


def decide(model: OnnxModel, r: Prepared, thresholds: np.ndarray) -> tuple[np.ndarray, list[Span]]:
    """[P, T] paragraph decisions and the spans the model shows with ``thresholds``."""
    return _labels(model, r, thresholds)[1], _decode(model, r, thresholds)


def _decode(model: OnnxModel, r: Prepared, thresholds: np.ndarray) -> list[Span]:
    probs, _ = _labels(model, r, thresholds)
    s, article = r.scores, r.labelled.article
    spans, _ = decode_article(
        s.token, probs, s.encoded.offsets, s.encoded.word_ids, s.token_para, model.span_thresholds,
        thresholds, model.techniques, article.text, model.span_gaps, model.peak_share,
        model.sentence_level, r.lexical, model.inference.repeated_only, model.phrase_level,
    )
    return spans


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))) if len(y) else 0.0


def _refit_map(base: Platt, pairs: list[tuple[np.ndarray, np.ndarray]], folds: list[np.ndarray]
               ) -> tuple[Platt, float]:
    """The confidence map refitted on each article's (score, target) ``pairs`` with the pull
    towards ``base`` that predicts held-out folds best (the largest pull keeps the base map)."""
    def stacked(idx: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        return (np.concatenate([pairs[i][0] for i in idx] or [np.zeros(0)]),
                np.concatenate([pairs[i][1] for i in idx] or [np.zeros(0)]))

    def held_out_loss(strength: float) -> float:
        loss, count = 0.0, 0
        for fold in folds:
            x, y = stacked([i for i in range(len(pairs)) if i not in set(fold.tolist())])
            hx, hy = stacked(fold.tolist())
            fitted = fit_platt(x, y, prior=base, strength=strength) if len(x) else base
            loss += _log_loss(fitted(hx), hy) * len(hy)
            count += len(hy)
        return loss / max(count, 1)

    best = min(STRENGTH, key=lambda s: (held_out_loss(s), -s))
    x, y = stacked(range(len(pairs)))
    return (fit_platt(x, y, prior=base, strength=best) if len(x) else base), best


def prepare(model: OnnxModel, labelled: Sequence[Labelled],
            progress: Callable[[int, int], None] = lambda i, n: None) -> list[Prepared]:
    """The base model's raw outputs for each labelled article: the one slow step."""
    out = []
    for i, item in enumerate(labelled):
        out.append(_prepared(model, item))
        progress(i + 1, len(labelled))
    return out


def calibrate(model: OnnxModel, labelled: Sequence[Labelled],
              progress: Callable[[int, int], None] = lambda i, n: None) -> Outcome:
    """Refit ``model``'s thresholds and confidence maps on ``labelled`` articles."""
    if len(labelled) < MIN_ARTICLES:
        raise InputError(
            f"Calibration needs at least {MIN_ARTICLES} labelled articles to cross-validate its "
            f"choices; {len(labelled)} given."
        )
    return fit(model, prepare(model, labelled, progress))


def fit(model: OnnxModel, raws: Sequence[Prepared]) -> Outcome:
    """:func:`calibrate` on outputs :func:`prepare` made."""
    positives = int(sum((r.truth & r.known).sum() for r in raws))
    judgements = int(sum(r.known.sum() for r in raws))
    if positives == 0:
        raise InputError("The labels mark no technique at all: there is nothing to calibrate on.")
    folds = _folds(len(raws), min(5, len(raws)))

    splits = [([raws[i] for i in fold],
               _Cells.of(model, [r for i, r in enumerate(raws) if i not in set(fold.tolist())]),
               _Cells.of(model, [raws[i] for i in fold])) for fold in folds]
    with_spans = any(r.labelled.spans is not None for r in raws)

    def out_of_fold(choice: tuple[bool, float]) -> tuple[float, np.ndarray]:
        """Paragraph micro-F1 out of fold, averaged with span F1 where spans are annotated (a
        move that adds labels also adds highlights, and those must not get worse): pooled
        over the folds, and fold by fold."""
        pooled, pooled_spans, each = np.zeros((len(model.techniques), 3)), SpanCounts(), []
        for held_raws, rest, held in splits:
            th = rest.procedure(model, *choice)
            counts, spans = held.counts(model, th), SpanCounts()
            for r in held_raws:
                if r.labelled.spans is not None:
                    spans.add([(s.technique, s.start, s.end) for s in _decode(model, r, th)], r.labelled.spans)
            pooled += counts
            for name in ("p_credit", "r_credit", "n_pred", "n_gold"):
                setattr(pooled_spans, name, getattr(pooled_spans, name) + getattr(spans, name))
            each.append((_micro_f1(counts) + spans.f1) / 2 if with_spans else _micro_f1(counts))
        score = (_micro_f1(pooled) + pooled_spans.f1) / 2 if with_spans else _micro_f1(pooled)
        return score, np.array(each)

    choices = [(scaled, s) for scaled in (False, True) for s in SHRINK]
    results = {c: out_of_fold(c) for c in choices}
    scored = {c: r[0] for c, r in results.items()}
    best = max(choices, key=lambda c: (scored[c], not c[0], -c[1]))  # ties: the smaller move
    # A move must beat the base by more than the folds' own noise (one standard error of the
    # fold-by-fold gain): with a handful of articles a lucky fold must not move the model.
    gain = results[best][1] - results[(False, 0.0)][1]
    noise = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else np.inf
    choice = best if scored[best] - scored[(False, 0.0)] > 0 and gain.mean() > noise else (False, 0.0)
    cells = _Cells.of(model, raws)
    thresholds = cells.procedure(model, *choice)
    shrink = choice[1]
    notes = []
    if choice == (False, 0.0):
        notes.append("No threshold moved: out of fold, no move beat the base model on these articles "
                     "by more than the noise between folds.")
    paragraph, _ = _refit_map(model.confidence.paragraph,
                              [_label_pairs(model, [r], thresholds) for r in raws], folds)
    span, _ = _refit_map(model.confidence.span, [_span_pairs(model, [r], thresholds) for r in raws], folds)
    if not any(r.labelled.spans is not None or r.labelled.span_verdicts for r in raws):
        notes.append("No span was judged: the span confidence map is the base model's.")
    confidence = dataclasses.replace(model.confidence, paragraph=paragraph, span=span,
                                     fitted_on=f"{len(raws)} labelled articles (unspin calibrate)")
    return Outcome(
        thresholds=dict(zip(model.techniques, (round(float(t), 4) for t in thresholds), strict=True)),
        paragraphs=sum(len(r.known) for r in raws),
        confidence=confidence, shrink=shrink, scale=cells.scale(model) if choice[0] else 1.0,
        base_f1=scored[(False, 0.0)], calibrated_f1=scored[choice],
        articles=len(raws), judgements=judgements, notes=notes,
    )


def check_output(model: OnnxModel, out_dir: Path) -> None:
    """InputError unless ``out_dir`` can take a calibrated model: checked before the slow part."""
    if out_dir.resolve() == model.directory.resolve():
        raise InputError(f"{out_dir} is the base model's own folder: write the calibrated model elsewhere.")
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / "model.json").exists())):
        raise InputError(f"{out_dir} exists and is not a model folder: give an empty or new folder.")


def write_model(model: OnnxModel, outcome: Outcome, out_dir: Path, *, source: str) -> Path:
    """A complete model directory: the base's encoder, heads and tokenizer, and a
    ``model.json`` with the refitted thresholds and maps and where they came from."""
    base = model.directory
    check_output(model, out_dir)
    meta = model.meta
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in {meta.encoder, "heads.npz", "tokenizer.json"}:
            shutil.copyfile(base / name, out_dir / name)
    except OSError as err:
        raise ModelError(f"Could not write the calibrated model to {out_dir}: {err}") from err
    assert meta.thresholds is not None  # a model that analyses has them
    write_meta(out_dir, dataclasses.replace(
        meta,
        version=f"{model.version}+calibrated",
        thresholds=dataclasses.replace(meta.thresholds, paragraph=outcome.thresholds),
        confidence=outcome.confidence.to_meta(),
        provenance={
            "base_model": f"{model.id} {model.version}",
            "calibrated": datetime.date.today().isoformat(),
            "source": source,
            "articles": outcome.articles,
            "judgements": outcome.judgements,
            "threshold_scale": outcome.scale,
            "threshold_shrink": outcome.shrink,
            "score_out_of_fold": {"base": round(outcome.base_f1, 4), "calibrated": round(outcome.calibrated_f1, 4)},
        },
    ))
    return out_dir
