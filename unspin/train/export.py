"""Export trained weights to what ships: an int8 ONNX encoder, numpy heads, the tokenizer.

The heads stay outside the ONNX graph: they are small matrix products that inference does
in numpy, and keeping them out lets calibration and thresholds change without a re-export.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .net import PersuasionNet


class _Encoder(nn.Module):
    def __init__(self, net: PersuasionNet) -> None:
        super().__init__()
        self.encoder = net.encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def load_net(weights: Path, encoder_dir: str) -> PersuasionNet:
    net = PersuasionNet(encoder_dir)
    if weights.exists():
        state = torch.load(weights, map_location="cpu", weights_only=False)
        net.load_weights(state["model"])
    net.eval()
    return net


def export(weights: Path, out_dir: Path, encoder_dir: str, *, quantize: bool = True) -> Path:
    """Write encoder.onnx (int8 unless ``quantize=False``), encoder.fp32.onnx, heads.npz,
    tokenizer.json into ``out_dir``; return the path of the encoder to ship."""
    out_dir.mkdir(parents=True, exist_ok=True)
    net = load_net(weights, encoder_dir)
    ids = torch.randint(1000, 2000, (2, 64))
    mask = torch.ones_like(ids)
    fp32 = out_dir / "encoder.fp32.onnx"
    with torch.no_grad():
        torch.onnx.export(
            _Encoder(net), (ids, mask), str(fp32), dynamo=False, opset_version=17,
            input_names=["input_ids", "attention_mask"], output_names=["hidden"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "hidden": {0: "batch", 1: "seq"}},
        )
    heads = {
        f"{name}_{kind}": getattr(net, f"{name}_head").__getattr__(attr).detach().numpy().astype(np.float32)
        for name in ("token", "paragraph", "genre", "frame")
        for kind, attr in (("w", "weight"), ("b", "bias"))
    }
    np.savez(out_dir / "heads.npz", **heads)
    shutil.copy(Path(encoder_dir) / "tokenizer.json", out_dir / "tokenizer.json")
    if not quantize:
        return fp32
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8 = out_dir / "encoder.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    (out_dir / "export.json").write_text(json.dumps({"weights": str(weights), "quantized": True}))
    return int8
