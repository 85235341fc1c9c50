"""Hostile inputs for ``pytest -m hostile`` (tests/test_hostile.py), generated, never stored.

    python tests/hostile_cases.py [--out DIR]     # count them by class, or write them out

Every case is made here from a seed, so the suite needs no binary fixtures. A case is what
an attacker or an unlucky user hands unspin: a text (a Python str, for the API and the
server's JSON), bytes (a file or an upload), a URL (a misbehaving local server, or a private
address spelled some other way), or a feed. ``expect`` says, per channel (``cli``, ``api``,
``server``), whether it must be analysed (``ok``), refused with a clear error (``refused``),
or may be either (``either``): what never may happen is a traceback, a 500, a hang, a
memory spike, or (``forbidden``) a string that must not leak into any output.
"""

from __future__ import annotations

import argparse
import codecs
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SEED = 13
CHANNELS = ("cli", "api", "server")
SHORT = (
    "The council met on Tuesday and agreed, after a long debate, to repair the old bridge "
    "before winter. Everyone knows it cannot wait any longer."
)
TITLED = "Bridge vote\n\n" + SHORT
PARAGRAPHS = "\n\n".join(
    [
        "Bridge vote ends a long fight",
        SHORT,
        "The mayor said the money would come from the road budget, and that the work would "
        "start in October if the weather allowed it.",
        "Critics called the plan a disaster and said the council had ignored the engineers.",
    ]
)
INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066"
    "\u2067\u2068\u2069\u180e\u034f\ufe0f\ufe00\u2061\u2062\u2063\u2064\U000e0001\U000e0041"
    "\u3164\u115f\u1160\uffa0\u2800"
)
BLANK = " \t\n\r\x0b\x0c\u00a0\u1680\u2000\u2001\u2002\u2003\u2009\u200a\u2028\u2029\u202f\u205f\u3000\x1c\x1d\x1e\x1f\x85"
PASSWD = "root:x:0:0"  # what an XXE that reads /etc/passwd would leak
MAGIC = {
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
    "docx": b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "elf": b"\x7fELF\x02\x01\x01\x00",
    "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
    "7z": b"7z\xbc\xaf\x27\x1c",
    "ole": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    "rtf": b"{\\rtf1\\ansi\\deff0 ",
    "wasm": b"\x00asm\x01\x00\x00\x00",
    "class": b"\xca\xfe\xba\xbe\x00\x00\x00\x34",
    "sqlite": b"SQLite format 3\x00",
    "mp3": b"ID3\x03\x00\x00\x00\x00\x00",
}


@dataclass(frozen=True)
class Case:
    id: str
    cls: str
    text: str | None = None  # a str input (API, server JSON; the CLI reads it from a file)
    data: bytes | None = None  # a file's bytes (CLI, API via unspin.load_articles, server upload)
    url: str | None = None  # may hold {canary} and {<behaviour>} (see test_hostile.py)
    name: str = "input.txt"  # file name (its suffix matters) for bytes and texts on disk
    expect: dict[str, str] = field(default_factory=dict)  # channel -> ok | refused | either
    exact: str | None = None  # for "ok": the article text must be exactly this
    forbidden: tuple[str, ...] = ()  # must not appear in any output, escaped or not
    raw_forbidden: tuple[str, ...] = ()  # must not appear unescaped in HTML output
    private: bool = False  # URL of a local test server: needs allow_private_urls
    channels: tuple[str, ...] = CHANNELS

    def expected(self, channel: str) -> str:
        return self.expect.get(channel, self.expect.get("all", "either"))


def _all(outcome: str) -> dict[str, str]:
    return {"all": outcome}


def _bytes_of(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------------------ classes


def empty() -> list[Case]:
    texts = ["", " ", "\n", "\n" * 500, "\t \r\n", "\u00a0" * 5, "\u3000" * 3, "\ufeff",
             "\ufeff\n\n  ", "\r" * 10, " " * 20_000, "\x0b\x0c\x1c", BLANK, BLANK * 200,
             "\u2028\u2029" * 50]  # fmt: skip
    return [Case(f"empty-{i:02d}", "empty", text=t, expect=_all("refused")) for i, t in enumerate(texts)]


def invisible(rng: random.Random) -> list[Case]:
    cases = []
    for i, n in enumerate([1, 2, 3, 5, 8, 13, 21, 50, 100, 200, 200, 500, 1000, 5000] * 3):
        chars = rng.choices(INVISIBLE + (BLANK if i % 3 == 2 else ""), k=n)
        cases.append(Case(f"invisible-{i:02d}", "invisible", text="".join(chars), expect=_all("refused")))
    return cases


def surrogates() -> list[Case]:
    cases = []
    for i, s in enumerate(["\ud800", "\udc80", "\udbff\udfff", "\udfff\udbff", "\ud83d"]):
        for j, text in enumerate([s + SHORT, SHORT[:50] + s + SHORT[50:], SHORT + s]):
            cases.append(
                Case(
                    f"surrogate-{i}{j}", "surrogate", text=text,
                    # the API refuses it; a file holds invalid UTF-8 and the server's JSON
                    # decoder makes it "?": either may be read, never crash
                    expect={"api": "refused", "cli": "either", "server": "either"},
                )
            )  # fmt: skip
    return cases


def binary(rng: random.Random) -> list[Case]:
    cases = []
    for i, size in enumerate([1, 7, 64, 512, 4096, 65_536, 300_000] * 4):
        data = rng.randbytes(size)
        cases.append(Case(f"binary-random-{i:02d}", "binary", data=data, name=f"r{i}.txt", expect=_all("refused")))
    for kind, magic in MAGIC.items():
        data = magic + rng.randbytes(2000)
        cases.append(Case(f"binary-{kind}", "binary", data=data, name=f"file.{kind}", expect={
            "all": "refused"}))
        cases.append(Case(f"binary-{kind}-as-txt", "binary", data=data, name="article.txt", expect=_all("refused")))
    return cases


def nul() -> list[Case]:
    body = _bytes_of(PARAGRAPHS)
    cases = [
        Case(f"nul-at-{p}", "nul", data=body[:p] + b"\x00" + body[p:], expect={"all": "refused"})
        for p in (0, 1, 40, len(body) // 2, len(body) - 1, len(body))
    ]
    cases += [
        Case("nul-only", "nul", data=b"\x00" * 1000, expect=_all("refused")),
        Case("nul-every-other", "nul", data=b"\x00".join(body[i : i + 1] for i in range(200)), expect=_all("either")),
        Case("nul-text-api", "nul", text=SHORT.replace(" ", "\x00", 3), expect={"all": "either"}),
        Case("nul-text-api-only", "nul", text="\x00" * 300, expect=_all("refused")),
    ]
    cases += [
        Case(f"nul-control-{i}", "nul", data=bytes(range(1, 32)) * (i + 1) + body[:100], expect=_all("either"))
        for i in range(5)
    ]
    return cases


def invalid_utf8(rng: random.Random) -> list[Case]:
    bad = [b"\xff", b"\xfe", b"\xc3", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
           b"\x80", b"\xbf\xbf", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\xf0\x9f\x98"]  # fmt: skip
    body = _bytes_of(PARAGRAPHS)
    cases = []
    for i, seq in enumerate(bad):
        for j, at in enumerate((0, len(body) // 3, len(body))):
            cases.append(Case(f"utf8-bad-{i:02d}{j}", "invalid-utf8", data=body[:at] + seq + body[at:], expect=_all("either")))
    for k in range(6):  # many bad bytes scattered
        data = bytearray(body)
        for _ in range(20 * (k + 1)):
            data.insert(rng.randrange(len(data)), rng.randrange(0x80, 0x100))
        cases.append(Case(f"utf8-scattered-{k}", "invalid-utf8", data=bytes(data), expect=_all("either")))
    return cases


def utf16() -> list[Case]:
    text = PARAGRAPHS
    cases = [
        Case("utf16-bom", "utf16", data=text.encode("utf-16"), expect=_all("ok"), exact=text),
        Case("utf16-le-bom", "utf16", data=codecs.BOM_UTF16_LE + text.encode("utf-16-le"), expect=_all("ok"), exact=text),
        Case("utf16-be-bom", "utf16", data=codecs.BOM_UTF16_BE + text.encode("utf-16-be"), expect=_all("ok"), exact=text),
        Case("utf16-le-nobom", "utf16", data=text.encode("utf-16-le"), expect=_all("ok"), exact=text),
        Case("utf16-be-nobom", "utf16", data=text.encode("utf-16-be"), expect=_all("ok"), exact=text),
        Case("utf32-bom", "utf16", data=text.encode("utf-32"), expect=_all("ok"), exact=text),
        Case("utf32-le-nobom", "utf16", data=text.encode("utf-32-le"), expect=_all("refused")),
        Case("utf16-truncated", "utf16", data=text.encode("utf-16")[:-1], expect=_all("either")),
        Case("utf16-bom-garbage", "utf16", data=codecs.BOM_UTF16_LE + b"\x00\xd8" * 100, expect=_all("either")),
        Case("utf16-html", "utf16", data=f"<html><body><p>{SHORT}</p></body></html>".encode("utf-16"), name="p.html", expect=_all("either")),
        Case("utf8-bom", "utf16", data=codecs.BOM_UTF8 + text.encode(), expect=_all("ok"), exact="\ufeff" + text),
        Case("utf7", "utf16", data=text.encode("utf-7"), expect=_all("either")),
        Case("utf16-emoji", "utf16", data=(text + " \U0001f600\U0001f4a5").encode("utf-16"), expect=_all("ok")),
        Case("utf16-nobom-short", "utf16", data="Hi".encode("utf-16-le"), expect=_all("refused")),
    ]  # fmt: skip
    return cases


LEGACY = [
    ("They walked along the rivi\u00e8re at dusk, past the caf\u00e9 where na\u00efve tourists "
     "ate cr\u00eapes, and talked about the \u00e9lection and the economy.", "latin-1"),
    ("The B\u00fcrgermeister of M\u00fcnchen said the Stra\u00dfe would close; \u201cno\u201d \u2013 "
     "that\u2019s final\u2026 The council agreed on Tuesday.", "cp1252"),
    ("The president, Pedro S\u00e1nchez, said the ni\u00f1o would return to M\u00e1laga before "
     "the summer, the council agreed.", "cp1252"),
    ("The composer Anton\u00edn Dvo\u0159\u00e1k was born north of Prague, the council said on "
     "Tuesday, and his music is still loved.", "cp1250"),
    ("The mayor of \u0141\u00f3d\u017a and the people of Krak\u00f3w said the vote in "
     "Pozna\u0144 was close; Wroc\u0142aw agreed.", "iso8859_2"),
    ("The mayor of \u0141\u00f3d\u017a and the people of Krak\u00f3w said the vote in "
     "Pozna\u0144 was close; Wroc\u0142aw agreed.", "cp1250"),
    ("The mayor of Gy\u0151r said the \u00e1rv\u00edzt\u0171r\u0151 plan would be voted on "
     "Tuesday, the council agreed.", "cp1250"),
    ("The mayor of Timi\u015foara and the people of Bra\u015fov said the vote was close, the "
     "council agreed on Tuesday.", "iso8859_2"),
]  # fmt: skip


def legacy() -> list[Case]:
    cases = []
    for i, (text, codec) in enumerate(LEGACY):
        full = text + "\n\n" + SHORT
        cases.append(Case(f"legacy-{codec}-{i}", "legacy-encoding", data=full.encode(codec), expect=_all("ok"), exact=full))
        page = f"<html><head><meta charset=\"{codec}\"><title>News</title></head><body><article><p>{text}</p><p>{SHORT}</p></article></body></html>"
        cases.append(Case(f"legacy-html-{codec}-{i}", "legacy-encoding", data=page.encode(codec), name="page.html", expect=_all("ok")))
    return cases


def huge() -> list[Case]:
    limit_bytes, limit_chars = 5_000_000, 1_000_000
    return [
        Case("huge-bytes-over-cap", "huge", data=b"a " * (limit_bytes // 2 + 1), expect=_all("refused")),
        Case("huge-text-over-cap", "huge", text="word " * (limit_chars // 5 + 1), expect={
            "all": "refused"}),
        Case("huge-one-line", "huge", text="a" * 200_000, expect=_all("either")),
        Case("huge-one-word-sentence", "huge", text="The " + "x" * 50_000 + " bridge was repaired.", expect=_all("either")),
        Case("huge-many-paragraphs", "huge", text="\n\n".join(["Yes, the bridge."] * 300), expect=_all("either")),
        Case("huge-many-lines", "huge", text="\n".join(["The council met."] * 300), expect=_all("either")),
        Case("huge-long-article", "huge", text="\n\n".join([SHORT] * 12), expect=_all("ok")),
        Case("huge-html-over-cap", "huge", data=b"<p>" + b"x" * limit_bytes + b"</p>", name="big.html", expect=_all("refused")),
        Case("huge-feed-over-cap", "huge", data=b"<rss>" + b" " * limit_bytes + b"</rss>", name="big.xml", expect=_all("refused")),
        Case("huge-crlf", "huge", text="\r\n" * 100_000 + SHORT, expect=_all("ok")),
        Case("huge-title-line", "huge", text=("Title " * 400) + "\n\n" + SHORT, expect=_all("either")),
        Case("huge-spaces-around", "huge", text=" " * 300_000 + SHORT + " " * 300_000, expect=_all("ok")),
        Case("huge-tokens-over-cap", "huge", text=SHORT + " " + "&" * 300_000, expect=_all("refused")),
    ]  # fmt: skip


def _page(body: str, title: str = "News") -> str:
    return f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"


def nested_html() -> list[Case]:
    p = f"<p>{SHORT}</p>"
    bodies = {
        "div-100": "<div>" * 100 + p + "</div>" * 100,
        "div-1000": "<div>" * 1000 + p + "</div>" * 1000,
        "div-10000": "<div>" * 10_000 + p + "</div>" * 10_000,
        "div-100000-unclosed": "<div>" * 100_000 + p,
        "b-unclosed-20000": "<b>" * 20_000 + p,
        "table-nest-2000": "<table><tr><td>" * 2000 + p,
        "list-nest-5000": "<ul><li>" * 5000 + p,
        "many-p-500": "<p>Yes.</p>" * 500 + p,
        "many-p-60000": "<p>Yes.</p>" * 60_000 + p,  # over the tag cap
        "attr-1mb": f'<div title="{"a" * 1_000_000}">{p}</div>',
        "comment-unclosed": "<!--" + p * 10,
        "comments-50000": "<!-- x -->" * 50_000 + p,
        "entities-2000": "&amp;" * 2000 + p,
        "numeric-entities": "&#x110000;&#0;&#xD800;&#65;" * 1000 + p,
        "cdata": "<![CDATA[" + SHORT + "]]>" + p,
        "svg-nest": "<svg>" * 3000 + p,
        "frameset": "<frameset><frame src=x></frameset>" + p,
        "no-body-text": "<script>var a = 1;</script><style>p{}</style>",
        "malformed-tags": "<p<p<p<<>>></p " * 500 + p,
        "null-in-html": "<p>\x00\x00</p>" + p,
        "template-shadow": "<template><p>hidden</p></template>" * 1000 + p,
        "huge-select": "<select>" + "<option>x</option>" * 50_000 + "</select>" + p,
        "base-href": '<base href="http://169.254.169.254/">' + p,
        "meta-refresh": '<meta http-equiv="refresh" content="0;url=http://127.0.0.1/">' + p,
    }
    return [
        Case(f"html-{name}", "nested-html", data=_page(body).encode(), name="page.html", expect=_all("either"))
        for name, body in bodies.items()
    ]


XSS = [
    '<script>alert("unspin-xss-1")</script>',
    '<img src=x onerror=alert("unspin-xss-2")>',
    '<svg onload=alert("unspin-xss-3")>',
    '<a href="javascript:alert(\'unspin-xss-4\')">click</a>',
    '"><script>alert("unspin-xss-5")</script>',
    "'><svg/onload=alert('unspin-xss-6')>",
    '<iframe srcdoc="<script>alert(\'unspin-xss-7\')</script>">',
    "{{7*7}} {% raw %}unspin-xss-8{% endraw %} ${7*7}",
    '</textarea><script>alert("unspin-xss-9")</script>',
    '</title><script>alert("unspin-xss-10")</script>',
    '<style>*{background:url("javascript:alert(11)")}</style>unspin-xss-11',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert("unspin-xss-12")>',
    '<details open ontoggle=alert("unspin-xss-13")>',
    "\u202eunspin-xss-14\u202c reversed",
    "\x1b]0;unspin-xss-15\x07\x1b[2J\x1b[31mred",
    "[bold red]unspin-xss-16[/bold red] [link=http://evil.example]x[/link]",
    '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">unspin-xss-17',
    "<!--<script>alert('unspin-xss-18')</script>-->",
    '<form action="http://evil.example"><input name=x></form>unspin-xss-19',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(20)">unspin-xss-20',
]


def scripts() -> list[Case]:
    cases = []
    for i, payload in enumerate(XSS):
        raw = (payload,) if "<" in payload else ()
        text = f"Script test {i}\n\n{SHORT} {payload} Everyone knows it.\n\n{SHORT}"
        # control characters (terminal escapes) make a file look binary: it may be refused
        outcome = {"api": "ok", "all": "either" if "\x1b" in payload else "ok"}
        cases.append(Case(f"xss-text-{i:02d}", "script-payload", text=text, expect=outcome, exact=text, raw_forbidden=raw))
        # in a page: markup is stripped by extraction; escaped markup becomes text
        escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        page = _page(f"<article><h1>Headline {i}</h1><p>{SHORT}</p>{payload}<p>{escaped} {SHORT}</p></article>", f"T{i}{payload}")
        cases.append(Case(f"xss-html-{i:02d}", "script-payload", data=page.encode(), name="page.html", expect=_all("ok"), raw_forbidden=raw))
    return cases


def _rss(items: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{doctype}<rss version="2.0"><channel>'
        f"<title>Feed</title><link>http://example.com/</link>{items}</channel></rss>"
    ).encode()


def _item(title: str, text: str, link: str = "") -> str:
    link_xml = f"<link>{link}</link>" if link else ""
    return f"<item><title>{title}</title>{link_xml}<description>{text}</description></item>"


def feeds() -> list[Case]:
    lol = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    quadratic = '<!ENTITY big "' + "x" * 20_000 + '">'
    doctypes = {
        "billion-laughs": f"<!DOCTYPE rss [{lol}]>",
        "quadratic": f"<!DOCTYPE rss [{quadratic}]>",
        "xxe-file": '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        "xxe-http": '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "http://127.0.0.1:{canary}/xxe">]>',
        "xxe-param": '<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:{canary}/dtd"> %p;]>',
        "xxe-dtd": '<!DOCTYPE rss SYSTEM "http://127.0.0.1:{canary}/x.dtd">',
        "xxe-php": '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "php://filter/resource=/etc/passwd">]>',
        "xxe-netdoc": '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "netdoc:///etc/passwd">]>',
    }
    uses = {
        "billion-laughs": "&lol9;", "quadratic": "&big;" * 2000, "xxe-file": "&xxe;",
        "xxe-http": "&xxe;", "xxe-param": "x", "xxe-dtd": "x", "xxe-php": "&xxe;", "xxe-netdoc": "&xxe;",
    }  # fmt: skip
    cases = []
    for name, doctype in doctypes.items():
        for j, where in enumerate(("title", "description")):
            use = uses[name]
            item = _item(use if where == "title" else "Entry", f"{SHORT} {use if where == 'description' else ''}")
            data = _rss(item + _item("Second", PARAGRAPHS), doctype)
            cases.append(Case(f"feed-{name}-{j}", "xml-entity-feed", data=data, name="feed.xml", expect=_all("either"), forbidden=(PASSWD, "lollollollollollollollol")))
        atom = (f'<?xml version="1.0"?>{doctype}<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
                f"<entry><title>E</title><id>1</id><content type=\"html\">{SHORT} {uses[name]}</content></entry></feed>")  # fmt: skip
        cases.append(Case(f"atom-{name}", "xml-entity-feed", data=atom.encode(), name="feed.atom", expect=_all("either"), forbidden=(PASSWD, "lollollollollollollollol")))
    others = {
        "empty-rss": _rss(""),
        "no-text-items": _rss(_item("A", "") * 5),
        "malformed": b"<rss><channel><item><title>x</title><description>" + _bytes_of(SHORT) + b"</chan",
        "links-private": _rss(_item("A", "", "http://127.0.0.1:{canary}/a") + _item("B", "", "http://169.254.169.254/latest/meta-data/")),
        "links-schemes": _rss(_item("A", "", "file:///etc/passwd") + _item("B", "", "gopher://127.0.0.1:{canary}/_x")),
        "html-entries": _rss(_item("A", "&lt;script&gt;alert(1)&lt;/script&gt; " + SHORT) + _item("B", PARAGRAPHS)),
        "cdata-script": _rss("<item><title>C</title><description><![CDATA[<script>alert('unspin-xss-f')</script>" + SHORT + "]]></description></item>"),
        "not-xml-but-xml-name": _bytes_of(PARAGRAPHS),
        "xml-bomb-attrs": _rss("<item " + " ".join(f'a{i}="x"' for i in range(5000)) + f"><title>T</title><description>{SHORT}</description></item>"),
        "deep-nesting": _rss("<x>" * 5000 + _item("T", SHORT) + "</x>" * 5000),
        "utf16-feed": _rss(_item("T", PARAGRAPHS)).decode().replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16"),
        "wrong-encoding-decl": _rss(_item("T", PARAGRAPHS)).replace(b'encoding="utf-8"', b'encoding="x-no-such"'),
    }  # fmt: skip
    for name, data in others.items():
        cases.append(Case(f"feed-{name}", "feed", data=data, name="feed.xml", expect=_all("either"), forbidden=(PASSWD,)))
    return cases


# Local servers that misbehave (tests/hostile_servers.py), by the name of their behaviour.
SERVER_CASES = {
    "slow_headers": "refused", "slow_body": "refused", "silent": "refused", "slow_tls": "refused",
    "reset_at_once": "refused", "reset_mid_body": "refused", "short_body": "refused",
    "garbage": "refused", "http09": "refused", "endless_chunks": "refused",
    "huge_headers": "refused", "bomb_gzip_gzip": "refused", "bomb_deflate": "refused",
    "bomb_five_layers": "refused", "brotli": "refused", "empty_gzip_members": "refused",
    "image": "refused", "not_found": "refused", "redirect_loop": "refused",
    "redirect_to_metadata": "refused", "good_gzip": "ok", "good_latin1": "ok",
}  # fmt: skip


def servers() -> list[Case]:
    return [
        Case(f"server-{name}", "hostile-server", url=f"{{{name}}}", private=True, expect=_all(outcome))
        for name, outcome in SERVER_CASES.items()
    ]


SSRF_HOSTS = [
    "127.0.0.1", "127.1", "127.0.1", "127.000.000.001", "2130706433", "0x7f000001", "0x7f.0.0.1",
    "0x7f.0x0.0x0.0x1", "017700000001", "0177.0.0.1", "0177.1", "127.255.255.254", "localhost",
    "LOCALHOST", "localhost.", "LocalHost", "[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]", "[0::1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[64:ff9b::a9fe:a9fe]",
    "[2002:7f00:1::]", "[2001:0:4136:e378:8000:63bf:80ff:fffe]", "[::ffff:169.254.169.254]",
    "0.0.0.0", "0", "[::]", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255",
    "192.168.0.1", "192.168.255.255", "169.254.169.254", "169.254.0.1", "[fe80::1]",
    "[fc00::1]", "[fd00::1]", "100.64.0.1", "100.127.255.255", "198.18.0.1", "224.0.0.1",
    "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.0.1", "192.0.2.1",
    "198.51.100.1", "203.0.113.1", "[ff02::1]", "[::ffff:10.0.0.1]", "[::ffff:192.168.1.1]",
    "3232235777", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518",
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127\u30020\u30020\u30021", "127.0.0.1.",
    "%31%32%37.0.0.1", "[::1%25lo]", "metadata.google.internal", "localhost.localdomain",
    "ip6-localhost",
]  # fmt: skip
SSRF_URLS = [
    "http://example.com@127.0.0.1:{canary}/", "http://127.0.0.1:{canary}#@example.com/",
    "http://127.0.0.1:{canary}?@example.com/", "http://user:pass@127.0.0.1:{canary}/",
    "http://127.0.0.1:{canary}\\@example.com/", "HTTP://127.0.0.1:{canary}/", "hTTp://127.0.0.1:{canary}/",
    "http:/127.0.0.1:{canary}/", "http:\\\\127.0.0.1:{canary}/", "//127.0.0.1:{canary}/",
    "file:///etc/passwd", "file://localhost/etc/passwd", "ftp://127.0.0.1:{canary}/",
    "gopher://127.0.0.1:{canary}/_GET", "dict://127.0.0.1:{canary}/info", "ldap://127.0.0.1:{canary}/",
    "jar:http://127.0.0.1:{canary}/x!/", "data:text/html,<script>alert(1)</script>",
    "javascript:alert(1)", "ws://127.0.0.1:{canary}/", "https://127.0.0.1:{canary}/",
    "http://[::1]:{canary}/", " http://127.0.0.1:{canary}/", "http://127.0.0.1:{canary}/\r\nHost: x",
    "http://127.0.0.1:{canary}/%0d%0aX: y", "http://0:{canary}/",
]  # fmt: skip


def ssrf() -> list[Case]:
    urls = [f"http://{host}:{{canary}}/latest/meta-data/" for host in SSRF_HOSTS] + SSRF_URLS
    cases = [Case(f"ssrf-{i:03d}", "ssrf", url=u, expect=_all("refused")) for i, u in enumerate(urls)]
    for i, host in enumerate(SSRF_HOSTS[::6]):  # a feed whose entries only link: each is fetched
        link = f"http://{host}:{{canary}}/story".replace("&", "&amp;")
        data = _rss(_item("A", "", link) + _item("B", "", link + "2"))
        cases.append(Case(f"ssrf-feed-{i:02d}", "ssrf", data=data, name="feed.xml", expect=_all("refused")))
    return cases


ODD_TEXTS = {
    "crlf": PARAGRAPHS.replace("\n", "\r\n"),
    "cr-only": PARAGRAPHS.replace("\n", "\r"),
    "line-separators": PARAGRAPHS.replace("\n\n", "\u2029").replace("\n", "\u2028"),
    "form-feeds": PARAGRAPHS.replace("\n\n", "\n\x0c\n"),
    "tabs": PARAGRAPHS.replace(" ", "\t"),
    "nbsp": PARAGRAPHS.replace(" ", "\u00a0"),
    "rtl-override": PARAGRAPHS.replace("bridge", "\u202ebridge\u202c"),
    "bidi-isolates": PARAGRAPHS.replace("council", "\u2067council\u2069"),
    "zalgo": PARAGRAPHS.replace("e", "e\u0301\u0316\u0337\u0489"),
    "zero-width-inside": PARAGRAPHS.replace("o", "o\u200b"),
    "soft-hyphens": PARAGRAPHS.replace("ge", "g\u00ade"),
    "emoji": PARAGRAPHS + " \U0001f469\u200d\U0001f469\u200d\U0001f467\U0001f3f4\U000e0067\U000e0062\U000e007f",
    "emoji-dense": "\n\n".join(p + " \U0001f525" * 30 for p in PARAGRAPHS.split("\n\n")),
    "combining-only-words": PARAGRAPHS + " \u0301\u0302\u0303\u0304",
    "long-word": PARAGRAPHS + " " + "supercalifragilistic" * 50,
    "no-spaces": PARAGRAPHS.replace(" ", ""),
    "all-caps": PARAGRAPHS.upper(),
    "no-punctuation": "".join(c for c in PARAGRAPHS if c.isalnum() or c.isspace()),
    "markdown": "# Bridge\n\n**" + SHORT + "**\n\n> quote\n\n- a\n- b\n\n```\ncode\n```",
    "semeval-layout": "Bridge vote\n\n" + "\n".join(PARAGRAPHS.split("\n\n")),
    "html-in-text": "<p>" + SHORT + "</p>\n\n<b>" + SHORT + "</b>",
    "json-in-text": '{"text": "' + SHORT + '", "x": [1, 2]}',
    "byline-first": "by Stephen Lendman\n\n" + PARAGRAPHS,
    "byline-second": "Bridge vote\n\nBy Jo Roe, Reuters\n\n" + SHORT,
    "title-only-then-text": "BRIDGE\n\n" + SHORT,
    "numbers-and-words": SHORT + " " + " ".join(str(i) for i in range(300)),
    "repeated-20": " ".join([SHORT] * 20),
    "mixed-scripts": PARAGRAPHS + " Москва, 東京, القاهرة, Αθήνα are far away.",
    "math-symbols": PARAGRAPHS + " \u2200x\u2208\u211d: x\u00b2 \u2265 0 \U0001d400\U0001d401",
    "private-use": PARAGRAPHS + " \ue000\uf8ff\U000f0000",
    "noncharacters": PARAGRAPHS + " \ufffe\uffff\ufdd0",
    "replacement-chars": PARAGRAPHS.replace("a", "\ufffd", 5),
    "control-chars-sparse": PARAGRAPHS.replace(".", ".\x07", 2),
    "ansi-colors": PARAGRAPHS.replace("council", "\x1b[31mcouncil\x1b[0m"),
    "very-long-title": "T" * 250 + "\n\n" + SHORT,
    "one-sentence": SHORT,
    "twenty-chars": "The bridge is broken",
    "nineteen-chars": "The bridge is brok.",
    "question-headline": "Will the bridge hold?\n\n" + SHORT,
    "quotes-and-dashes": SHORT.replace("agreed", "\u201cagreed\u201d \u2014 ") + " \u2026",
    "trailing-bom": SHORT + "\ufeff",
    "middle-bom": SHORT[:40] + "\ufeff" + SHORT[40:],
}


def odd_texts() -> list[Case]:
    outcome = {"nineteen-chars": "refused", "no-spaces": "either", "numbers-and-words": "either",
               "mixed-scripts": "either", "combining-only-words": "either", "long-word": "either",
               "json-in-text": "either", "html-in-text": "either"}  # fmt: skip
    return [
        Case(f"odd-{name}", "odd-text", text=text, expect=_all(outcome.get(name, "ok")),
             exact=text if outcome.get(name, "ok") == "ok" else None)
        for name, text in ODD_TEXTS.items()
    ]  # fmt: skip


FOREIGN = {
    "fr": "Le conseil municipal s'est r\u00e9uni mardi et a d\u00e9cid\u00e9, apr\u00e8s un long d\u00e9bat, de r\u00e9parer le vieux pont avant l'hiver. Tout le monde sait que cela ne peut plus attendre, a d\u00e9clar\u00e9 le maire.",
    "de": "Der Stadtrat hat sich am Dienstag getroffen und nach einer langen Debatte beschlossen, die alte Br\u00fccke vor dem Winter zu reparieren. Jeder wei\u00df, dass es nicht l\u00e4nger warten kann, sagte der B\u00fcrgermeister.",
    "es": "El consejo se reuni\u00f3 el martes y acord\u00f3, despu\u00e9s de un largo debate, reparar el viejo puente antes del invierno. Todo el mundo sabe que no puede esperar m\u00e1s, dijo el alcalde de la ciudad.",
    "it": "Il consiglio comunale si \u00e8 riunito marted\u00ec e ha deciso, dopo un lungo dibattito, di riparare il vecchio ponte prima dell'inverno. Tutti sanno che non pu\u00f2 pi\u00f9 aspettare, ha detto il sindaco.",
    "ru": "\u0413\u043e\u0440\u043e\u0434\u0441\u043a\u043e\u0439 \u0441\u043e\u0432\u0435\u0442 \u0441\u043e\u0431\u0440\u0430\u043b\u0441\u044f \u0432\u043e \u0432\u0442\u043e\u0440\u043d\u0438\u043a \u0438 \u043f\u043e\u0441\u043b\u0435 \u0434\u043e\u043b\u0433\u0438\u0445 \u0434\u0435\u0431\u0430\u0442\u043e\u0432 \u0440\u0435\u0448\u0438\u043b \u043e\u0442\u0440\u0435\u043c\u043e\u043d\u0442\u0438\u0440\u043e\u0432\u0430\u0442\u044c \u0441\u0442\u0430\u0440\u044b\u0439 \u043c\u043e\u0441\u0442 \u0434\u043e \u0437\u0438\u043c\u044b. \u0412\u0441\u0435 \u0437\u043d\u0430\u044e\u0442, \u0447\u0442\u043e \u044d\u0442\u043e \u043d\u0435 \u043c\u043e\u0436\u0435\u0442 \u0436\u0434\u0430\u0442\u044c.",
    "pl": "Rada miejska zebra\u0142a si\u0119 we wtorek i po d\u0142ugiej debacie postanowi\u0142a naprawi\u0107 stary most przed zim\u0105. Wszyscy wiedz\u0105, \u017ce to nie mo\u017ce d\u0142u\u017cej czeka\u0107, powiedzia\u0142 burmistrz miasta.",
}  # fmt: skip


def foreign() -> list[Case]:
    cases = []
    for lang, text in FOREIGN.items():
        full = "\n\n".join([text, text, text])
        cases.append(Case(f"foreign-{lang}", "non-english", text=full, expect=_all("refused")))
        cases.append(Case(f"foreign-{lang}-file", "non-english", data=full.encode("utf-8"), expect=_all("refused")))
    return cases


def generate() -> list[Case]:
    """All cases, in a stable order with stable ids."""
    rng = random.Random(SEED)
    cases = [
        *empty(), *invisible(rng), *surrogates(), *binary(rng), *nul(), *invalid_utf8(rng),
        *utf16(), *legacy(), *huge(), *nested_html(), *scripts(), *feeds(), *servers(), *ssrf(),
        *odd_texts(), *foreign(),
    ]  # fmt: skip
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write each case's input to this directory")
    args = parser.parse_args()
    cases = generate()
    for cls, n in sorted(Counter(c.cls for c in cases).items()):
        print(f"{n:5d}  {cls}")
    print(f"{len(cases):5d}  in all")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for c in cases:
            if c.data is not None or c.text is not None:
                payload = c.data if c.data is not None else _bytes_of(c.text or "")
                (args.out / f"{c.id}{Path(c.name).suffix}").write_bytes(payload)
            else:
                (args.out / f"{c.id}.url").write_text((c.url or "") + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
