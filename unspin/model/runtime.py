"""Inference with ONNX Runtime, the tokenizers library and numpy: no torch.

A model directory holds ``model.json`` (:mod:`.meta`: id, version, label names, window,
calibration temperatures, tuned thresholds, inference settings), ``encoder.onnx``,
``heads.npz`` and ``tokenizer.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..document import Analysis, Article, ParagraphLabels, Span
from ..errors import ModelError
from .confidence import Confidence, level_of
from .decode import decode_article, with_evidence
from .heads import HeadOutputs, Heads, HeadStream, sigmoid, softmax
from .meta import Inference, ModelMeta, read_meta
from .windows import (
    Encoded,
    encode,
    load_tokenizer,
    owned_rows,
    ownership,
    plan_windows,
    token_paragraphs,
    window_batch,
)

# Windows per encoder call. The int8 encoder quantizes each call's activations with one
# scale, so a window's output depends a little on the windows beside it: articles of up to
# LONG_ARTICLE_WINDOWS windows (about 12,500 tokens, 9,000 words) go MAX_BATCH_WINDOWS at a
# time, as they always did; longer ones LONG_BATCH_WINDOWS at a time, because ONNX Runtime's
# memory grows with the call (measured on a 12 KB article: 8 windows a call +133 MB, 4 +81
# MB, 2 +34 MB above a one-window article).
MAX_BATCH_WINDOWS = 8
LONG_ARTICLE_WINDOWS = 64
LONG_BATCH_WINDOWS = 2


@dataclass
class Scores:
    """Calibrated probabilities of every head for one article, before thresholds."""

    encoded: Encoded
    token_para: np.ndarray  # [N]
    token: np.ndarray  # [N, T]
    paragraph: np.ndarray  # [P, T]
    genre: np.ndarray  # [G]
    frames: np.ndarray  # [F]


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
        self.phrase_level = np.array([t in th.phrase_level for t in self.techniques])
        ev = th.evidence  # word thresholds of the techniques it applies to; 2.0: never
        self.evidence: tuple[np.ndarray, np.ndarray] | None = None
        if ev:
            shares = ev.get("shares", {})
            self.evidence = (np.array([float(ev["word"].get(t, 2.0)) for t in self.techniques]),
                             np.array([float(shares.get(t, ev["share"])) for t in self.techniques]))

    def _session(self, encoder: str | None, threads: int) -> Any:
        path = self.directory / (encoder or self.meta.encoder)
        try:
            return inference_session(path, threads)
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelError(f"Could not load the model's encoder {path}: {err}") from err

    # -- raw outputs --------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """How many tokens the model reads in ``text`` (tokenized a piece at a time)."""
        return len(encode(self.tokenizer, text).ids)

    def hidden(self, text: str) -> tuple[Encoded, np.ndarray]:
        """Tokens of ``text`` and the encoder's output for each, [N, H] (for training: an
        analysis streams it, :meth:`logits`)."""
        enc = encode(self.tokenizer, text)
        rows = list(self._encoder_rows(enc.ids))
        hidden = np.concatenate(rows) if rows else np.zeros((0, self.heads.w["token_w"].shape[1]), dtype=np.float32)
        return enc, hidden

    def _encoder_rows(self, ids: np.ndarray, pooled: Pooled | None = None) -> Iterator[np.ndarray]:
        """The encoder's output for successive tokens, a batch of windows at a time: each
        token's row from the window that owns it (``windows.ownership``); ``pooled`` adds up
        every window's token states as they come (the article's embedding)."""
        windows = plan_windows(len(ids), self.window_tokens, self.stride) if len(ids) else []
        owned = ownership(windows)
        size = MAX_BATCH_WINDOWS if len(windows) <= LONG_ARTICLE_WINDOWS else LONG_BATCH_WINDOWS
        for i in range(0, len(windows), size):
            batch = windows[i : i + size]
            input_ids, mask = window_batch(ids, batch)
            out = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
            if pooled is not None:
                pooled.add(out, mask)
            yield owned_rows(out, batch, owned[i : i + len(batch)])

    def logits(self, text: str, bounds: list[tuple[int, int]], style: str = "en",
               pooled: Pooled | None = None) -> tuple[Encoded, np.ndarray, HeadOutputs]:
        """Every head's logits; the encoder's output streams through the heads, so memory
        grows with a batch of windows, not with the text."""
        enc = encode(self.tokenizer, text)
        token_para = token_paragraphs(enc.offsets, bounds)
        stream = HeadStream(self.heads, token_para, len(bounds))
        for rows in self._encoder_rows(enc.ids, pooled):
            stream.add(rows)
        return enc, token_para, stream.finish(bounds, text, style)

    def scores(self, text: str, bounds: list[tuple[int, int]], style: str = "en",
               pooled: Pooled | None = None) -> Scores:
        enc, token_para, out = self.logits(text, bounds, style, pooled)
        t = self.temperature
        token = np.divide(out.token, t.get("token", 1.0), out=out.token)  # in place: [N, T] is long
        return Scores(
            encoded=enc,
            token_para=token_para,
            token=sigmoid(token, out=token),
            paragraph=sigmoid(out.paragraph / t.get("paragraph", 1.0)),
            genre=genre_probs(out.genre, text, t.get("genre", 1.0), self.genre_bias,
                              self.inference.genre_full_words),
            frames=sigmoid(out.frames / t.get("frames", 1.0)),
        )

    def lexical(self, text: str, bounds: list[tuple[int, int]], offsets: np.ndarray) -> np.ndarray | None:
        words = self.heads.words
        return words.contributions(text, bounds, offsets) if words is not None else None

    def group_lexical(self, text: str, bounds: list[tuple[int, int]], s: Scores
                      ) -> Callable[[tuple[int, int], tuple[int, int]], np.ndarray | None]:
        """The words view of a group of paragraphs [pa, pb) and their tokens [a, b): the
        decoder asks for it a group at a time, so a long article never holds it whole."""
        offsets = s.encoded.offsets

        def lexical(paragraphs: tuple[int, int], tokens: tuple[int, int]) -> np.ndarray | None:
            return self.lexical(text, bounds[slice(*paragraphs)], offsets[slice(*tokens)])

        return lexical

    # -- decisions ----------------------------------------------------------------------
    def _explained(self, spans: list[Span], shown: np.ndarray, article: Article) -> list[Span]:
        """Spans with their displayed confidence and level. The decoder's score (the
        paragraph's probability, shared out by strength) becomes the expected character
        precision; the level is the paragraph label's."""
        index = {name: i for i, name in enumerate(self.techniques)}
        out = []
        for sp in spans:
            para = article.paragraph_at(sp.start)
            label = float(shown[para.index if para else 0, index[sp.technique]])
            out.append(Span(sp.technique, sp.start, sp.end, round(float(self.confidence.span(sp.score)), 4),
                            level_of(label), sp.evidence))
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
            self.span_gaps, self.peak_share, self.sentence_level, self.group_lexical(article.text, bounds, s),
            self.inference.repeated_only, self.phrase_level,
        )
        shown = self.confidence.paragraph(paragraph)  # [P, T] what a reader is told
        paragraphs = [
            ParagraphLabels(
                index=p.index,
                techniques={self.techniques[t]: round(float(shown[i, t]), 4) for t in np.flatnonzero(on[i])},
            )
            for i, p in enumerate(article.paragraphs)
        ]
        spans = self._explained(spans, shown, article)
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
