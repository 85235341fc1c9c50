"""Inference with ONNX Runtime, the tokenizers library and numpy: no torch.

A model directory holds ``model.json`` (:mod:`.meta`: id, version, label names, window,
calibration temperatures, tuned thresholds, inference settings), ``encoder.onnx``,
``heads.npz`` and ``tokenizer.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..document import Analysis, Article, ParagraphLabels, Span
from ..errors import ModelError
from .confidence import Confidence, level_of
from .decode import decode_article, evidence_words, with_evidence
from .heads import HeadOutputs, Heads, sigmoid, softmax
from .meta import Inference, ModelMeta, read_meta
from .windows import (
    Encoded,
    encode,
    load_tokenizer,
    plan_windows,
    stitch,
    token_paragraphs,
    window_batch,
)

MAX_BATCH_WINDOWS = 8  # windows per encoder call: bounds memory on very long articles


@dataclass
class Scores:
    """Calibrated probabilities of every head for one article, before thresholds."""

    encoded: Encoded
    token_para: np.ndarray  # [N]
    token: np.ndarray  # [N, T]
    paragraph: np.ndarray  # [P, T]
    genre: np.ndarray  # [G]
    frames: np.ndarray  # [F]
    lexical: np.ndarray | None  # [N, T] the words view's contribution of each token's word


class OnnxModel:
    """The persuasion model. Load once, call :meth:`analyze` per article; thread-safe."""

    def __init__(
        self, directory: str | Path, *, encoder: str | None = None, threads: int = 0,
        session: Any = None,
    ) -> None:
        """``threads``: of one analysis (0: one per core; ``Settings.threads``). ``session``:
        anything with ONNX Runtime's ``run(None, feeds)``, instead of loading ``encoder.onnx``
        (the speed benchmark passes a torch encoder)."""
        self.directory = Path(directory)
        self.meta: ModelMeta = read_meta(self.directory)
        try:
            with np.load(self.directory / "heads.npz") as data:
                self.heads = Heads({k: data[k] for k in data.files}, self.meta.inference)
            self.tokenizer = load_tokenizer(self.directory / "tokenizer.json")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ModelError(f"The model in {self.directory} is missing or broken ({err!r}).") from err
        self._decisions(self.meta)
        self.session = session or self._session(encoder, threads)

    def _decisions(self, meta: ModelMeta) -> None:
        """The meta as the arrays the decoder reads, one entry per output column."""
        self.id, self.version = meta.id, meta.version
        self.techniques, self.frame_names, self.genre_names = meta.techniques, meta.frames, meta.genres
        self.temperature = meta.temperature
        self.inference: Inference = meta.inference
        self.window_tokens, self.stride = meta.window.tokens, meta.window.stride
        self.genre_bias = np.array([meta.genre_bias.get(g, 0.0) for g in self.genre_names])
        self.confidence = Confidence.from_meta(meta.confidence)
        th = meta.thresholds
        if th is None:  # not calibrated yet: training reads its raw outputs, nobody its decisions
            return
        self.span_thresholds = np.array([th.span[t] for t in self.techniques])
        self.span_gaps = np.array([th.span_gap[t] for t in self.techniques])
        self.paragraph_thresholds = np.array([th.paragraph[t] for t in self.techniques])
        self.frame_thresholds = np.array([th.frames[f] for f in self.frame_names])
        self.peak_share = th.peak_share
        self.sentence_level = np.array([t in th.sentence_level for t in self.techniques])
        ev = th.evidence  # word thresholds of the techniques it applies to; 2.0: never
        self.evidence: tuple[np.ndarray, float] | None = None
        if ev:
            self.evidence = (np.array([float(ev["word"].get(t, 2.0)) for t in self.techniques]), float(ev["share"]))

    def _session(self, encoder: str | None, threads: int) -> Any:
        path = self.directory / (encoder or self.meta.encoder)
        try:
            return inference_session(path, threads)
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelError(f"Could not load the model's encoder {path}: {err}") from err

    # -- raw outputs --------------------------------------------------------------------
    def hidden(self, text: str, pooled: Pooled | None = None) -> tuple[Encoded, np.ndarray]:
        """Tokens of ``text`` and the encoder's output for each, [N, H]; ``pooled`` adds up
        every window's token states as they come (the article's embedding)."""
        enc = encode(self.tokenizer, text)
        n = len(enc.ids)
        if n == 0:
            return enc, np.zeros((0, self.heads.w["token_w"].shape[1]), dtype=np.float32)
        windows = plan_windows(n, self.window_tokens, self.stride)
        parts = []
        for i in range(0, len(windows), MAX_BATCH_WINDOWS):
            ids, mask = window_batch(enc.ids, windows[i : i + MAX_BATCH_WINDOWS])
            parts.append(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
            if pooled is not None:
                pooled.add(parts[-1], mask)
        return enc, self._stitch(parts, windows, n)

    def logits(self, text: str, bounds: list[tuple[int, int]], style: str = "en",
               pooled: Pooled | None = None) -> tuple[Encoded, np.ndarray, HeadOutputs]:
        enc, hidden = self.hidden(text, pooled)
        token_para = token_paragraphs(enc.offsets, bounds)
        return enc, token_para, self.heads(hidden, token_para, bounds, text, style)

    @staticmethod
    def _stitch(parts: list[np.ndarray], windows: list[tuple[int, int]], n: int) -> np.ndarray:
        length = max(p.shape[1] for p in parts)
        padded = [np.pad(p, ((0, 0), (0, length - p.shape[1]), (0, 0))) for p in parts]
        return stitch(np.concatenate(padded), windows, n)

    def scores(self, text: str, bounds: list[tuple[int, int]], style: str = "en",
               pooled: Pooled | None = None) -> Scores:
        enc, token_para, out = self.logits(text, bounds, style, pooled)
        t = self.temperature
        return Scores(
            encoded=enc,
            token_para=token_para,
            token=sigmoid(out.token / t.get("token", 1.0)),
            paragraph=sigmoid(out.paragraph / t.get("paragraph", 1.0)),
            genre=genre_probs(out.genre, text, t.get("genre", 1.0), self.genre_bias,
                              self.inference.genre_full_words),
            frames=sigmoid(out.frames / t.get("frames", 1.0)),
            lexical=self.lexical(text, bounds, enc.offsets),
        )

    def lexical(self, text: str, bounds: list[tuple[int, int]], offsets: np.ndarray) -> np.ndarray | None:
        words = self.heads.words
        return words.contributions(text, bounds, offsets) if words is not None else None

    # -- decisions ----------------------------------------------------------------------
    def _explained(self, spans: list[Span], shown: np.ndarray, article: Article, s: Scores) -> list[Span]:
        """Spans with their displayed confidence, level and evidence words. The decoder's
        score (the paragraph's probability, shared out by strength) becomes the expected
        character precision; the level is the paragraph label's."""
        words = evidence_words(spans, s.token, s.lexical, s.encoded.offsets, s.encoded.word_ids,
                               self.techniques, article.text)
        index = {name: i for i, name in enumerate(self.techniques)}
        out = []
        for sp, said in zip(spans, words, strict=True):
            para = article.paragraph_at(sp.start)
            label = float(shown[para.index if para else 0, index[sp.technique]])
            out.append(Span(sp.technique, sp.start, sp.end, round(float(self.confidence.span(sp.score)), 4),
                            level_of(label), said))
        return out

    def analyze(self, article: Article, style: str = "en", *, embedding: bool = False) -> Analysis:
        """``style`` "mt" predicts the denser labelling of the translated SemEval data; it
        exists to score the model against those annotations, never for users' news.
        ``embedding``: also the article's embedding, from the same encoder pass."""
        if self.meta.thresholds is None:
            raise ModelError(f"The model in {self.directory} is not calibrated: run unspin train --recalibrate.")
        bounds = [(p.start, p.end) for p in article.paragraphs] or [(0, len(article.text))]
        pooled = Pooled() if embedding else None
        s = self.scores(article.text, bounds, style, pooled)
        paragraph = with_evidence(s.paragraph, s.token, s.token_para, self.paragraph_thresholds, self.evidence,
                                  style)
        spans, on = decode_article(
            s.token, paragraph, s.encoded.offsets, s.encoded.word_ids, s.token_para,
            self.span_thresholds, self.paragraph_thresholds, self.techniques, article.text,
            self.span_gaps, self.peak_share, self.sentence_level, s.lexical, self.inference.repeated_only,
        )
        shown = self.confidence.paragraph(paragraph)  # [P, T] what a reader is told
        paragraphs = [
            ParagraphLabels(
                index=p.index,
                techniques={self.techniques[t]: round(float(shown[i, t]), 4) for t in np.flatnonzero(on[i])},
            )
            for i, p in enumerate(article.paragraphs)
        ]
        spans = self._explained(spans, shown, article, s)
        frames_on = np.flatnonzero(s.frames >= self.frame_thresholds)
        if len(frames_on) == 0:
            frames_on = np.array([int(s.frames.argmax())])  # every article has a frame
        frames_on = frames_on[np.argsort(-s.frames[frames_on])]
        return Analysis(
            article=article,
            spans=spans,
            paragraphs=paragraphs,
            genre=self.genre_names[int(s.genre.argmax())],
            genre_scores={g: round(float(p), 4) for g, p in zip(self.genre_names, s.genre, strict=True)},
            frames=[self.frame_names[i] for i in frames_on],
            frame_scores={f: round(float(p), 4) for f, p in zip(self.frame_names, s.frames, strict=True)},
            model_id=self.id,
            model_version=self.version,
            levels=dict(self.confidence.levels),
            embedding=pooled.embedding() if pooled is not None else None,
        )


class Pooled:
    """The mean of an article's token states over every window (overlaps counted twice,
    the special tokens included), unit length, as float16 bytes: what the corpus clusters
    topics by."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.count = 0.0

    def add(self, states: np.ndarray, mask: np.ndarray) -> None:
        weights = mask[..., None].astype(np.float32)
        summed = (np.asarray(states, dtype=np.float32) * weights).sum(axis=(0, 1))
        self.total = summed if self.total is None else self.total + summed
        self.count += float(weights.sum())

    def embedding(self) -> bytes | None:
        if self.total is None or not self.count:
            return None
        vector = self.total / self.count
        norm = float(np.linalg.norm(vector)) or 1.0
        return (vector / norm).astype(np.float16).tobytes()


def inference_session(path: Path, threads: int = 0) -> Any:
    """An ONNX Runtime session for an int8 encoder that computes the same on every x86 CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Without VNNI (AVX2, or AVX-512 before Cascade Lake) the fast int8 kernel adds pairs of
    # products in 16 bits and saturates: the encoder's outputs, and so the detections, then
    # depend on the CPU (on the English validation articles span F1 fell from 0.176 to 0.166).
    # The exact kernel costs some time there and nothing where VNNI exists.
    options.add_session_config_entry("session.x64quantprecision", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def genre_probs(logits: np.ndarray, text: str, temperature: float, bias: np.ndarray,
                full_words: int = Inference.genre_full_words) -> np.ndarray:
    """Calibrated genre probabilities of one article (calibration computes them the same way
    to correct the prior). How far the head's own evidence counts against the news-mix prior
    grows with length, up to ``full_words`` words: a few words cannot make a report or an
    op-ed (the head read a five-word note as satire)."""
    evidence = min(1.0, len(text.split()) / full_words)
    return softmax(logits / temperature * evidence + bias)
