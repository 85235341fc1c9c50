"""The whole recipe behind ``unspin train``: fine-tune, export, refit, calibrate, (install);
or calibrate an exported model again.

Each stage skips work that is already done in ``out_dir``, so an interrupted run is
resumed by running the same command again.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from tqdm import tqdm

from . import density
from .calibrate import (
    calibrate,
    phrase_level_techniques,
    sentence_level_techniques,
    write_base_meta,
)
from .data import DataReport, load_unlabelled, split
from .export import export
from .loop import TrainConfig, encoder_dir, load_all, train
from .refit import refit

SHIPPED = ("encoder.onnx", "heads.npz", "tokenizer.json", "model.json")


def run(cfg: TrainConfig, *, model_id: str, version: str, install_to: Path | None = None) -> Path:
    out = Path(cfg.out_dir)
    weights = out / "best.pt"
    done = out / "metrics.jsonl"
    finished = done.exists() and sum(1 for _ in done.open()) >= cfg.epochs
    if not finished:
        weights = train(cfg)
    model_dir = out / "model"
    if not (model_dir / "encoder.onnx").exists() or (model_dir / "encoder.onnx").stat().st_mtime < weights.stat().st_mtime:
        print("exporting to ONNX (int8)...", file=sys.stderr)
        export(weights, model_dir, encoder_dir(cfg))
        (model_dir / "refit.json").unlink(missing_ok=True)  # new encoder: refit its heads again
    parts = split(load_all(cfg, DataReport()), seed=cfg.seed)
    if not (model_dir / "refit.json").exists():
        write_base_meta(model_dir, model_id=model_id, version=version)
        decisions = refit(model_dir, parts, log=lambda m: print(m, file=sys.stderr))
        (model_dir / "refit.json").write_text(json.dumps(decisions))
    _calibrate(model_dir, parts, Path(cfg.data_dir), model_id=model_id, version=version, install_to=install_to)
    return model_dir


def recalibrate(cfg: TrainConfig, model_dir: Path, *, model_id: str, version: str,
                install_to: Path | None = None) -> Path:
    """Calibrate an exported, refitted model again, with no training or refit: for a change
    in the decoding or in the calibration rules, which leaves the weights as they are."""
    parts = split(load_all(cfg, DataReport()), seed=cfg.seed)
    _calibrate(model_dir, parts, Path(cfg.data_dir), model_id=model_id, version=version, install_to=install_to)
    return model_dir


def _calibrate(model_dir: Path, parts: dict, data_dir: Path, *, model_id: str, version: str,
               install_to: Path | None) -> None:
    bar = tqdm(total=len(parts["tune"]), desc="calibrating on the tuning split", file=sys.stderr)
    target = load_unlabelled(data_dir)
    calibrate(model_dir, parts["tune"], model_id=model_id, version=version,
              sentence_level=sentence_level_techniques(parts["train"]),
              phrase_level=phrase_level_techniques(parts["train"]), target=target,
              progress=lambda: bar.update(1),
              log=lambda line: bar.write(line, file=sys.stderr))
    bar.close()
    density.apply(model_dir, target, density.reporting_guide(parts), log=lambda line: print(line, file=sys.stderr))
    if install_to is not None and install_to.resolve() != model_dir.resolve():
        install_to.mkdir(parents=True, exist_ok=True)
        for name in SHIPPED:
            shutil.copy(model_dir / name, install_to / name)
        print(f"installed the model into {install_to}", file=sys.stderr)

