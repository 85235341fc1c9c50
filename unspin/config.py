"""Every tunable limit in one place. Defaults work with no configuration; each can be
overridden with an ``UNSPIN_*`` environment variable of the same name."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Settings:
    # Input limits: larger inputs are refused with a clear message, not truncated silently.
    max_input_bytes: int = 5_000_000  # raw bytes read from a file, stdin, upload or URL
    max_text_chars: int = 1_000_000  # characters of article text after decoding/extraction
    min_text_chars: int = 20  # below this there is nothing to analyse
    # Fetching
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    max_redirects: int = 5
    allow_private_urls: bool = False  # SSRF guard; the CLI's --allow-private sets this
    user_agent: str = "unspin/0.1 (+https://github.com/unspin/unspin)"
    # Language: only English is supported by the shipped model
    require_english: bool = True
    # Model
    model_dir: str | None = None  # None: the model shipped inside the package
    min_score: float = 0.0  # hide detections below this calibrated score in reports
    # Server
    server_max_body_bytes: int = 6_000_000
    server_request_timeout: float = 60.0
    server_workers: int = 2


def _coerce(value: str, default: object) -> object:
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


def load_settings(**overrides: object) -> Settings:
    """Defaults, then ``UNSPIN_<FIELD>`` environment variables, then explicit overrides."""
    env: dict[str, Any] = {}
    for f in fields(Settings):
        raw = os.environ.get(f"UNSPIN_{f.name.upper()}")
        if raw is not None:
            env[f.name] = _coerce(raw, f.default)
    explicit: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    return replace(Settings(), **{**env, **explicit})
