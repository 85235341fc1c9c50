"""The shipped persuasion model: an int8 ONNX encoder and numpy heads; no torch at inference."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from ..document import Analysis, Article
from .runtime import OnnxModel

DEFAULT_DIR = Path(__file__).parent / "default"


class Model(Protocol):
    id: str
    version: str

    def analyze(self, article: Article, *, embedding: bool = False) -> Analysis: ...


_lock = threading.Lock()
_loaded: dict[tuple[str, int], Model] = {}  # a model takes a second to load: once per process


def load_model(model_dir: str | Path | None = None, *, threads: int = 0) -> Model | None:
    """The model in ``model_dir`` (``Settings.model_dir``; None: the one shipped in the
    package), or None when none is given and none is shipped. ``threads``: see
    ``Settings.threads``. ModelError when the directory holds no working model."""
    if model_dir is None:
        if not (DEFAULT_DIR / "model.json").exists():
            return None
        model_dir = DEFAULT_DIR
    key = (str(Path(model_dir).resolve()), threads)
    with _lock:
        if key not in _loaded:
            _loaded[key] = load_uncached(key[0], threads=threads)
        return _loaded[key]


def load_uncached(model_dir: str | Path, *, threads: int = 0) -> OnnxModel:
    """The model in ``model_dir`` read afresh, not from the cache :func:`load` keeps:
    training and calibration read the files they have just written."""
    return OnnxModel(model_dir, threads=threads)
