"""Refit the heads that pool over whole paragraphs and articles.

During fine-tuning these heads see one window at a time; at inference they pool over a
whole paragraph or article. Refitting them on exactly the inference-time features
(computed with the shipped int8 encoder) removes that mismatch. Three further choices
make them transfer to the news users bring:

- the paragraph head learns one offset per technique for the translated articles, whose
  annotators labelled about twice as densely as the English ones (``heads.STYLES``);
- the paragraph head may average the encoder's view with a view of the paragraph's words
  and word pairs (``heads.ParagraphWords``);
- the genre head may read how the article is written and which words it uses
  (``TextFeatures``) instead of the encoder, which has memorised the training genres;
- the frame head may average the encoder's view with the words' view.

Every choice is made on the tuning split against the jointly trained head; the
validation split is never read here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from ..evaluation import best_threshold, macro_f1_single
from ..model import load_uncached
from ..model.heads import ParagraphWords, article_mean, paragraph_features, sigmoid
from ..model.runtime import OnnxModel
from ..model.text_features import TextFeatures, Tfidf
from ..model.windows import token_paragraphs
from ..taxonomy import FRAME_NAMES, GENRE_NAMES, TECHNIQUE_NAMES
from .data import LabeledArticle

TEXT_C_GRID = (0.1, 0.3, 1.0, 3.0)
PARAGRAPH_L2 = (100.0, 300.0)  # L2 strength over ~20,000 standardised paragraphs
WORDS_C_GRID = (4.0, 10.0)  # inverse L2 strength of the paragraph words view
WORDS_SHARE_GRID = (0.35, 0.5)  # its share of the averaged paragraph logits
WORDS_MAX_TERMS = 20000  # words and word pairs; 50,000 measured no better on tune
WORDS_MT_SCALE = 3.0  # the translated-row indicator's value: a lightly penalised offset


@dataclass
class Pooled:
    """One article's inference-time features."""

    article: LabeledArticle
    mean: np.ndarray  # [H] mean encoder output over the article
    paragraphs: np.ndarray  # [P, 2H+T], every line of the article
    labelled: list[tuple[int, np.ndarray]]  # (paragraph index, gold [T]) for labelled lines

    @property
    def translated(self) -> bool:
        return self.article.style == "mt"


def pool(model: OnnxModel, a: LabeledArticle) -> Pooled:
    t_index = {n: i for i, n in enumerate(TECHNIQUE_NAMES)}
    enc, hidden = model.hidden(a.text)
    w = model.heads.w
    probs = sigmoid(hidden @ w["token_w"].T + w["token_b"])
    tp = token_paragraphs(enc.offsets, [(s, e) for _, s, e in a.lines])
    paras = paragraph_features(hidden, probs, tp, len(a.lines))
    labelled = []
    for i, (line, _, _) in enumerate(a.lines):
        if line in a.paragraph_labels:
            g = np.zeros(len(TECHNIQUE_NAMES), dtype=np.float32)
            g[[t_index[n] for n in a.paragraph_labels[line]]] = 1
            labelled.append((i, g))
    return Pooled(a, article_mean(hidden), paras, labelled)


def paragraph_rows(ps: list[Pooled]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The labelled paragraphs: features [R, 2H+T], gold [R, T], translated [R], texts."""
    rows = [(p.paragraphs[i], g, p.translated, p.article.text[slice(*p.article.lines[i][1:])])
            for p in ps for i, g in p.labelled]
    return (np.stack([x for x, _, _, _ in rows]), np.stack([g for _, g, _, _ in rows]),
            np.array([m for _, _, m, _ in rows], dtype=np.float32), [t for _, _, _, t in rows])


def fit_ovr(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest logistic regressions as one linear layer."""
    w = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
    b = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            m = LogisticRegression(C=c, max_iter=3000).fit(x, y[:, j])
            w[j], b[j] = m.coef_[0], m.intercept_[0]
        else:
            b[j] = 10.0 if y[:, j].mean() > 0.5 else -10.0
    return w, b


def fit_styled(x: np.ndarray, y: np.ndarray, translated: np.ndarray, l2: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multi-label logistic regression with one extra bias per class for translated rows:
    (w, b, mt_b). One full-batch L-BFGS run (sklearn's one-vs-rest takes minutes per class
    at this size)."""
    import torch

    mu, sd = x.mean(0), x.std(0) + 1e-4
    xs = torch.tensor((x - mu) / sd, dtype=torch.float32)
    ys = torch.tensor(y, dtype=torch.float32)
    mt = torch.tensor(translated, dtype=torch.float32)[:, None]
    k = y.shape[1]
    w = torch.zeros(k, x.shape[1], requires_grad=True)
    b = torch.zeros(k, requires_grad=True)
    d = torch.zeros(k, requires_grad=True)
    opt = torch.optim.LBFGS([w, b, d], max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = xs @ w.T + b + d * mt
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, ys) * k + 0.5 * l2 * (w**2).sum() / len(xs)
        loss.backward()
        return loss

    opt.step(closure)
    wn = w.detach().numpy() / sd  # fold the standardisation into the layer
    bn = b.detach().numpy() - wn @ mu
    return wn.astype(np.float32), bn.astype(np.float32), d.detach().numpy().astype(np.float32)


def fit_words(x, y: np.ndarray, translated: np.ndarray, c: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One logistic regression per technique over sparse TF-IDF rows ``x``, with an
    indicator column for translated rows whose weight becomes the translated offset:
    (w, b, mt_b)."""
    from scipy.sparse import csr_matrix, hstack

    xm = hstack([x, csr_matrix(translated[:, None] * WORDS_MT_SCALE)]).tocsr()
    k = y.shape[1]
    w = np.zeros((k, x.shape[1]), dtype=np.float32)
    b, mt_b = np.zeros(k, dtype=np.float32), np.zeros(k, dtype=np.float32)
    for j in range(k):
        if 0 < y[:, j].sum() < len(y):
            m = LogisticRegression(C=c, max_iter=3000).fit(xm, y[:, j])
            w[j], b[j], mt_b[j] = m.coef_[0, :-1], m.intercept_[0], m.coef_[0, -1] * WORDS_MT_SCALE
        else:
            b[j] = 10.0 if y[:, j].mean() > 0.5 else -10.0
    return w, b, mt_b


def fit_genre(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    # Balanced classes: the head must not lean on the training prior (mostly opinion).
    m = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(x, y)
    w = np.zeros((len(GENRE_NAMES), x.shape[1]), dtype=np.float32)
    b = np.full(len(GENRE_NAMES), -10.0, dtype=np.float32)  # a class never seen: never chosen
    if len(m.classes_) == 2:
        w[m.classes_[1]], b[m.classes_[1]] = m.coef_[0], m.intercept_[0]
        b[m.classes_[0]] = 0.0
    else:
        w[m.classes_], b[m.classes_] = m.coef_, m.intercept_
    return w, b


def tuned_micro_f1(probs: np.ndarray, gold: np.ndarray, per_class: bool = True) -> float:
    """Micro-F1 with each class (or all classes together) at its best threshold, as
    calibration will do."""
    grid = np.arange(0.05, 0.96, 0.05)
    g = gold > 0
    if not per_class:
        return best_threshold(probs, g, grid)[1]
    pred = np.zeros_like(g)
    for j in range(g.shape[1]):
        pred[:, j] = probs[:, j] >= best_threshold(probs[:, j], g[:, j], grid)[0]
    return float(2 * (pred & g).sum() / max(pred.sum() + g.sum(), 1))


def _progress(name: str, n: int):
    done = [0]

    def tick() -> None:
        done[0] += 1
        print(f"\r  pooling ({name}): {done[0]}/{n}", end="" if done[0] < n else "\n",
              file=sys.stderr, flush=True)
    return tick


def refit(model_dir: Path, parts: dict[str, list[LabeledArticle]], log=print) -> dict[str, str]:
    """Refit the paragraph, genre and frame heads in ``model_dir/heads.npz``."""
    model = load_uncached(model_dir)
    heads: dict[str, np.ndarray] = dict(model.heads.w)
    if model.heads.genre_reads_text:  # refitting a refitted model: start from what it reads
        heads["genre_input"] = np.array("text")
    pooled: dict[str, list[Pooled]] = {}
    for name in ("train", "tune"):
        tick = _progress(name, len(parts[name]))
        pooled[name] = []
        for a in parts[name]:
            pooled[name].append(pool(model, a))
            tick()
    decisions: dict[str, str] = {}

    # 1. Paragraph techniques, with the translated-annotation offset. The criterion weighs
    #    the English and the translated tuning articles equally: users bring English news.
    (xp, yp, mp, tp), (xpu, ypu, mpu, tpu) = paragraph_rows(pooled["train"]), paragraph_rows(pooled["tune"])

    def para_score(logits: np.ndarray) -> float:
        probs = sigmoid(logits)
        return float(np.mean([tuned_micro_f1(probs[mpu == m], ypu[mpu == m]) for m in (0, 1) if (mpu == m).any()]))
    best_f = para_score(xpu @ heads["paragraph_w"].T + heads["paragraph_b"])
    log(f"paragraph head: joint {best_f:.3f} micro-F1 on tune (mean of English and translated)")
    for l2 in PARAGRAPH_L2:
        pw, pb, pd = fit_styled(xp, yp, mp, l2)
        f = para_score(xpu @ pw.T + pb + mpu[:, None] * pd)
        log(f"paragraph head: refit with translated offset, L2={l2}: {f:.3f} (mean offset {pd.mean():+.2f})")
        if f > best_f:
            best_f, heads["paragraph_w"], heads["paragraph_b"], heads["paragraph_mt_b"] = f, pw, pb, pd
            decisions["paragraph"] = f"refit with translated offset, L2={l2}"
    encoder_view = xpu @ heads["paragraph_w"].T + heads["paragraph_b"] + mpu[:, None] * heads.get(
        "paragraph_mt_b", np.zeros(len(TECHNIQUE_NAMES), dtype=np.float32))

    # 1b. The words view, averaged with the encoder's.
    tfidf = Tfidf.fit(tp, min_df=2, max_terms=WORDS_MAX_TERMS, ngrams=2)
    xw, xwu = tfidf.matrix(tp), tfidf.matrix(tpu)
    for c in WORDS_C_GRID:
        ww, wb, wd = fit_words(xw, yp, mp, c)
        words_view = np.asarray(xwu @ ww.T) + wb + mpu[:, None] * wd
        log(f"paragraph head: words view alone, C={c}: {para_score(words_view):.3f}")
        for share in WORDS_SHARE_GRID:
            f = para_score((1 - share) * encoder_view + share * words_view)
            log(f"paragraph head: averaged with the words view, C={c}, share {share}: {f:.3f}")
            if f > best_f:
                best_f, words = f, ParagraphWords(tfidf, ww, wb, wd, share)
                decisions["paragraph_words"] = f"words view, C={c}, share {share}"
    if "paragraph_words" in decisions:
        heads.update(words.weights())

    # 2. Article heads: the encoder's mean output (joint heads) or text features fitted on
    #    the training articles.
    text = TextFeatures.fit([a.text for a in parts["train"]], [len(a.lines) for a in parts["train"]])
    x_text = {s: np.stack([text(a.text, len(a.lines)) for a in parts[s]]) for s in ("train", "tune")}
    x_mean = {s: np.stack([p.mean for p in pooled[s]]) for s in ("train", "tune")}

    # 3. Genre. Calibration then fits the temperature and the news-mix prior on tune.
    def genre_rows(split: str) -> tuple[list[int], np.ndarray]:
        idx = [i for i, a in enumerate(parts[split]) if a.genre]
        return idx, np.array([GENRE_NAMES.index(parts[split][i].genre) for i in idx])  # type: ignore[arg-type]
    labels = list(range(len(GENRE_NAMES)))
    (it, yt), (iu, yu) = genre_rows("train"), genre_rows("tune")
    current = x_text["tune"] if model.heads.genre_reads_text else x_mean["tune"]
    best_f = macro_f1_single((current[iu] @ heads["genre_w"].T + heads["genre_b"]).argmax(1).tolist(),
                             yu.tolist(), labels)
    log(f"genre head: current {best_f:.3f} macro-F1 on tune")
    for c in TEXT_C_GRID:
        gw, gb = fit_genre(x_text["train"][it], yt, c)
        f = macro_f1_single((x_text["tune"][iu] @ gw.T + gb).argmax(1).tolist(), yu.tolist(), labels)
        log(f"genre head: text features, C={c}: {f:.3f} macro-F1 on tune")
        if f > best_f:
            best_f, heads["genre_w"], heads["genre_b"] = f, gw, gb
            heads["genre_input"] = np.array("text")
            decisions["genre"] = f"text features, C={c}"

    # 4. Frames: the joint head alone, or averaged with a text head.
    def frame_rows(split: str) -> tuple[list[int], np.ndarray]:
        idx = [i for i, a in enumerate(parts[split]) if a.frames is not None]
        return idx, np.array([[f in (parts[split][i].frames or []) for f in FRAME_NAMES] for i in idx], float)
    (ft, yft), (fu, yfu) = frame_rows("train"), frame_rows("tune")
    joint = x_mean["tune"][fu] @ heads["frame_w"].T + heads["frame_b"]
    best_f = tuned_micro_f1(sigmoid(joint), yfu, per_class=False)
    log(f"frame head: joint {best_f:.3f} micro-F1 on tune")
    for c in TEXT_C_GRID:
        fw, fb = fit_ovr(x_text["train"][ft], yft, c * 10)  # frames have far more positives per class
        f = tuned_micro_f1(sigmoid((joint + x_text["tune"][fu] @ fw.T + fb) / 2), yfu, per_class=False)
        log(f"frame head: joint averaged with text features, C={c * 10}: {f:.3f}")
        if f > best_f:
            best_f, heads["frame_text_w"], heads["frame_text_b"] = f, fw, fb
            decisions["frames"] = f"joint averaged with text features, C={c * 10}"
    if "genre_input" in heads or "frame_text_w" in heads:
        heads.update(text.weights())
    np.savez_compressed(model_dir / "heads.npz", **heads)
    return decisions
