"""Exception handlers: every failure becomes a clear message with the right status, as
JSON for programs or as a page for a browser, and never a bare 500 (a 500 is a bug: it is
logged with its traceback and answered with a generic message)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Scope

from ..errors import UnspinError
from .errors import error_body, error_code, status_code_name
from .templating import render

log = logging.getLogger("unspin.server")

BUG_MESSAGE = (
    "Something went wrong inside unspin: this is a bug; please report it (the server's log "
    "has the details)."
)
_TITLES = {
    400: "That request could not be read",
    403: "Refused",
    404: "Page not found",
    405: "Not allowed",
    413: "Too large",
    415: "Unsupported file type",
    422: "This cannot be analysed",
    429: "The server is busy",
    500: "Something went wrong",
    503: "The model is unavailable",
    504: "That took too long",
}


def wants_html_scope(scope: Scope) -> bool:
    """A browser asking for a page (not the API, not a script or an image)."""
    path = str(scope.get("path", ""))
    if path.startswith(("/api/", "/static/")) or path in ("/api", "/openapi.json"):
        return False
    accept = next((v for k, v in scope.get("headers", []) if k == b"accept"), b"")
    return b"text/html" in accept


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return scope_error_response(request.scope, status, code, message, headers)


def scope_error_response(
    scope: Scope,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error as a page for a browser, else as JSON (also usable from middleware)."""
    if wants_html_scope(scope):
        title = _TITLES[429] if code == "busy" else _TITLES.get(status, "Error")
        page = render("error.html.j2", status=status, title=title, message=message, page_title=title)
        return HTMLResponse(page, status_code=status, headers=headers)
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts)


def validation_message(errors: list[dict[str, Any]] | Any) -> str:
    """One readable sentence from pydantic's error list."""
    items = list(errors)
    if any(e.get("type") == "json_invalid" for e in items):
        e = next(e for e in items if e.get("type") == "json_invalid")
        reason = (e.get("ctx") or {}).get("error", "")
        return f"The request body is not valid JSON{': ' + str(reason) if reason else ''}."
    parts = []
    for e in items[:3]:
        msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
        where = _where(e.get("loc", ()))
        if e.get("type") == "missing":
            msg = "this field is required"
        elif e.get("type") == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{where}: {msg}" if where else msg)
    more = f" (and {len(items) - 3} more problems)" if len(items) > 3 else ""
    return "Invalid request: " + "; ".join(parts) + more + "."


async def unspin_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UnspinError)
    retry = getattr(exc, "retry_after", None)
    # a client told to come back later reconnects then: no keep-alive connection to go stale
    headers = {"retry-after": str(retry), "connection": "close"} if retry is not None else None
    return error_response(request, exc.http_status, error_code(exc), str(exc), headers)


async def client_gone_handler(request: Request, exc: Exception) -> Response:
    """The client hung up before sending its whole request: its doing, not a bug, so no
    traceback; the answer goes nowhere."""
    log.info("unspin: the client left during %s %s", request.method, request.url.path)
    return Response(status_code=400, headers={"connection": "close"})


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(request, 400, "bad_request", validation_message(exc.errors()))


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        message = f"There is nothing at {request.url.path}: check the address."
    elif status == 405:
        allowed = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
        message = f"{request.method} is not allowed at {request.url.path}" + (
            f"; use {allowed}." if allowed else "."
        )
    else:
        message = str(exc.detail)
    if status < 400:  # not an error (e.g. 304): answer it plainly
        return Response(status_code=status, headers=exc.headers)
    return error_response(request, status, status_code_name(status), message, exc.headers)


async def bug_handler(request: Request, exc: Exception) -> Response:
    log.error("unspin: unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "internal_error", BUG_MESSAGE)


def install(app: FastAPI) -> None:
    app.add_exception_handler(UnspinError, unspin_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(ClientDisconnect, client_gone_handler)
    app.add_exception_handler(Exception, bug_handler)
