"""The span head: chosen rows come from the projected-spans fit, the rest stay the token head's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unspin.taxonomy import TECHNIQUE_NAMES

span_head = pytest.importorskip("unspin.train.span_head")


def _heads(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    t, h = len(TECHNIQUE_NAMES), 8
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    heads = {"token_w": rng.normal(size=(t, h)).astype(np.float32), "token_b": rng.normal(size=t).astype(np.float32),
             "frame_b": np.zeros(3, np.float32)}
    np.savez_compressed(model_dir / "heads.npz", **heads)
    fit = {"token_w": rng.normal(size=(t, h)).astype(np.float32), "token_b": rng.normal(size=t).astype(np.float32),
           "token_mt_b": rng.normal(size=t).astype(np.float32)}
    np.savez(tmp_path / "fit.npz", **fit)
    return model_dir, tmp_path / "fit.npz", fit


def test_only_the_chosen_rows_come_from_the_fit(tmp_path: Path) -> None:
    model_dir, fit_path, fit = _heads(tmp_path)
    with np.load(model_dir / "heads.npz") as d:
        before = {k: d[k] for k in d.files}
    rows = ["Name_Calling-Labeling", "Appeal_to_Time"]
    span_head.write_span_head(model_dir, fit_path, rows)
    with np.load(model_dir / "heads.npz") as d:
        after = {k: d[k] for k in d.files}
    for k, v in before.items():  # nothing else changes
        assert np.array_equal(after[k], v), k
    for i, name in enumerate(TECHNIQUE_NAMES):
        if name in rows:
            assert np.array_equal(after["span_w"][i], fit["token_w"][i])
            assert after["span_b"][i] == fit["token_b"][i] and after["span_mt_b"][i] == fit["token_mt_b"][i]
        else:
            assert np.array_equal(after["span_w"][i], before["token_w"][i])
            assert after["span_b"][i] == before["token_b"][i] and after["span_mt_b"][i] == 0.0
    span_head.write_span_head(model_dir, fit_path, rows)  # again: the same file contents
    with np.load(model_dir / "heads.npz") as d:
        assert all(np.array_equal(d[k], after[k]) for k in after)


def test_an_unknown_technique_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    model_dir, fit_path, _ = _heads(tmp_path)
    stamp = (model_dir / "heads.npz").read_bytes()
    with pytest.raises(SystemExit, match="Name_Calling"):
        span_head.write_span_head(model_dir, fit_path, ["Name_Calling"])
    assert (model_dir / "heads.npz").read_bytes() == stamp
