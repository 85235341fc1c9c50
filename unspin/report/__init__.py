"""Reports on analyses: self-contained HTML, the terminal, and JSON.

Names are imported lazily so that ``unspin.compare`` can use the summary wording without
loading the HTML machinery.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "dumps_analysis",
    "loads_analysis",
    "print_analysis",
    "print_comparison",
    "render_analyses",
    "render_analysis",
    "render_comparison",
]

_HOME = {
    "dumps_analysis": "jsonio",
    "loads_analysis": "jsonio",
    "print_analysis": "terminal",
    "print_comparison": "terminal",
    "render_analyses": "html",
    "render_analysis": "html",
    "render_comparison": "html",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
