"""Shared test fixtures: paths, isolated settings and a local HTTP server."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from unspin.config import Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = "/usr/bin/chromium"  # Debian's package; never `playwright install`
CHROMIUM_ARGS = [  # headless as root, and no calls home on a machine without a network
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parent.parent
# Loopback and cloud-metadata addresses, plainly and as a bare number: the fetcher refuses them.
PRIVATE_URLS = ("http://127.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                "http://2130706433/")

# No test writes to the user's own feedback store: load_settings() puts the default one in
# a temporary data folder (tests that judge pass their own feedback_db anyway).
os.environ.pop("UNSPIN_FEEDBACK_DB", None)
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="unspin-tests-data-")
atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], True)


def chromium_browser() -> Iterator[Any]:
    """A headless Debian chromium driven by Playwright, for a browser-test fixture to yield
    (the test is skipped when this Playwright cannot drive it)."""
    from playwright import sync_api

    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_api.sync_playwright() as pw:
        try:
            instance = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as exc:  # a chromium this Playwright cannot drive
            pytest.skip(f"cannot start chromium: {exc}")
        yield instance
        instance.close()


def shared_dir() -> Path | None:
    """The shared data checkout beside the repository (../shared), or None when absent."""
    candidate = REPO.parent / "shared"
    return candidate if candidate.is_dir() else None


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove UNSPIN_* variables, so that code reading the environment sees defaults."""
    for name in list(os.environ):
        if name.startswith("UNSPIN_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(clean_env: None) -> Settings:
    """Default settings, whatever UNSPIN_* variables the shell has."""
    return load_settings()


@pytest.fixture
def private_settings(clean_env: None) -> Settings:
    """Settings that allow 127.0.0.1, for tests against the local server."""
    return load_settings(allow_private_urls=True)


@dataclass
class Route:
    body: bytes
    content_type: str | None = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalServer:
    """An HTTP server on 127.0.0.1 in a thread; ``add`` a route, then fetch ``url(path)``."""

    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def add(
        self,
        path: str,
        body: bytes | str,
        content_type: str | None = "text/html; charset=utf-8",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(data, content_type, status, headers or {})
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    server_state: LocalServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            server_state.requests.append((self.path, dict(self.headers.items())))
            route = server_state.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(route.status)
            if route.content_type:
                self.send_header("Content-Type", route.content_type)
            for key, value in route.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state = LocalServer(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
