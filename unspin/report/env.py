"""The Jinja2 environments every HTML/SVG template is rendered with: the reports' (here)
and the server's pages' (:mod:`unspin.server.templating`), both made by :func:`templates`.

Autoescaping is on for every template and for strings, so article text, titles and labels
can only ever reach the page as text: nothing renders markup except through this.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from . import labels


def templates(package: str) -> Environment:
    """An environment for the ``templates`` folder of ``package``, autoescaping always on."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = templates("unspin.report")
    env.filters.update(
        rate=labels.fmt_rate,
        pct=labels.fmt_pct,
        score=labels.fmt_score,
        num=lambda v: f"{v:.4g}",
    )
    return env


@lru_cache(maxsize=8)
def static_text(name: str) -> str:
    """A file from ``report/static`` (CSS/JS inlined into every report)."""
    return (files("unspin.report") / "static" / name).read_text(encoding="utf-8")
