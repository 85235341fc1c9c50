"""Every error the server answers with is JSON ``{"error": {"code", "message"}}`` and a 4xx
status (504 for a timeout, 503 for a broken model); a 500 means a bug and is logged.

Errors users can act on are :class:`~unspin.errors.UnspinError` subclasses, so their
``http_status`` decides the status code and their message is shown as it is.
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    BlockedURLError,
    FetchError,
    InputError,
    ModelError,
    TooLargeError,
    UnspinError,
)


class UnsupportedMediaError(UnspinError):
    """An upload or request body of a kind unspin does not read (an image, a PDF...)."""

    http_status = 415


class NotFoundError(UnspinError):
    """An unknown job or result (ids expire: results are kept in memory only)."""

    http_status = 404


class TooManyJobsError(UnspinError):
    """The in-memory job store is full of jobs still running."""

    http_status = 429


class ServerBusyError(UnspinError):
    """The model's queue is full: answered at once with 503 and ``Retry-After`` rather than
    kept waiting (see ``settings.server_queue_seconds``)."""

    http_status = 503

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerTimeoutError(UnspinError):
    """The work took longer than ``settings.server_request_timeout``."""

    http_status = 504


# Most specific first: the first class an error is an instance of names its code.
_CODES: list[tuple[type[UnspinError], str]] = [
    (BlockedURLError, "blocked_url"),
    (TooLargeError, "too_large"),
    (FetchError, "fetch_failed"),
    (InputError, "invalid_input"),
    (ModelError, "model_unavailable"),
    (UnsupportedMediaError, "unsupported_media_type"),
    (NotFoundError, "not_found"),
    (TooManyJobsError, "too_many_jobs"),
    (ServerBusyError, "busy"),
    (ServerTimeoutError, "timeout"),
]
_STATUS_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}


def error_code(err: UnspinError) -> str:
    for cls, code in _CODES:
        if isinstance(err, cls):
            return code
    return _STATUS_CODES.get(err.http_status, "bad_request")


def status_code_name(status: int) -> str:
    return _STATUS_CODES.get(status, "error" if status >= 500 else "bad_request")


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def with_prefix(err: UnspinError, prefix: str) -> UnspinError:
    """The same kind of error (same status), its message prefixed, e.g. ``Article 2: ``."""
    new = type(err)(f"{prefix}{err}")
    new.__dict__.update(err.__dict__)  # e.g. a busy error's retry_after
    new.__cause__ = err
    return new
