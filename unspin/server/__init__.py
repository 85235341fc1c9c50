"""``unspin serve``: the reports in a browser for people who do not use a terminal, and a
JSON API for programs. Needs the ``server`` extra (FastAPI, uvicorn, python-multipart).

Public API: :func:`create_app` (an ASGI app for any server) and :func:`serve` (run it with
uvicorn on 127.0.0.1).
"""

from __future__ import annotations

from .app import create_app, serve

__all__ = ["create_app", "serve"]
