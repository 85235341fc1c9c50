"""Two pure ASGI middlewares: a request-body cap and security headers.

Pure ASGI (not ``BaseHTTPMiddleware``) because the body cap must count bytes as they
stream in and refuse the request before it is read whole, also when Content-Length is
absent (chunked) or lies; and headers must be added to every response, errors included.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import over_limit
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
                f"The request is {over_limit(None, limit, 'bytes', 'server_max_body_bytes')}: "
                "send a shorter article (or start the server with that setting raised)."
            ),
        )


class BodyTimeoutError(StarletteHTTPException):
    """Raised from ``receive`` when the body has not arrived in time (a client that declares
    more than it sends, or trickles it, must not hold a connection and a handler open)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            status_code=408,
            detail=f"The request body did not arrive within {seconds:g} seconds; send it again.",
        )


async def _send_error(
    scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
) -> None:
    response = scope_error_response(scope, status, code, message, {"connection": "close"})
    await response(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with a JSON 413, and bodies that take
    longer than ``timeout`` seconds (from the end of the headers) with a 408."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

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
        body_done = False  # after the body, receive() waits for a disconnect: no time limit
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout is None else loop.time() + self.timeout

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done or deadline is None:
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), deadline - loop.time())
                except TimeoutError:
                    raise BodyTimeoutError(self.timeout or 0.0) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
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
        except (BodyTooLargeError, BodyTimeoutError) as exc:
            if started:  # too late to answer: the server closes the connection
                log.info("unspin: request body refused after the response began: %s", exc.detail)
                return
            code = "too_large" if exc.status_code == 413 else "request_timeout"
            await _send_error(scope, receive, send, exc.status_code, code, str(exc.detail))


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


_HOST = re.compile(
    r"(?:\[(?P<ip6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9][a-z0-9.-]*))(?::(?P<port>[0-9]{1,5}))?"
)


def host_name(host_header: str) -> str | None:
    """``[::1]:8000`` -> ``::1``; ``Example.org:80`` -> ``example.org``; None for anything
    but a host and an optional port (``127.0.0.1:8000@evil.example``, ``a b``, ``::1``)."""
    m = _HOST.fullmatch(host_header.strip().lower())
    if m is None or (m.group("port") and not 0 < int(m.group("port")) < 65536):
        return None
    return m.group("ip6") or m.group("name")


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
        name = host_name(host)
        if name is None:
            message = f"The Host header {host[:100]!r} is not a host name and port."
            await _send_error(scope, receive, send, 400, "invalid_host", message)
            return
        if self.allowed is not None and name not in self.allowed:
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
