"""The HTTP connection: uvicorn's h11 protocol with the time limits it lacks.

uvicorn closes a keep-alive connection that stays silent, but not one that sends its
request line or headers a byte at a time, one whose request line never becomes HTTP/1.x,
nor a response that the client never reads. Here every state of a connection ends:

* waiting for a request (its line and headers): ``settings.server_read_timeout`` from the
  connection, or from the end of the previous response, then 408 (or a plain close when
  nothing came at all);
* a first line that cannot be an HTTP/1.x request line (HTTP/0.9's ``GET /``): 400 at once;
* the body: :class:`~unspin.server.middleware.BodyLimitMiddleware` answers 408 after the
  same timeout, and a body the app did not read is not waited for: the connection closes;
* the whole exchange, response included: ``server_request_timeout`` plus twice the read
  timeout, then the connection is closed (the app stops on its own timeout well before).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..config import Settings

log = logging.getLogger("unspin.server")
_REQUEST_LINE = re.compile(rb"[A-Za-z]+ \S+ HTTP/\d\.\d")
_HEAD_BYTES = 8192  # enough to see a request line


class TimedH11Protocol(H11Protocol):
    """Set ``read_timeout`` and ``exchange_timeout`` on a subclass (see :func:`protocol_for`)."""

    read_timeout = 20.0
    exchange_timeout = 100.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head = b""
        self._timer: asyncio.TimerHandle | None = None
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _await_request(self) -> None:
        self._stop_timer()
        self._head = b""
        self._timer = self.loop.call_later(self.read_timeout, self._request_too_slow)

    def data_received(self, data: bytes) -> None:
        waiting = self.conn.their_state is h11.IDLE
        if waiting and len(self._head) < _HEAD_BYTES:
            self._head += data[: _HEAD_BYTES - len(self._head)]
            line, newline, _ = self._head.lstrip(b"\r\n").partition(b"\n")
            if newline and not _REQUEST_LINE.fullmatch(line.rstrip(b"\r")):
                self._refuse(400, "Bad Request", "That is not an HTTP/1.x request line.")
                return
        super().data_received(data)
        if waiting and self.conn.their_state is not h11.IDLE and not self.transport.is_closing():
            self._stop_timer()  # the headers are in: the exchange's own limit from now
            self._timer = self.loop.call_later(self.exchange_timeout, self._exchange_too_slow)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            self._stop_timer()
        elif self.cycle is not None and not self.cycle.response_complete:
            self._stop_timer()  # a pipelined request is already being answered
            self._timer = self.loop.call_later(self.exchange_timeout, self._exchange_too_slow)
        elif self.conn.their_state is h11.IDLE:
            self._await_request()
        else:  # answered before the whole body came (an error): do not wait for the rest
            self._stop_timer()
            self.transport.close()

    def _request_too_slow(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self._head:
            self._refuse(
                408, "Request Timeout",
                f"The request did not arrive within {self.read_timeout:g} seconds.",
            )  # fmt: skip
        else:
            self.transport.close()

    def _exchange_too_slow(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            log.info("unspin: closed a connection after %g seconds", self.exchange_timeout)
            self.transport.close()

    def _refuse(self, status: int, reason: str, message: str) -> None:
        """Answer in plain bytes and close: h11 has no request to answer yet."""
        body = message.encode("ascii")
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode("ascii") + body
        )
        self._stop_timer()
        self.transport.close()


def protocol_for(settings: Settings) -> type[TimedH11Protocol]:
    """The protocol class for uvicorn's ``http=`` with ``settings``' limits."""
    limits: dict[str, Any] = {
        "read_timeout": settings.server_read_timeout,
        "exchange_timeout": settings.server_request_timeout + 2 * settings.server_read_timeout,
    }
    return type("UnspinH11Protocol", (TimedH11Protocol,), limits)
