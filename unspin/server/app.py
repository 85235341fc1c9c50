"""The application factory and ``serve``.

Order of the layers, outermost first: security headers (on every response, a crash's 500
included), Starlette's error middleware, the host/origin guard, the body cap, then
FastAPI's exception handlers and the routes.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from ..config import Settings, load_settings
from ..errors import UnspinError
from ..version import __version__
from . import api, feedback, handlers, pages
from . import corpus as corpus_pages
from .engine import Engine, ModelSource
from .jobs import JobStore
from .middleware import (
    LOCAL_HOSTS,
    BodyLimitMiddleware,
    RequestGuardMiddleware,
    SecurityHeadersMiddleware,
)
from .protocol import protocol_for
from .templating import static_files

log = logging.getLogger("unspin.server")

DESCRIPTION = """How a news article tries to persuade its reader: persuasion techniques
(SemEval-2023 Task 3 taxonomy) with exact character spans and calibrated scores, paragraph
labels, genre and frames. Runs offline. Errors are JSON `{"error": {"code", "message"}}`."""


class UnspinApp(FastAPI):
    """FastAPI with the security headers outside everything else."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(super().build_middleware_stack())


def create_app(
    settings: Settings | None = None,
    *,
    model: ModelSource = "default",
    allowed_hosts: Iterable[str] | None = LOCAL_HOSTS,
    jobs: JobStore | None = None,
    corpus: str | Path | None = None,
) -> FastAPI:
    """The unspin web app.

    ``settings``: by default read from the environment (``UNSPIN_*``), once, here.
    ``model``: "default" loads the model ``settings`` name (or none) at startup; tests
    pass a model object, or None to run without one. ``allowed_hosts``: the Host names
    served (None: any, for a server deliberately exposed beyond this machine).
    """
    settings = settings if settings is not None else load_settings()  # the server's edge
    static_files()  # read the pages' static files once, now
    engine = Engine(settings, model)
    store = jobs if jobs is not None else JobStore()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await engine.start()  # load and warm the model once, before the first request
        try:
            yield
        finally:
            store.cancel_all()
            engine.close()

    app = UnspinApp(
        title="unspin",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load scripts from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.jobs = store
    app.state.corpus = Path(corpus) if corpus is not None else None  # unspin serve --corpus DB
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.server_max_body_bytes,
        timeout=settings.server_read_timeout,
    )
    app.add_middleware(RequestGuardMiddleware, allowed_hosts=allowed_hosts)
    handlers.install(app)
    app.include_router(api.router)
    app.include_router(feedback.router)
    app.include_router(pages.router)
    app.include_router(corpus_pages.router)
    app.include_router(corpus_pages.api_router)
    return app


def check_port(host: str, port: int) -> None:
    """A clear message now rather than uvicorn's traceback-like exit later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise UnspinError(
                f"Cannot listen on {host}:{port} ({err.strerror or err}): another program "
                f"may use that port; try --port {port + 1}."
            ) from None


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    settings: Settings | None = None,
    access_log: bool = False,
    corpus: str | Path | None = None,
) -> None:
    """Run the app with uvicorn until Ctrl-C (``settings``: see :func:`create_app`)."""
    wildcard = host in ("0.0.0.0", "::", "")
    allowed = None if wildcard else (*LOCAL_HOSTS, host)
    check_port(host, port)
    app = create_app(settings, allowed_hosts=allowed, corpus=corpus)
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=protocol_for(app.state.settings),  # every connection state has a time limit
        log_level="info" if access_log else "warning",
        access_log=access_log,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
