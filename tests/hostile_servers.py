"""Misbehaving HTTP servers on 127.0.0.1, for the fetcher's deadline, cap and error tests.

Each :class:`RawServer` answers every connection with one *behaviour* (a function of the
accepted socket) in a daemon thread. Behaviours stop when the client goes away or when the
server is stopped, and every socket has a timeout, so no thread outlives a test for long.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Behaviour = Callable[[socket.socket, threading.Event], None]
BOMB_BYTES = 256 * 1024 * 1024  # what the stacked bomb inflates to
PAGE = (
    b"<html><head><title>Bridge vote</title></head><body><article><p>The council voted on "
    b"Tuesday to repair the old bridge before winter, after a long debate.</p></article>"
    b"</body></html>"
)


@dataclass
class RawServer:
    behaviour: Behaviour
    stop: threading.Event = field(default_factory=threading.Event)
    connections: int = 0

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.settimeout(5)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            self.behaviour(conn, self.stop)

    def close(self) -> None:
        self.stop.set()
        self._sock.close()
        self._thread.join(2)


@contextlib.contextmanager
def serving(behaviour: Behaviour) -> Iterator[RawServer]:
    server = RawServer(behaviour)
    try:
        yield server
    finally:
        server.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _trickle(conn: socket.socket, stop: threading.Event, data: bytes, every: float) -> None:
    """Send ``data`` one byte at a time, ``every`` seconds apart (forever if it repeats)."""
    for i in range(len(data)):
        if stop.wait(every):
            return
        conn.sendall(data[i : i + 1])


# ------------------------------------------------------------------------- behaviours


def slow_headers(conn: socket.socket, stop: threading.Event, every: float = 0.5) -> None:
    """Response headers one byte every ``every`` seconds: each read is quick, the whole is not."""
    _read_request(conn)
    _trickle(conn, stop, b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 100_000, every)


def slow_body(conn: socket.socket, stop: threading.Event, every: float = 0.2) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n")
    _trickle(conn, stop, b"x" * 100_000, every)


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, read the request, never answer."""
    _read_request(conn)
    stop.wait(30)


def slow_tls(conn: socket.socket, stop: threading.Event, every: float = 0.5) -> None:
    """A TLS record header announcing 16 KB of handshake, then its bytes one at a time."""
    conn.recv(4096)  # the ClientHello
    conn.sendall(b"\x16\x03\x03\x40\x00")
    _trickle(conn, stop, b"\x02" + b"\x00" * 16_000, every)


def _reset(conn: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def reset_at_once(conn: socket.socket, stop: threading.Event) -> None:
    _read_request(conn)
    _reset(conn)


def reset_mid_body(conn: socket.socket, stop: threading.Event) -> None:
    _read_request(conn)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n" + PAGE
    )
    _reset(conn)


def short_body(conn: socket.socket, stop: threading.Event) -> None:
    """Declares more than it sends, then closes cleanly."""
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n" + PAGE)


def garbage(conn: socket.socket, stop: threading.Event) -> None:
    """Not HTTP at all."""
    _read_request(conn)
    conn.sendall(b"\x00\xff" * 500 + b"\r\n\r\n")


def http09(conn: socket.socket, stop: threading.Event) -> None:
    """A body with no status line or headers (HTTP/0.9)."""
    _read_request(conn)
    conn.sendall(PAGE)


def endless_chunks(conn: socket.socket, stop: threading.Event) -> None:
    """A chunked body that never ends (until the client hangs up)."""
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
    while not stop.is_set():
        conn.sendall(chunk)


def huge_headers(conn: socket.socket, stop: threading.Event) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n" + b"X-A: " + b"b" * 1_000_000 + b"\r\n\r\n")


def respond(
    body: bytes, headers: dict[str, str] | None = None, status: str = "200 OK"
) -> Behaviour:
    """A well-formed response with ``body`` sent as it is (already encoded)."""
    head = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))}
    head.update(headers or {})

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        _read_request(conn)
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
        conn.sendall(f"HTTP/1.1 {status}\r\n{lines}\r\n".encode("latin-1") + body)

    return behaviour


# ------------------------------------------------------------------------- payloads


def gzip_stream(chunks: Iterator[bytes] | list[bytes]) -> bytes:
    """gzip of the concatenated chunks, without holding their whole."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [z.compress(c) for c in chunks]
    out.append(z.flush())
    return b"".join(out)


@functools.cache
def gzip_bomb(layers: int = 2, size: int = BOMB_BYTES) -> bytes:
    """``size`` zero bytes gzipped ``layers`` times (a few hundred bytes for two layers)."""
    block = b"\0" * (1 << 20)
    data = gzip_stream(block for _ in range(size // len(block)))
    for _ in range(layers - 1):
        data = gzip_stream([data])
    return data


@functools.cache
def deflate_bomb(size: int = 64 * 1024 * 1024) -> bytes:
    z = zlib.compressobj(9)
    block = b"\0" * (1 << 20)
    return b"".join([*(z.compress(block) for _ in range(size // len(block))), z.flush()])


def empty_gzip_members(count: int) -> bytes:
    """Many empty gzip members: no output at all, only work for the decoder."""
    return gzip_stream([]) * count
