"""The web app served by uvicorn on 127.0.0.1 in a thread, configured as ``unspin serve``
configures it (the same connection protocol and limits), for tests that need real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from unspin.config import Settings
from unspin.server import create_app
from unspin.server.engine import ModelSource
from unspin.server.protocol import protocol_for


@dataclass
class LiveApp:
    port: int
    server: uvicorn.Server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self, timeout: float = 5.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return sock


@contextmanager
def live_app(settings: Settings, model: ModelSource) -> Iterator[LiveApp]:
    app = create_app(settings, model=model)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, http=protocol_for(settings), log_level="warning", access_log=False,
        timeout_graceful_shutdown=2,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield LiveApp(int(sock.getsockname()[1]), server)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
