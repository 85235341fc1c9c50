"""Errors a user can act on. The CLI prints their message on one line and exits non-zero;
the server turns them into JSON with a 4xx status. Anything else is a bug."""

from __future__ import annotations


class UnspinError(Exception):
    """Base class: ``str(err)`` is a complete, user-facing sentence."""

    exit_code = 2
    http_status = 400


class InputError(UnspinError):
    """The input cannot be analysed: empty, binary, too large, not English, unparsable."""

    http_status = 422


class TooLargeError(InputError):
    http_status = 413


class FetchError(UnspinError):
    """A URL could not be fetched (unreachable, refused, wrong content type, too large)."""

    http_status = 422


class BlockedURLError(FetchError):
    """A URL points at a private, loopback, link-local or reserved address, or a bad scheme."""

    http_status = 403


class ModelError(UnspinError):
    """The model artefacts are missing or broken."""

    exit_code = 3
    http_status = 503
