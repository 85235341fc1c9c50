"""The SSRF-safe fetcher: address checks, pinning, redirects, caps, clear errors."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable

import hostile_servers as hs
import pytest
from conftest import PRIVATE_URLS, LocalServer

import unspin.fetch as fetch_module
from unspin.config import Settings
from unspin.errors import BlockedURLError, FetchError, TooLargeError
from unspin.fetch import fetch, is_public_address

pytestmark = pytest.mark.usefixtures("clean_env")

PAGE = "<html><body><p>Hello from the local server.</p></body></html>"


@pytest.mark.parametrize(
    "url",
    [
        *PRIVATE_URLS,
        "http://0x7f.1/",
        "http://127.1/",
        "http://0/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[2002:7f00:1::]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://localhost/",
    ],
)
def test_private_addresses_are_refused(url: str, settings: Settings) -> None:
    with pytest.raises(BlockedURLError, match="Refusing to fetch .*private, local or reserved"):
        fetch(url, settings=settings)


def test_octal_ipv4_is_not_fetched(settings: Settings) -> None:
    # httpx already rejects octal dotted quads; either way nothing is fetched
    with pytest.raises(FetchError, match="not a valid URL|Refusing"):
        fetch("http://0177.0.0.1/", settings=settings)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/", "data:text/html,hi", "javascript:alert(1)"]
)
def test_other_schemes_are_refused(url: str, settings: Settings) -> None:
    with pytest.raises(BlockedURLError, match="only http:// and https://"):
        fetch(url, settings=settings)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::808:808", True),
        ("64:ff9b::a00:1", False),
        ("2002:0a00:0001::", False),
        ("255.255.255.255", False),
        ("::", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_hostname_resolving_to_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # any private address among several answers is enough to refuse
    monkeypatch.setattr(fetch_module, "_resolve", lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(BlockedURLError, match="news.example resolves to .*10.0.0.7"):
        fetch("http://news.example/story", settings=settings)


def test_connection_is_pinned_to_the_checked_address(
    http_server: LocalServer, monkeypatch: pytest.MonkeyPatch, private_settings: Settings
) -> None:
    """The name is resolved once, by us; the request goes to that IP with the Host kept."""
    port = http_server.base.rsplit(":", 1)[1]
    http_server.add("/story", PAGE)
    calls: list[str] = []

    def resolver(host: str, _port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(fetch_module, "_resolve", resolver)
    response = fetch(f"http://news.example:{port}/story", settings=private_settings)
    assert response.status == 200 and b"Hello" in response.body
    assert calls == ["news.example"]
    assert http_server.requests[0][1]["Host"] == f"news.example:{port}"
    assert response.final_url == f"http://news.example:{port}/story"


def test_fetch_ok(http_server: LocalServer, private_settings: Settings) -> None:
    url = http_server.add("/", PAGE)
    response = fetch(url, settings=private_settings)
    assert (response.status, response.content_type, response.encoding) == (
        200,
        "text/html",
        "utf-8",
    )
    assert response.body == PAGE.encode()
    assert http_server.requests[0][1]["User-Agent"] == private_settings.user_agent


def test_redirects_are_followed(http_server: LocalServer, private_settings: Settings) -> None:
    final = http_server.add("/final", PAGE)
    http_server.add("/a", "", status=302, headers={"Location": "/b"})
    http_server.add("/b", "", status=301, headers={"Location": final})
    response = fetch(http_server.url("/a"), settings=private_settings)
    assert response.final_url == final
    assert response.url == http_server.url("/a")


def test_each_redirect_hop_is_checked(
    http_server: LocalServer, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # pretend 127.0.0.1 is public so the first hop passes; the redirect target must not
    real = fetch_module.is_public_address
    monkeypatch.setattr(
        fetch_module, "is_public_address", lambda ip: str(ip) == "127.0.0.1" or real(ip)
    )
    url = http_server.add(
        "/go", "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    with pytest.raises(BlockedURLError, match="169.254.169.254"):
        fetch(url, settings=settings)


def test_too_many_redirects(http_server: LocalServer, private_settings: Settings) -> None:
    url = http_server.add("/loop", "", status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="redirected more than 5 times"):
        fetch(url, settings=private_settings)


def test_http_error_status(http_server: LocalServer, private_settings: Settings) -> None:
    with pytest.raises(FetchError, match="answered HTTP 404 Not Found"):
        fetch(http_server.url("/missing"), settings=private_settings)


def test_wrong_content_type(http_server: LocalServer, private_settings: Settings) -> None:
    url = http_server.add("/img", b"\x89PNG", "image/png")
    with pytest.raises(FetchError, match="is image/png, not a web page"):
        fetch(url, settings=private_settings)


def test_body_over_the_cap(http_server: LocalServer, private_settings: Settings) -> None:
    small = dataclasses.replace(private_settings, max_input_bytes=1000)
    url = http_server.add("/big", "x" * 5000)
    with pytest.raises(TooLargeError, match="the limit is 0.0 MB"):
        fetch(url, settings=small)


def test_unreachable_host(closed_port: int, private_settings: Settings) -> None:
    with pytest.raises(FetchError, match="Could not connect to 127.0.0.1"):
        fetch(f"http://127.0.0.1:{closed_port}/", settings=private_settings)


def test_unknown_host(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(fetch_module, "_resolve", fail)
    with pytest.raises(FetchError, match="Could not find the server no-such-host.example"):
        fetch("https://no-such-host.example/", settings=settings)


def test_invalid_url(settings: Settings) -> None:
    with pytest.raises(FetchError):
        fetch("http://exa mple.com/", settings=settings)


# ------------------------------------------------------------ hostile servers: time and size


def _quick(settings: Settings, **changes: float) -> Settings:
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def _timed_fetch(url: str, settings: Settings) -> tuple[BaseException | None, float]:
    start = time.monotonic()
    try:
        fetch(url, settings=settings)
    except Exception as exc:  # the test checks the kind
        return exc, time.monotonic() - start
    return None, time.monotonic() - start


@pytest.mark.parametrize(
    ("behaviour", "scheme"),
    [(hs.slow_headers, "http"), (hs.slow_body, "http"), (hs.slow_tls, "https")],
    ids=["headers-one-byte-every-0.5s", "body-trickle", "tls-handshake-trickle"],
)
def test_one_deadline_covers_the_whole_fetch(
    behaviour: hs.Behaviour, scheme: str, private_settings: Settings
) -> None:
    """Every read is quick, so per-read timeouts never fire: the wall-clock deadline must."""
    settings = _quick(private_settings, fetch_timeout=1.5, connect_timeout=5.0, read_timeout=5.0)
    with hs.serving(behaviour) as server:
        err, elapsed = _timed_fetch(server.url().replace("http", scheme, 1), settings)
    assert isinstance(err, FetchError) and not isinstance(err, TooLargeError), err
    assert "took too long" in str(err) and "UNSPIN_FETCH_TIMEOUT" in str(err)
    assert 1.4 <= elapsed < 2.5


def test_a_silent_server_is_given_up_on_after_the_read_timeout(private_settings: Settings) -> None:
    settings = _quick(private_settings, read_timeout=0.5)
    with hs.serving(hs.silent) as server:
        err, elapsed = _timed_fetch(server.url(), settings)
    assert isinstance(err, FetchError) and "stopped answering" in str(err)
    assert elapsed < 1.5


def test_slow_dns_is_bounded_by_the_deadline(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setattr(fetch_module, "_resolve", lambda host, port: time.sleep(3) or [])
    err, elapsed = _timed_fetch("http://slow-dns.example/", _quick(settings, fetch_timeout=0.5))
    assert isinstance(err, FetchError) and "took too long" in str(err)
    assert elapsed < 1.0


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (hs.reset_at_once, "broke off|broken HTTP response"),
        (hs.reset_mid_body, "broke off"),
        (hs.short_body, "broke off|broken HTTP response"),
        (hs.garbage, "broken HTTP response"),
        (hs.http09, "broken HTTP response"),
        (hs.huge_headers, "broken HTTP response"),
    ],
)
def test_broken_servers_give_one_clear_error(
    behaviour: hs.Behaviour, message: str, private_settings: Settings
) -> None:
    with hs.serving(behaviour) as server:
        err, elapsed = _timed_fetch(server.url(), _quick(private_settings, fetch_timeout=5.0))
    assert type(err) is FetchError and re.search(message, str(err)), err
    assert elapsed < 2.0


def test_an_endless_body_stops_at_the_cap(private_settings: Settings) -> None:
    settings = _quick(private_settings, max_input_bytes=1_000_000, fetch_timeout=5.0)
    with hs.serving(hs.endless_chunks) as server:
        err, elapsed = _timed_fetch(server.url(), settings)
    assert isinstance(err, TooLargeError) and elapsed < 2.0


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [("gzip, gzip", lambda: hs.gzip_bomb(2)), ("deflate", hs.deflate_bomb)],
    ids=["gzip-gzip-256MB", "deflate-64MB"],
)
def test_compression_bombs_are_refused_without_a_memory_spike(
    encoding: str, payload: Callable[[], bytes], private_settings: Settings
) -> None:
    body = payload()
    assert len(body) < 300_000  # a few hundred KB on the wire at most
    behaviour = hs.respond(body, {"Content-Encoding": encoding})
    with hs.serving(behaviour) as server:
        tracemalloc.start()
        try:
            err, elapsed = _timed_fetch(server.url(), private_settings)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(err, TooLargeError) and "limit" in str(err)
    # the 5 MB of decoded text it keeps, joined once, plus small buffers: not 256 MB
    assert peak < 3 * private_settings.max_input_bytes, f"peak {peak / 1e6:.0f} MB"
    assert elapsed < 5


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", lambda b: hs.gzip_stream([b])),
        ("gzip, gzip", lambda b: hs.gzip_stream([hs.gzip_stream([b])])),
        ("x-gzip", lambda b: hs.gzip_stream([b[:50]]) + hs.gzip_stream([b[50:]])),  # 2 members
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
        ("identity", lambda b: b),
    ],
    ids=["gzip", "gzip-gzip", "gzip-members", "deflate", "raw-deflate", "identity"],
)
def test_encoded_pages_are_decoded(
    encoding: str, body: Callable[[bytes], bytes], private_settings: Settings
) -> None:
    with hs.serving(hs.respond(body(hs.PAGE), {"Content-Encoding": encoding})) as server:
        assert fetch(server.url(), settings=private_settings).body == hs.PAGE


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({"Content-Encoding": "br"}, b"\x1b\x00", "compressed with br, which unspin cannot"),
        ({"Content-Encoding": "gzip, " * 4 + "gzip"}, hs.PAGE, "at most 4 layers"),
        ({"Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00not gzip at all", "not valid gzip"),
    ],
)
def test_unreadable_encodings_are_refused(
    headers: dict[str, str], body: bytes, message: str, private_settings: Settings
) -> None:
    with hs.serving(hs.respond(body, headers)) as server:
        err, _ = _timed_fetch(server.url(), private_settings)
    assert type(err) is FetchError and message in str(err), err


def test_many_empty_gzip_members_are_bounded(private_settings: Settings) -> None:
    body = hs.empty_gzip_members(20_000)
    with hs.serving(hs.respond(body, {"Content-Encoding": "gzip"})) as server:
        start = time.monotonic()
        assert fetch(server.url(), settings=private_settings).body == b""
    assert time.monotonic() - start < 5


def test_ending_by_caps_every_fetch_inside_it(private_settings: Settings) -> None:
    """The server's fetches for one request (a feed's links included) end when it gives up."""
    with hs.serving(hs.slow_headers) as server, fetch_module.ending_by(time.monotonic() + 0.6):
        err, first = _timed_fetch(server.url(), private_settings)
        assert isinstance(err, FetchError) and "time the request had left" in str(err)
        err, second = _timed_fetch(server.url(), private_settings)  # none left: at once
        assert isinstance(err, FetchError)
    assert 0.5 < first < 1.2 and second < 0.1
