"""``unspin train``: the training recipe as a command (needs the ``train`` extra)."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli_common import handle_errors
from ..model import DEFAULT_DIR
from .loop import TrainConfig
from .pipeline import recalibrate, run


@click.command("train")
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="SemEval-2023 Task 3 English data (the data/en directory).")
@click.option("--translated", "translated_dir", type=click.Path(exists=True, file_okay=False),
              help="The multilingual data with English translations (semeval2023task3-multilingual).")
@click.option("--projected", type=click.Path(exists=True, dir_okay=False),
              help="spans.jsonl of `python -m unspin.train.project`: the translated articles' spans as token "
                   "targets (with --translated).")
@click.option("--projected-weight", "w_projected", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="Token loss weight of the projected spans (the English spans weigh 1).")
@click.option("--out", "out_dir", default="runs/default", show_default=True,
              help="Run directory: checkpoints, metrics.jsonl, train.log, the exported model.")
@click.option("--epochs", default=6, show_default=True)
@click.option("--seed", default=13, show_default=True, help="Seeds the split, the shuffling and the initialisation.")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--lr", default=8e-5, show_default=True, help="Encoder learning rate.")
@click.option("--mil", "w_mil", default=0.0, show_default=True,
              help="Weight of the translated paragraphs' labels on their pooled token logits (0: off).")
@click.option("--init-from", type=click.Path(exists=True, dir_okay=False),
              help="Continue from these weights (a run's best.pt) with a fresh schedule.")
@click.option("--model-id", default="unspin-minilm-semeval23", show_default=True)
@click.option("--model-version", default="1.0.0", show_default=True)
@click.option("--install", is_flag=True, help=f"Copy the calibrated model into the package ({DEFAULT_DIR}).")
@click.option("--recalibrate", "recalibrate_dir", type=click.Path(exists=True, file_okay=False),
              help="Only calibrate this exported model directory again (no training, no refit).")
@handle_errors
def train_command(data_dir: str, translated_dir: str | None, projected: str | None, w_projected: float, out_dir: str, epochs: int, seed: int, batch_size: int, lr: float,
                  w_mil: float, init_from: str | None, model_id: str, model_version: str, install: bool,
                  recalibrate_dir: str | None) -> None:
    """Fine-tune, export to int8 ONNX, refit and calibrate the persuasion model.

    Run the same command again after an interruption: it resumes from the last checkpoint.
    """
    if projected and not translated_dir:
        raise click.UsageError("--projected needs --translated: the spans belong to the translated articles")
    cfg = TrainConfig(data_dir=data_dir, translated_dir=translated_dir, projected=projected, out_dir=out_dir,
                      epochs=epochs, seed=seed, batch_size=batch_size, lr=lr, w_mil=w_mil, init_from=init_from,
                      w_projected=w_projected)
    install_to = DEFAULT_DIR if install else None
    if recalibrate_dir:
        model_dir = recalibrate(cfg, Path(recalibrate_dir), model_id=model_id, version=model_version,
                                install_to=install_to)
    else:
        model_dir = run(cfg, model_id=model_id, version=model_version, install_to=install_to)
    click.echo(f"model: {model_dir}")
