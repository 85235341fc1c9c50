"""``python -m unspin.train DATA_DIR [OUT_DIR]``: the same as ``unspin train``."""

from __future__ import annotations

import sys

from .loop import TrainConfig, train

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        sys.exit("usage: python -m unspin.train DATA_DIR [OUT_DIR]")
    train(TrainConfig(data_dir=args[0], **({"out_dir": args[1]} if len(args) > 1 else {})))
