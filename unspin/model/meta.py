"""The model's file format: ``model.json``, read by the runtime, written by training.

A model directory holds ``model.json``, ``encoder.onnx`` (or the file ``encoder`` names),
``heads.npz`` and ``tokenizer.json``. :class:`ModelMeta` is ``model.json``: the runtime
reads it with :func:`read_meta`, training writes it with :func:`write_meta`
(``train/calibrate.py``), and nothing else parses the file. Its keys::

    format          1 (FORMAT); a newer one is refused. Absent: 1 (models before 2.6.0).
    id, version     the model's name and version, shown in every analysis.     required
    encoder         the ONNX file in the directory (default "encoder.onnx").
    techniques, frames, genres
                    the label of each output column, in order.                 required
    window          {"tokens": 254, "stride": 192}: encoder windows of ``tokens``
                    tokens (+ [CLS] and [SEP]), overlapping by tokens - stride.  required
    temperature     {"token", "paragraph", "frames", "genre"}: calibration of each head
                    (a head not named: 1.0, uncalibrated).
    genre_bias      {genre: log-prior correction} (a genre not named: 0.0).
    thresholds      absent until calibration (``write_base_meta``); then all of:
      span          {technique: word probability a span needs}                 every technique
      span_gap      {technique: tokens under threshold a span may bridge}      every technique
      paragraph     {technique: paragraph probability a label needs}           every technique
      frames        {frame: probability a frame needs}                         every frame
      peak_share    a label no span clears is shown on the words keeping this share of
                    the paragraph's peak
      sentence_level [techniques shown on whole sentences] (default: none)
      phrase_level  [techniques never shown on a single word: one grows to its sentence]
                    (default, and absent before 2.7.1: none)
      evidence      {"word": {technique: word probability}, "share": s}: a word this sure
                    turns a paragraph label on if the paragraph is at ``s`` of its
                    threshold; null or absent: never. Optional "shares": {technique: s}
                    for a technique whose span head was tuned apart (absent before 2.8.0)
    inference       settings the runtime applies as training chose them; absent in models
                    before format 1, which were all trained with the defaults below:
      repeated_only    techniques shown only on what the article says twice (["Repetition"])
      genre_full_words words from which the genre head's evidence counts fully (150)
      style_weight, style_clip
                       scale (0.3) and clip (3.0 standard deviations) of the style
                       features beside the words' TF-IDF vector
    tuned_on        what the thresholds were tuned on (a line for the model card).
    confidence, quality, provenance
                    optional sections kept as they are (plain JSON objects): calibration
                    maps of displayed confidences; per-technique precision/recall counts on
                    held-out articles; the base model and the articles and judgements a local
                    ``unspin calibrate`` used.

A key that is required and missing, a value of the wrong type, a threshold missing for a
label, or an unknown or newer format is a :class:`~unspin.errors.ModelError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError

__all__ = [
    "DEFAULT_INFERENCE",
    "FORMAT",
    "Inference",
    "ModelMeta",
    "Thresholds",
    "Window",
    "read_meta",
    "write_meta",
]

FORMAT = 1
FILE = "model.json"
OPTIONAL_SECTIONS = ("confidence", "quality", "provenance")


@dataclass(frozen=True)
class Window:
    """Encoder windows: ``tokens`` tokens each (+ [CLS] and [SEP]), one every ``stride``."""

    tokens: int = 254  # + [CLS] and [SEP] = 256 positions
    stride: int = 192


@dataclass(frozen=True)
class Inference:
    """Settings the runtime applies as training chose them (see the module docstring)."""

    repeated_only: tuple[str, ...] = ("Repetition",)
    genre_full_words: int = 150  # every article of the tuning split is longer
    style_weight: float = 0.3  # the style features' scale beside the unit-length word vector
    style_clip: float = 3.0  # standard deviations: a five-word note is not "very short, so satire"


DEFAULT_INFERENCE = Inference()


@dataclass(frozen=True)
class Thresholds:
    """The decoder's calibrated decisions (see the module docstring)."""

    span: dict[str, float]
    span_gap: dict[str, int]
    paragraph: dict[str, float]
    frames: dict[str, float]
    peak_share: float
    sentence_level: tuple[str, ...] = ()
    phrase_level: tuple[str, ...] = ()
    evidence: dict[str, Any] | None = None  # {"word": {technique: p}, "share": s}


@dataclass(frozen=True)
class ModelMeta:
    """``model.json`` as one object; :meth:`to_dict` writes what :meth:`from_dict` reads."""

    id: str
    version: str
    techniques: tuple[str, ...]
    frames: tuple[str, ...]
    genres: tuple[str, ...]
    window: Window = Window()
    encoder: str = "encoder.onnx"
    temperature: dict[str, float] = field(default_factory=dict)
    genre_bias: dict[str, float] = field(default_factory=dict)
    thresholds: Thresholds | None = None  # None: not calibrated yet
    inference: Inference = DEFAULT_INFERENCE
    tuned_on: str | None = None
    confidence: dict[str, Any] | None = None
    quality: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Any, where: str = "The model") -> ModelMeta:
        """The meta in ``data`` (parsed ``model.json``); ModelError says what is wrong,
        naming the model as ``where``."""
        try:
            return cls._from_dict(data, where)
        except _Broken as err:
            raise ModelError(f"{where} is missing or broken: {err}.") from None

    @classmethod
    def _from_dict(cls, data: Any, where: str) -> ModelMeta:
        d = _Reader(data, "model.json")
        fmt = d.get("format", int, 1)
        if fmt != FORMAT:
            hint = "upgrade unspin" if fmt > FORMAT else "it was not written by unspin"
            raise ModelError(
                f"{where} is in format {fmt} and this unspin reads format {FORMAT}: {hint}."
            )
        techniques = d.names("techniques")
        frames = d.names("frames")
        window = d.section("window")
        thresholds = None
        if "thresholds" in data:
            th = d.section("thresholds")
            ev = th.get("evidence", dict, None)
            if ev is not None:
                ev_reader = _Reader(ev, "thresholds.evidence")
                ev = {"word": ev_reader.numbers("word", float), "share": ev_reader.require("share", float)}
                shares = ev_reader.numbers("shares", float, optional=True)
                if shares:
                    ev["shares"] = shares
            thresholds = Thresholds(
                span=th.per_label("span", techniques, float),
                span_gap=th.per_label("span_gap", techniques, int),
                paragraph=th.per_label("paragraph", techniques, float),
                frames=th.per_label("frames", frames, float),
                peak_share=th.require("peak_share", float),
                sentence_level=th.names("sentence_level") if "sentence_level" in th.data else (),
                phrase_level=th.names("phrase_level") if "phrase_level" in th.data else (),
                evidence=ev,
            )
        inference = DEFAULT_INFERENCE
        if "inference" in data:
            inf = d.section("inference")
            inference = Inference(
                repeated_only=inf.names("repeated_only"),
                genre_full_words=inf.require("genre_full_words", int),
                style_weight=inf.require("style_weight", float),
                style_clip=inf.require("style_clip", float),
            )
        return cls(
            id=d.require("id", str),
            version=d.require("version", str),
            techniques=techniques,
            frames=frames,
            genres=d.names("genres"),
            window=Window(tokens=window.require("tokens", int), stride=window.require("stride", int)),
            encoder=d.get("encoder", str, "encoder.onnx"),
            temperature=d.numbers("temperature", float, optional=True),
            genre_bias=d.numbers("genre_bias", float, optional=True),
            thresholds=thresholds,
            inference=inference,
            tuned_on=d.get("tuned_on", str, None),
            **{name: d.get(name, dict, None) for name in OPTIONAL_SECTIONS},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``model.json``: every setting written out, optional sections only when set."""
        out: dict[str, Any] = {
            "format": FORMAT,
            "id": self.id,
            "version": self.version,
            "encoder": self.encoder,
            "techniques": list(self.techniques),
            "frames": list(self.frames),
            "genres": list(self.genres),
            "window": {"tokens": self.window.tokens, "stride": self.window.stride},
            "inference": {
                "repeated_only": list(self.inference.repeated_only),
                "genre_full_words": self.inference.genre_full_words,
                "style_weight": self.inference.style_weight,
                "style_clip": self.inference.style_clip,
            },
        }
        if self.temperature:
            out["temperature"] = dict(self.temperature)
        if self.genre_bias:
            out["genre_bias"] = dict(self.genre_bias)
        th = self.thresholds
        if th is not None:
            out["thresholds"] = {
                "paragraph": dict(th.paragraph),
                "frames": dict(th.frames),
                "span": dict(th.span),
                "span_gap": dict(th.span_gap),
                "peak_share": th.peak_share,
                "sentence_level": list(th.sentence_level),
                **({"phrase_level": list(th.phrase_level)} if th.phrase_level else {}),
                "evidence": th.evidence,
            }
        if self.tuned_on is not None:
            out["tuned_on"] = self.tuned_on
        for name in OPTIONAL_SECTIONS:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


def read_meta(directory: str | Path) -> ModelMeta:
    """The meta of the model in ``directory``; ModelError when it is missing or broken."""
    path = Path(directory) / FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"The model in {directory} is missing or broken ({err!r}).") from err
    return ModelMeta.from_dict(data, f"The model in {directory}")


def write_meta(directory: str | Path, meta: ModelMeta) -> None:
    """Write ``meta`` as ``model.json`` in ``directory``."""
    (Path(directory) / FILE).write_text(json.dumps(meta.to_dict(), indent=1))


class _Broken(Exception):
    """What is wrong with model.json, said by :meth:`ModelMeta.from_dict` as a ModelError."""


class _Reader:
    """Typed access to one JSON object of ``model.json``, with errors that name the key."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise _Broken(f"{where} is not a JSON object")
        self.data, self.where = data, where

    def _check(self, key: str, value: Any, kind: type) -> Any:
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise _Broken(f"{self.where} key {key!r} is {value!r}, not a {kind.__name__}")
        return value

    def require(self, key: str, kind: type) -> Any:
        if key not in self.data:
            raise _Broken(f"{self.where} has no {key!r}")
        return self._check(key, self.data[key], kind)

    def get(self, key: str, kind: type, default: Any) -> Any:
        value = self.data.get(key)
        return default if value is None else self._check(key, value, kind)

    def section(self, key: str) -> _Reader:
        return _Reader(self.require(key, dict), f"{self.where} {key!r}")

    def names(self, key: str) -> tuple[str, ...]:
        values = self.require(key, list)
        return tuple(self._check(key, v, str) for v in values)

    def numbers(self, key: str, kind: type, *, optional: bool = False) -> dict[str, Any]:
        if optional and key not in self.data:
            return {}
        section = self.section(key)
        return {str(k): section._check(k, v, kind) for k, v in section.data.items()}

    def per_label(self, key: str, labels: tuple[str, ...], kind: type) -> dict[str, Any]:
        values = self.numbers(key, kind)
        missing = [label for label in labels if label not in values]
        if missing:
            raise _Broken(f"{self.where} {key!r} has no value for {', '.join(missing)}")
        return values
