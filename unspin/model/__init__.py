"""The shipped persuasion model: ONNX encoder + numpy heads, no torch at inference."""

from __future__ import annotations

from typing import Protocol

from ..document import Analysis, Article


class Model(Protocol):
    id: str
    version: str

    def analyze(self, article: Article) -> Analysis: ...


def load_default() -> Model | None:
    """The model shipped in the package, or None when none is installed."""
    return None
