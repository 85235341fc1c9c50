"""Result pages are the CLI's HTML reports (:mod:`unspin.report`), served as they are.

The report inlines its one script and allows it in its own ``<meta>`` CSP by hash. A page
must satisfy both that policy and the server's header policy, so the header here adds
exactly those script hashes: never ``'unsafe-inline'``. The only change to the document is
a small navigation bar, links only.
"""

from __future__ import annotations

import html
import re

from markupsafe import Markup
from starlette.responses import HTMLResponse

from .middleware import content_security_policy

_META_CSP = re.compile(
    r"<meta\s+http-equiv=[\"']Content-Security-Policy[\"']\s+content=\"([^\"]*)\"", re.I
)
_HASH_SOURCE = re.compile(r"^'sha(256|384|512)-[A-Za-z0-9+/=_-]+'$")
_MAIN = re.compile(r"<main\b", re.I)
_BODY = re.compile(r"<body\b[^>]*>", re.I)
_NAV_STYLE = (
    "display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center;max-width:72rem;"
    "margin:0 auto;padding:.6rem 1rem;font:inherit;font-size:.95rem"
)
_LINK_STYLE = "color:#1f4e79;text-decoration:underline;text-underline-offset:2px"


def script_hashes(document: str) -> list[str]:
    """The hash sources the document's own CSP allows for scripts."""
    match = _META_CSP.search(document)
    if not match:
        return []
    policy = html.unescape(match.group(1))
    for directive in policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name.lower() == "script-src":
            return [s for s in value.split() if _HASH_SOURCE.match(s)]
    return []


def _nav(links: list[tuple[str, str]]) -> Markup:
    items = Markup("").join(
        Markup('<a href="{}" style="{}">{}</a>').format(href, _LINK_STYLE, label)
        for href, label in links
    )
    return Markup('<nav aria-label="unspin" class="server-nav" style="{}">{}</nav>\n').format(
        _NAV_STYLE, items
    )


def _with_nav(document: str, links: list[tuple[str, str]]) -> str:
    if not links:
        return document
    nav = str(_nav(links))
    main = _MAIN.search(document)
    if main:  # after the skip link and the masthead, before the report
        return document[: main.start()] + nav + document[main.start() :]
    body = _BODY.search(document)
    if body:
        return document[: body.end()] + nav + document[body.end() :]
    return document


def page(document: str, *, links: list[tuple[str, str]], download: str | None = None) -> HTMLResponse:
    """A report (:mod:`unspin.report.html`) as a response: with a navigation bar of
    ``links``, or, with ``download``, as an attachment of that file name."""
    headers = {"content-security-policy": content_security_policy(script_hashes(document))}
    if download:
        headers["content-disposition"] = f'attachment; filename="{download}"'
    else:
        document = _with_nav(document, links)
    return HTMLResponse(document, headers=headers)
