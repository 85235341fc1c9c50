"""Every setting in one place. Defaults work with no configuration; each can be overridden
with an ``UNSPIN_<NAME>`` environment variable (README, "Configuration", lists them all).

The environment is read here only, by :func:`load_settings`, and only at the edges: the
command line, :func:`unspin.server.create_app` and the defaults of the public functions in
:mod:`unspin.analyze`. Everything below them takes a :class:`Settings` and passes it on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import UnspinError


@dataclass(frozen=True)
class Settings:
    # Input limits: larger inputs are refused with a clear message, not truncated silently.
    max_input_bytes: int = 5_000_000  # raw bytes read from a file, stdin, upload or URL
    max_text_chars: int = 1_000_000  # characters of article text after decoding/extraction
    min_text_chars: int = 20  # below this there is nothing to analyse
    # Fetching
    connect_timeout: float = 5.0
    read_timeout: float = 15.0  # a server silent this long (one read) is given up on
    fetch_timeout: float = 30.0  # wall clock for a whole fetch: DNS to last byte, redirects
    max_redirects: int = 5
    allow_private_urls: bool = False  # SSRF guard; the CLI's --allow-private sets this
    user_agent: str = "unspin/0.1 (+https://github.com/unspin/unspin)"
    # Language: only English is supported by the shipped model
    require_english: bool = True
    # Model
    model_dir: str | None = None  # None: the model shipped inside the package
    threads: int = 0  # threads of one analysis (ONNX Runtime intra-op); 0: one per core
    min_score: float = 0.0  # highlights of lower confidence are hidden and not counted, everywhere
    show_possible: bool = False  # reports also show possible detections, not only likely ones
    # Server
    server_max_body_bytes: int = 6_000_000
    server_request_timeout: float = 60.0
    server_workers: int = 2
    server_read_timeout: float = 20.0  # for a client to send its request line and headers, then its body
    server_queue_seconds: float = 1.0  # model work a request may wait behind, else 503 + Retry-After
    # Reader feedback: one SQLite file, never sent anywhere. None: load_settings() names the
    # user data folder's (default_feedback_db); a server given None keeps no feedback.
    feedback_db: str | None = None
    # Command line
    debug: bool = False  # show the traceback of a bug, and debug log lines

    def with_options(self, **options: object) -> Settings:
        """These settings, changed by the options given (an option that is None: not given)."""
        given: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        return replace(self, **given)


DEFAULT_SETTINGS = Settings()
"""The defaults alone, no environment: what library functions use when given no settings."""
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, value: str, default: object) -> object:
    word = value.strip().lower()
    try:
        if isinstance(default, bool):
            if word not in _TRUE | _FALSE:
                raise ValueError
            return word in _TRUE
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        kind = {bool: "1 or 0", int: "a whole number"}.get(type(default), "a number")
        raise UnspinError(f"UNSPIN_{name.upper()}={value!r} is not {kind}.") from None
    return value if value or default is not None else None  # empty: unset (model_dir)


def default_feedback_db(environ: Mapping[str, str]) -> str:
    """Where reader feedback is kept unless told otherwise: the user data folder of the
    platform (``$XDG_DATA_HOME/unspin``, else ``~/.local/share/unspin``; on macOS
    ``~/Library/Application Support/unspin``; on Windows ``%LOCALAPPDATA%\\unspin``)."""
    home = Path(environ.get("HOME") or Path.home())
    if sys.platform == "win32":
        base = Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else home / ".local" / "share"
    return str(base / "unspin" / "feedback.sqlite")


def load_settings(**overrides: object) -> Settings:
    """Defaults, then ``UNSPIN_<FIELD>`` environment variables, then explicit overrides;
    the feedback store, if still unset, in the user data folder."""
    env: dict[str, Any] = {}
    for f in fields(Settings):
        raw = os.environ.get(f"UNSPIN_{f.name.upper()}")
        if raw is not None:
            env[f.name] = _coerce(f.name, raw, f.default)
    settings = replace(DEFAULT_SETTINGS, **env).with_options(**overrides)
    if settings.feedback_db is None:
        settings = replace(settings, feedback_db=default_feedback_db(os.environ))
    return settings
