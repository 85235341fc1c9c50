"""The server's own pages (home, compare, progress, errors) and static files.

Templates are Jinja2 with autoescaping always on (:func:`unspin.report.env.templates`), so
user text reaches a page only as text. Static files are read once, from the package, into memory: a request names a file
from a fixed list and never a path, so no request can make the server read another file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment

from ..report.env import templates
from ..version import __version__

STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
STATIC_NAMES = ("app.css", "app.js", "icon.svg")


@dataclass(frozen=True)
class StaticFile:
    name: str
    body: bytes
    media_type: str
    etag: str

    @property
    def url(self) -> str:
        """Versioned by content, so browsers may cache it for long."""
        return f"/static/{self.name}?v={self.etag[:12]}"


@lru_cache(maxsize=1)
def static_files() -> dict[str, StaticFile]:
    out = {}
    for name in STATIC_NAMES:
        body = (files("unspin.server") / "static" / name).read_bytes()
        suffix = name[name.rfind(".") :]
        out[name] = StaticFile(
            name=name,
            body=body,
            media_type=STATIC_TYPES[suffix],
            etag=hashlib.sha256(body).hexdigest()[:32],
        )
    return out


def static_url(name: str) -> str:
    return static_files()[name].url


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = templates("unspin.server")
    env.globals.update(version=__version__, static_url=static_url)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
