"""The one way unspin fetches a URL, safe to expose on a server (SSRF guard).

* only http and https;
* the host is resolved once and refused when *any* address is not public (loopback,
  private, link-local, cloud metadata, multicast, reserved, and those hidden in IPv6
  forms), unless ``settings.allow_private_urls``;
* the connection goes to the checked address (the URL's host is swapped for the IP; the
  Host header and TLS SNI/certificate check keep the name), so DNS rebinding between the
  check and the connection cannot bypass it;
* redirects are followed by hand, each hop checked the same way;
* timeouts, a total deadline, and a size cap read in chunks.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass

import httpx

from .config import Settings, load_settings
from .errors import BlockedURLError, FetchError, TooLargeError

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

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class FetchedResponse:
    url: str  # as asked
    final_url: str  # after redirects
    status: int
    content_type: str  # media type only, lower case ("" when the server sent none)
    body: bytes
    encoding: str | None  # charset from the Content-Type header, if any


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


def resolve_checked(url: str, settings: Settings) -> tuple[httpx.URL, list[str]]:
    """Parse ``url`` and resolve its host; BlockedURLError if any address is not public."""
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii")
    literal = _literal_ip(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = _resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
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


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def _send_pinned(client: httpx.Client, parsed: httpx.URL, addresses: list[str]) -> httpx.Response:
    """GET ``parsed`` from the first reachable checked address, keeping Host and SNI."""
    host = parsed.raw_host.decode("ascii")
    default_port = 443 if parsed.scheme == "https" else 80
    name = f"[{host}]" if ":" in host else host
    host_header = name if parsed.port in (None, default_port) else f"{name}:{parsed.port}"
    last_error: httpx.TransportError | None = None
    for addr in addresses:
        target = parsed.copy_with(host=addr.split("%", 1)[0])
        extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
        request = client.build_request(
            "GET", target, headers={"Host": host_header}, extensions=extensions
        )
        try:
            return client.send(request, stream=True, follow_redirects=False)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            last_error = exc
    assert last_error is not None
    raise last_error


def _read_capped(response: httpx.Response, url: str, settings: Settings, deadline: float) -> bytes:
    cap = settings.max_input_bytes
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise TooLargeError(
            f"{url} is too large ({_mb(int(declared))}; the limit is {_mb(cap)}); "
            "raise UNSPIN_MAX_INPUT_BYTES to allow it."
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise TooLargeError(
                f"{url} is larger than the {_mb(cap)} limit; raise UNSPIN_MAX_INPUT_BYTES "
                "to allow it."
            )
        if time.monotonic() > deadline:
            raise FetchError(f"{url} took too long to download; try again later.")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(url: str, *, settings: Settings | None = None) -> FetchedResponse:
    """GET ``url`` safely. Raises BlockedURLError, FetchError or TooLargeError."""
    settings = settings or load_settings()
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.connect_timeout,
    )
    deadline = time.monotonic() + settings.connect_timeout + 2 * settings.read_timeout
    headers = {
        "User-Agent": settings.user_agent,
        "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
        "application/xml;q=0.9,text/plain;q=0.8",
    }
    current = url
    # trust_env=False: no proxies from the environment, which would connect by name
    with httpx.Client(timeout=timeout, headers=headers, trust_env=False, verify=True) as client:
        for _hop in range(settings.max_redirects + 1):
            parsed, addresses = resolve_checked(current, settings)
            try:
                response = _send_pinned(client, parsed, addresses)
            except httpx.ConnectTimeout:
                raise FetchError(
                    f"Timed out connecting to {parsed.host}: the server did not answer; "
                    "check the URL or try again later."
                ) from None
            except httpx.ConnectError as exc:
                reason = str(exc) or type(exc).__name__
                raise FetchError(
                    f"Could not connect to {parsed.host} ({reason}); check the URL or try "
                    "again later."
                ) from None
            except httpx.TimeoutException:
                raise FetchError(f"{current} took too long to answer; try again later.") from None
            except httpx.HTTPError as exc:
                raise FetchError(
                    f"Could not fetch {current}: {exc or type(exc).__name__}."
                ) from None
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = str(parsed.join(response.headers["location"]))
                    continue
                if response.status_code >= 400:
                    raise FetchError(
                        f"{current} answered HTTP {response.status_code} "
                        f"{response.reason_phrase}: check that the URL is right and public."
                    )
                content_type = _media_type(response.headers.get("content-type"))
                if content_type and content_type not in ALLOWED_CONTENT_TYPES:
                    raise FetchError(
                        f"{current} is {content_type}, not a web page, text or feed; unspin "
                        "reads HTML, plain text and RSS/Atom feeds."
                    )
                try:
                    body = _read_capped(response, current, settings, deadline)
                except httpx.TimeoutException:
                    raise FetchError(
                        f"{current} took too long to answer; try again later."
                    ) from None
                except httpx.HTTPError as exc:
                    raise FetchError(
                        f"The download of {current} broke off ({exc or type(exc).__name__}); "
                        "try again later."
                    ) from None
                return FetchedResponse(
                    url=url,
                    final_url=current,
                    status=response.status_code,
                    content_type=content_type,
                    body=body,
                    encoding=response.charset_encoding,
                )
            finally:
                response.close()
    raise FetchError(
        f"{url} redirected more than {settings.max_redirects} times; open it in a browser to "
        "find the article's address."
    )
