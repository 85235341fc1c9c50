"""The one way unspin fetches a URL, safe to expose on a server (SSRF guard).

* only http and https;
* the host is resolved once and refused when *any* address is not public (loopback,
  private, link-local, cloud metadata, multicast, reserved, and those hidden in IPv6
  forms), unless ``settings.allow_private_urls``;
* the connection goes to the checked address (the URL's host is swapped for the IP; the
  Host header and TLS SNI/certificate check keep the name), so DNS rebinding between the
  check and the connection cannot bypass it;
* redirects are followed by hand, each hop checked the same way;
* one wall-clock deadline (``settings.fetch_timeout``) for the whole fetch: DNS, connect,
  TLS, headers, body and every redirect. Each socket operation gets at most the time left,
  so a server that trickles its headers or body a byte at a time is stopped on time;
* a size cap on the bytes on the wire *and* on each layer of Content-Encoding as it is
  decoded, in small pieces, so a compression bomb (``gzip, gzip``) never fills memory.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.message import Message
from typing import Any

import httpcore
import httpx

from .config import DEFAULT_SETTINGS, Settings, too_many_bytes
from .errors import BlockedURLError, FetchError

ALLOWED_CONTENT_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "text/plain",
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/x-rss+xml",
        "application/xml",
        "text/xml",
    }
)
_REDIRECTS = {301, 302, 303, 307, 308}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/plain;q=0.8"
)
_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate", "identity"})
MAX_ENCODING_LAYERS = 4  # nobody compresses a page more than twice; a long stack is an attack
_PIECE = 64 * 1024  # decoded bytes produced per step: bounds memory whatever the ratio

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_ENDS_BY: ContextVar[float | None] = ContextVar("unspin_fetch_ends_by", default=None)


@dataclass(frozen=True)
class FetchedResponse:
    url: str  # as asked
    final_url: str  # after redirects
    status: int
    content_type: str  # media type only, lower case ("" when the server sent none)
    body: bytes  # decoded (Content-Encoding undone)
    encoding: str | None  # charset from the Content-Type header, if any


class _TimeUp(Exception):
    """The fetch's deadline passed (raised inside the I/O, turned into a FetchError)."""


class _Deadline:
    """The time left of one fetch; every blocking step asks it for its timeout."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self, cap: float | None = None) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise _TimeUp
        return left if cap is None else min(cap, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads, writes and TLS handshake end by the deadline.

    A single socket call is bounded by its timeout (CPython's SSL read and handshake use
    the timeout as a total deadline too), and each call gets only the time left, so many
    small reads cannot add up past it.
    """

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname, self._deadline.left(timeout))
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: _Deadline) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, self._deadline.left(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unspin fetches over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(self._deadline.left(seconds))


def is_public_address(ip: IPAddress) -> bool:
    """True for a globally routable unicast address.

    IPv4-mapped (``::ffff:a.b.c.d``) and NAT64 (``64:ff9b::a.b.c.d``, what DNS64 returns on
    IPv6-only networks) addresses are judged by the IPv4 address they carry; 6to4 and
    Teredo addresses must also carry a public one.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        embedded: list[IPAddress] = []
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if any(not is_public_address(e) for e in embedded):
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _literal_ip(host: str) -> IPAddress | None:
    """The address a host string denotes without DNS, including inet_aton's integer, octal
    and hex IPv4 forms (``2130706433``, ``0x7f.1``, ``0177.0.0.1``)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _resolve(host: str, port: int) -> list[str]:
    """All addresses of ``host`` (separate so that tests can replace the resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        addr = str(sockaddr[0])
        if addr not in seen:
            seen.append(addr)
    return seen


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchError(f"{url} is not a valid URL.") from None
    if parsed.scheme not in ("http", "https"):
        raise BlockedURLError(
            f"Refusing to fetch {url}: only http:// and https:// URLs can be fetched."
        )
    if not parsed.host:
        raise FetchError(f"{url} has no host name.")
    return parsed


def _resolve_within(host: str, port: int, deadline: _Deadline) -> list[str]:
    """:func:`_resolve` bounded by the deadline: the system resolver has no timeout of its
    own, so it runs in a daemon thread that is left behind if it is too slow."""
    outcome: list[list[str] | BaseException] = []

    def run() -> None:
        try:
            outcome.append(_resolve(host, port))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=run, name="unspin-dns", daemon=True)
    thread.start()
    thread.join(deadline.left())
    if not outcome:
        raise _TimeUp
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def resolve_checked(
    url: str, settings: Settings, deadline: _Deadline | None = None
) -> tuple[httpx.URL, list[str]]:
    """Parse ``url`` and resolve its host; BlockedURLError if any address is not public."""
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii")
    literal = _literal_ip(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            addresses = (
                _resolve(host, port) if deadline is None else _resolve_within(host, port, deadline)
            )
        except (socket.gaierror, UnicodeError, OSError):
            raise FetchError(
                f"Could not find the server {parsed.host}: check the URL's spelling and your "
                "network connection."
            ) from None
    if not addresses:
        raise FetchError(f"Could not find the server {parsed.host}.")
    if not settings.allow_private_urls:
        for addr in addresses:
            if not is_public_address(ipaddress.ip_address(addr.split("%", 1)[0])):
                where = "it points at" if literal is not None else f"{parsed.host} resolves to"
                raise BlockedURLError(
                    f"Refusing to fetch {url}: {where} a private, local or reserved address "
                    f"({addr}); use --allow-private (UNSPIN_ALLOW_PRIVATE_URLS=1) only if you "
                    "trust that network."
                )
    return parsed, addresses


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def _charset(header: str | None) -> str | None:
    if not header:
        return None
    message = Message()
    message["content-type"] = header
    charset = message.get_param("charset")
    return charset.strip() if isinstance(charset, str) and charset.strip() else None


def _send_pinned(
    pool: httpcore.ConnectionPool, parsed: httpx.URL, addresses: list[str], settings: Settings
) -> httpcore.Response:
    """GET ``parsed`` from the first reachable checked address, keeping Host and SNI.

    The response is streamed: its body is read (and closed) by the caller."""
    host = parsed.raw_host.decode("ascii")
    default_port = 443 if parsed.scheme == "https" else 80
    name = f"[{host}]" if ":" in host else host
    host_header = name if parsed.port in (None, default_port) else f"{name}:{parsed.port}"
    headers = [
        (b"Host", host_header.encode("ascii")),
        (b"User-Agent", settings.user_agent.encode("latin-1", "replace")),
        (b"Accept", _ACCEPT.encode("ascii")),
        (b"Accept-Encoding", b"gzip, deflate"),
    ]
    extensions: dict[str, Any] = {
        "timeout": {
            "connect": settings.connect_timeout,
            "read": settings.read_timeout,
            "write": settings.read_timeout,
            "pool": settings.connect_timeout,
        }
    }
    if parsed.scheme == "https":
        extensions["sni_hostname"] = host
    last_error: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
    for addr in addresses:
        target = parsed.copy_with(host=addr.split("%", 1)[0])
        request = httpcore.Request(
            "GET",
            httpcore.URL(
                scheme=target.raw_scheme, host=target.raw_host, port=target.port,
                target=target.raw_path,
            ),
            headers=headers,
            extensions=extensions,
        )  # fmt: skip
        try:
            return pool.handle_request(request)
        except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
            last_error = exc
    assert last_error is not None
    raise last_error


def _decompressor(encoding: str, first: bytes) -> Any:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate
    wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
    return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


def _inflate(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """Undo one layer of Content-Encoding, yielding at most ``_PIECE`` bytes at a time
    (``max_length``), so that a tiny input never expands all at once; gzip members that
    follow one another are all read."""
    decoder: Any = None
    for chunk in chunks:
        data = chunk
        while data:
            if decoder is None:
                decoder = _decompressor(encoding, data)
            piece = decoder.decompress(data, _PIECE)
            if piece:
                yield piece
            if decoder.eof:
                data = decoder.unused_data
                decoder = None
                continue
            data = decoder.unconsumed_tail
            while not data and len(piece) == _PIECE:  # output still pending inside zlib
                piece = decoder.decompress(b"", _PIECE)
                if piece:
                    yield piece
    if decoder is not None and not decoder.eof:
        tail = decoder.flush()
        if tail:
            yield tail


def _capped(chunks: Iterable[bytes], cap: int, url: str, deadline: _Deadline) -> Iterator[bytes]:
    """Pass ``chunks`` on, refusing them once they pass ``cap`` bytes or the deadline."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise too_many_bytes(url, cap)
        deadline.left()
        yield chunk


def _read_body(
    response: httpcore.Response, headers: httpx.Headers, url: str, cap: int, deadline: _Deadline
) -> bytes:
    """The body with its Content-Encodings undone; the bytes on the wire and every layer of
    decoding are each capped at ``cap``, while they stream."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_many_bytes(url, cap, int(declared))
    layers = [
        e.strip().lower()
        for value in headers.get_list("content-encoding")
        for e in value.split(",")
        if e.strip() and e.strip().lower() != "identity"
    ]
    unknown = sorted({e for e in layers if e not in _ENCODINGS})
    if unknown:
        raise FetchError(f"{url} is compressed with {', '.join(unknown)}, which unspin cannot read.")
    if len(layers) > MAX_ENCODING_LAYERS:
        raise FetchError(
            f"{url} is compressed {len(layers)} times over; unspin undoes at most "
            f"{MAX_ENCODING_LAYERS} layers of compression."
        )
    stream: Iterable[bytes] = _capped(response.iter_stream(), cap, url, deadline)
    for encoding in reversed(layers):  # the last encoding applied is undone first
        stream = _capped(_inflate(stream, encoding), cap, url, deadline)
    try:
        return b"".join(stream)
    except zlib.error:
        raise FetchError(
            f"{url} sent a body that is not valid {' + '.join(layers)} data; try again later."
        ) from None


def _fetch_hops(url: str, settings: Settings, deadline: _Deadline) -> FetchedResponse:
    current = url
    with httpcore.ConnectionPool(network_backend=_DeadlineBackend(deadline)) as pool:
        for _hop in range(settings.max_redirects + 1):
            parsed, addresses = resolve_checked(current, settings, deadline)
            try:
                response = _send_pinned(pool, parsed, addresses, settings)
            except httpcore.ConnectTimeout:
                if time.monotonic() >= deadline.at:  # the whole fetch's time, not connect's
                    raise _TimeUp from None
                raise FetchError(
                    f"Timed out connecting to {parsed.host}: the server did not answer; "
                    "check the URL or try again later."
                ) from None
            except httpcore.ConnectError as exc:
                reason = str(exc) or type(exc).__name__
                raise FetchError(
                    f"Could not connect to {parsed.host} ({reason}); check the URL or try "
                    "again later."
                ) from None
            try:
                headers = httpx.Headers(response.headers)
                status = response.status
                if status in _REDIRECTS and "location" in headers:
                    current = str(parsed.join(headers["location"]))
                    continue
                if status >= 400:
                    raise FetchError(
                        f"{current} answered HTTP {status} {httpx.codes.get_reason_phrase(status)}"
                        ": check that the URL is right and public."
                    )
                content_type = _media_type(headers.get("content-type"))
                if content_type and content_type not in ALLOWED_CONTENT_TYPES:
                    raise FetchError(
                        f"{current} is {content_type}, not a web page, text or feed; unspin "
                        "reads HTML, plain text and RSS/Atom feeds."
                    )
                body = _read_body(response, headers, current, settings.max_input_bytes, deadline)
                return FetchedResponse(
                    url=url,
                    final_url=current,
                    status=status,
                    content_type=content_type,
                    body=body,
                    encoding=_charset(headers.get("content-type")),
                )
            finally:
                response.close()
    raise FetchError(
        f"{url} redirected more than {settings.max_redirects} times; open it in a browser to "
        "find the article's address."
    )


@contextmanager
def ending_by(deadline: float | None) -> Iterator[None]:
    """Every fetch made inside (in this thread) ends by ``deadline`` (``time.monotonic()``)
    at the latest, whatever its own timeout: the server's fetches for a request, a feed's
    links included, end when the request gives up, and so free their thread."""
    token = _ENDS_BY.set(deadline)
    try:
        yield
    finally:
        _ENDS_BY.reset(token)


def fetch(url: str, *, settings: Settings = DEFAULT_SETTINGS) -> FetchedResponse:
    """GET ``url`` safely, within ``settings.fetch_timeout`` seconds all told (or less,
    inside :func:`ending_by`).

    Raises BlockedURLError, FetchError or TooLargeError, and nothing else."""
    seconds = settings.fetch_timeout
    ends_by = _ENDS_BY.get()
    if ends_by is not None and ends_by - time.monotonic() < seconds:
        seconds = ends_by - time.monotonic()
    deadline = _Deadline(seconds)
    try:
        return _fetch_hops(url, settings, deadline)
    except (_TimeUp, httpcore.TimeoutException):
        if time.monotonic() < deadline.at:  # one read or connect timed out, not the whole
            raise FetchError(
                f"{url} stopped answering (nothing for {settings.read_timeout:g} seconds); "
                "try again later."
            ) from None
        if seconds < settings.fetch_timeout:
            raise FetchError(f"{url} was not fetched in the time the request had left.") from None
        raise FetchError(
            f"{url} took too long to download (the limit is {settings.fetch_timeout:g} "
            "seconds for the whole fetch, UNSPIN_FETCH_TIMEOUT); try again later."
        ) from None
    except httpcore.ProtocolError as exc:
        raise FetchError(
            f"{url} sent a broken HTTP response ({exc or type(exc).__name__}); try again later."
        ) from None
    except httpcore.NetworkError as exc:
        raise FetchError(
            f"The download of {url} broke off ({exc or type(exc).__name__}); try again later."
        ) from None
