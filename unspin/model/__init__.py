"""The shipped persuasion model: an int8 ONNX encoder and numpy heads; no torch at inference."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from ..document import Analysis, Article

DEFAULT_DIR = Path(__file__).parent / "default"


class Model(Protocol):
    id: str
    version: str

    def analyze(self, article: Article) -> Analysis: ...


_lock = threading.Lock()
_cache: dict[str, Model] = {}


def load(directory: str | Path | None = None) -> Model:
    """Load (once per process) the model in ``directory``, by default the shipped one."""
    from .runtime import OnnxModel

    key = str(Path(directory or DEFAULT_DIR).resolve())
    with _lock:
        if key not in _cache:
            _cache[key] = OnnxModel(key)
        return _cache[key]


def load_default() -> Model | None:
    """The configured or shipped model, or None when no model is installed."""
    from ..config import load_settings

    directory = load_settings().model_dir
    if directory is None and not (DEFAULT_DIR / "model.json").exists():
        return None
    return load(directory)
