"""model.json as one object: what the runtime reads is what training writes, and a file this
unspin cannot read is a clear ModelError, never a silent default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from unspin.document import Article
from unspin.errors import ModelError
from unspin.model import DEFAULT_DIR
from unspin.model.meta import FORMAT, Inference, ModelMeta, read_meta, write_meta
from unspin.model.runtime import OnnxModel
from unspin.taxonomy import FRAME_NAMES, GENRE_NAMES, TECHNIQUE_NAMES

needs_model = pytest.mark.skipif(not (DEFAULT_DIR / "model.json").exists(), reason="no shipped model")


def _shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEFAULT_DIR / "model.json").read_text("utf-8"))
    return data


def _model_dir(tmp_path: Path, meta: dict[str, Any]) -> Path:
    for name in ("encoder.onnx", "heads.npz", "tokenizer.json"):
        (tmp_path / name).symlink_to(DEFAULT_DIR / name)
    (tmp_path / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    return tmp_path


@needs_model
def test_the_shipped_file_round_trips() -> None:
    data = _shipped()
    assert data["format"] == FORMAT
    meta = ModelMeta.from_dict(data)
    assert meta.inference == Inference()  # trained with the defaults, now written out
    assert data["inference"] == {
        "repeated_only": ["Repetition"], "genre_full_words": 150, "style_weight": 0.3, "style_clip": 3.0,
    }
    assert meta.thresholds is not None and meta.thresholds.peak_share == data["thresholds"]["peak_share"]
    written = meta.to_dict()
    assert written == data and list(written) == list(data)


def test_written_then_read_is_the_same(tmp_path: Path) -> None:
    meta = ModelMeta(
        id="m", version="1", techniques=TECHNIQUE_NAMES, frames=FRAME_NAMES, genres=GENRE_NAMES,
        inference=Inference(repeated_only=(), genre_full_words=80, style_weight=0.5, style_clip=2.0),
        confidence={"span": {"x": [0.1, 0.2]}}, quality={"Doubt": {"tp": 3, "fp": 1, "fn": 2}},
        provenance={"base": "unspin-minilm-semeval23 2.6.0", "articles": 40, "judgements": 310},
    )
    write_meta(tmp_path, meta)
    assert read_meta(tmp_path) == meta
    assert "confidence" not in ModelMeta(id="m", version="1", techniques=(), frames=(), genres=()).to_dict()


@pytest.mark.parametrize("fmt", [2, 0])
def test_an_unknown_format_is_refused(fmt: int) -> None:
    data = {**_minimal(), "format": fmt}
    with pytest.raises(ModelError, match=f"format {fmt} and this unspin reads format 1"):
        ModelMeta.from_dict(data)


def test_no_format_is_format_1() -> None:
    assert ModelMeta.from_dict(_minimal()).id == "m"


def _minimal() -> dict[str, Any]:
    return {"id": "m", "version": "1", "techniques": ["Doubt"], "frames": ["Political"],
            "genres": ["opinion"], "window": {"tokens": 254, "stride": 192}}


@pytest.mark.parametrize(("damage", "said"), [
    (lambda d: d.pop("window"), "has no 'window'"),
    (lambda d: d["window"].pop("stride"), "has no 'stride'"),
    (lambda d: d.update(techniques="Doubt"), "'techniques' is 'Doubt', not a list"),
    (lambda d: d["thresholds"]["span"].pop("Doubt"), "'span' has no value for Doubt"),
    (lambda d: d["thresholds"]["frames"].pop("Political"), "'frames' has no value for Political"),
    (lambda d: d["thresholds"].pop("peak_share"), "has no 'peak_share'"),
    (lambda d: d["thresholds"].update(evidence={"share": 0.5}), "has no 'word'"),
    (lambda d: d.update(inference={"repeated_only": []}), "has no 'genre_full_words'"),
    (lambda d: d.update(quality=[1]), "'quality' is \\[1\\], not a dict"),
])
def test_a_broken_file_says_what_is_wrong(damage: Any, said: str) -> None:
    data = _minimal()
    data["thresholds"] = {"span": {"Doubt": 0.5}, "span_gap": {"Doubt": 0}, "paragraph": {"Doubt": 0.3},
                          "frames": {"Political": 0.4}, "peak_share": 0.3}
    ModelMeta.from_dict(data)  # valid as it is
    damage(data)
    with pytest.raises(ModelError, match=f"The model is missing or broken: .*{said}"):
        ModelMeta.from_dict(data)


@needs_model
def test_an_uncalibrated_model_loads_but_does_not_decide(tmp_path: Path) -> None:
    """What training writes before calibrating (write_base_meta) is enough to read raw outputs."""
    calibrate = pytest.importorskip("unspin.train.calibrate")
    model_dir = _model_dir(tmp_path, {})
    written = calibrate.write_base_meta(model_dir, model_id="fresh", version="0.0.1")
    assert read_meta(model_dir) == written and written.thresholds is None
    assert written.window.tokens == 254 and written.to_dict()["format"] == FORMAT
    model = OnnxModel(model_dir)
    assert model.scores("Some words here.", [(0, 16)]).token.shape[1] == len(TECHNIQUE_NAMES)
    with pytest.raises(ModelError, match="not calibrated"):
        model.analyze(Article(text="Some words here."))


@needs_model
def test_the_runtime_applies_the_inference_settings(tmp_path: Path) -> None:
    meta = _shipped()
    meta["inference"] = {"repeated_only": [], "genre_full_words": 150, "style_weight": 0.6, "style_clip": 3.0}
    model = OnnxModel(_model_dir(tmp_path, meta))
    assert model.inference.repeated_only == ()
    assert model.heads.text is not None and model.heads.text.style_weight == 0.6


@needs_model
def test_a_technique_may_have_its_own_evidence_share(tmp_path: Path) -> None:
    """``thresholds.evidence.shares`` overrides the shared share for the techniques it names;
    written back as read."""
    meta = _shipped()
    meta["thresholds"]["evidence"]["shares"] = {"Name_Calling-Labeling": 0.15}
    model_dir = _model_dir(tmp_path, meta)
    model = OnnxModel(model_dir)
    assert model.evidence is not None
    shares = dict(zip(model.techniques, model.evidence[1], strict=True))
    assert shares["Name_Calling-Labeling"] == 0.15
    assert shares["Doubt"] == meta["thresholds"]["evidence"]["share"]
    assert read_meta(model_dir).to_dict()["thresholds"]["evidence"]["shares"] == {"Name_Calling-Labeling": 0.15}
    meta["thresholds"]["evidence"]["shares"] = {"Name_Calling-Labeling": "low"}
    with pytest.raises(ModelError, match="shares"):
        ModelMeta.from_dict(meta)
