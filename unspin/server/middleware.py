"""Two pure ASGI middlewares: a request-body cap and security headers.

Pure ASGI (not ``BaseHTTPMiddleware``) because the body cap must count bytes as they
stream in and refuse the request before it is read whole, also when Content-Length is
absent (chunked) or lies; and headers must be added to every response, errors included.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .handlers import scope_error_response

log = logging.getLogger("unspin.server")

CSP_DIRECTIVES = (
    ("default-src", "'none'"),
    ("script-src", "'self'"),
    ("style-src", "'self' 'unsafe-inline'"),
    ("img-src", "'self' data:"),
    ("connect-src", "'self'"),  # the progress page polls the job API
    ("form-action", "'self'"),
    ("base-uri", "'none'"),
    ("frame-ancestors", "'none'"),
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def content_security_policy(extra_script_sources: Iterable[str] = ()) -> str:
    """The server's CSP; a page may add exact script hashes or a nonce, never more."""
    extra = " ".join(extra_script_sources)
    return "; ".join(
        f"{name} {value} {extra}" if name == "script-src" and extra else f"{name} {value}"
        for name, value in CSP_DIRECTIVES
    )


DEFAULT_CSP = content_security_policy()


class BodyTooLargeError(StarletteHTTPException):
    """Raised from ``receive`` once the body passes the cap. An HTTPException, so that
    FastAPI's body parsing re-raises it untouched and the 413 handler answers."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=413,
            detail=(
                f"The request is larger than this server's limit of {limit / 1e6:.1f} MB: "
                "send a shorter article (or start the server with a larger "
                "UNSPIN_SERVER_MAX_BODY_BYTES)."
            ),
        )


async def _send_error(
    scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
) -> None:
    response = scope_error_response(scope, status, code, message, {"connection": "close"})
    await response(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with a JSON 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        too_large = BodyTooLargeError(limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:  # refuse before reading a byte
            await _send_error(scope, receive, send, 413, "too_large", str(too_large.detail))
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError as exc:
            if started:  # too late to answer: the server closes the connection
                log.warning("unspin: request body over the limit after the response began")
                return
            await _send_error(scope, receive, send, 413, "too_large", str(exc.detail))


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class SecurityHeadersMiddleware:
    """Add the CSP (unless the response set a stricter page-specific one) and the other
    security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["content-security-policy"] = DEFAULT_CSP
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "testserver")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def host_name(host_header: str) -> str:
    """``[::1]:8000`` -> ``::1``; ``Example.org:80`` -> ``example.org``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class RequestGuardMiddleware:
    """Refuse requests for other host names (DNS rebinding: a web page whose domain now
    resolves to 127.0.0.1 would otherwise read this server) and cross-site form posts."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] | None) -> None:
        self.app = app
        self.allowed = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host") or ""
        if self.allowed is not None and host_name(host) not in self.allowed:
            names = ", ".join(sorted(self.allowed - {"testserver"}))
            message = (
                f"This server answers only to {names}; the request was for "
                f"{host[:100] or 'no host'}. Open it as http://127.0.0.1:<port>/."
            )
            await _send_error(scope, receive, send, 400, "invalid_host", message)
            return
        if scope.get("method") not in _SAFE_METHODS:
            # Browsers send "Origin: null" under Referrer-Policy: no-referrer, so the
            # Fetch Metadata header decides when present.
            origin = _header(scope, b"origin")
            site = _header(scope, b"sec-fetch-site")
            netloc = (origin or "").split("://", 1)[-1].rstrip("/").lower()
            foreign_origin = origin not in (None, "null") and netloc != host.lower()
            if site in ("cross-site", "same-site") or foreign_origin:
                message = "Refused a form sent from another web site: use unspin's own pages."
                await _send_error(scope, receive, send, 403, "cross_origin", message)
                return
        await self.app(scope, receive, send)
