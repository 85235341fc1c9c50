"""The hostile suite: every generated case (tests/hostile_cases.py, over 500) through the
command line (in process; the four formats in turn, HTML for script payloads), the Python
API and the server (in process), each ending in a correct result or a clear error within
its time cap, with the process's memory under its cap, and nothing leaking.

Caps (SECURITY.md states them too): a case ends within CASE_SECONDS (a local misbehaving
web server within SERVER_CASE_SECONDS, the fetch deadline being 1.5 s here), and the peak
resident memory of the test process stays under MEMORY_CAP_MB, or MEMORY_GROWTH_MB above what
it already held when the suite began (other tests' imports: torch alone, where the training
extra is installed, adds a few hundred MB to a full run). The canary port must never
see a connection: every SSRF spelling is refused before anything connects.

Run it alone with ``pytest -m hostile``; it is part of ``pytest -q`` too.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hostile_servers as hs
import pytest
from click.testing import CliRunner
from hostile_cases import CHANNELS, Case, generate

import unspin
from unspin.cli import cli
from unspin.config import Settings, load_settings
from unspin.document import Analysis
from unspin.errors import UnspinError

pytestmark = [pytest.mark.hostile, pytest.mark.usefixtures("clean_env")]

CASES = generate()
CASE_SECONDS = 10.0
SERVER_CASE_SECONDS = 6.0
MEMORY_CAP_MB = 1200
MEMORY_GROWTH_MB = 700
FETCH = {"fetch_timeout": 1.5, "connect_timeout": 1.0, "read_timeout": 1.0}
FORMATS = ("text", "json", "jsonl", "html")
_LOCAL_TLS = ("slow_tls",)


def _canary(conn: Any, stop: Any) -> None:
    """Nothing may ever connect here: it stands for the private network."""


BEHAVIOURS: dict[str, hs.Behaviour] = {
    "slow_headers": hs.slow_headers,
    "slow_body": hs.slow_body,
    "silent": hs.silent,
    "slow_tls": hs.slow_tls,
    "reset_at_once": hs.reset_at_once,
    "reset_mid_body": hs.reset_mid_body,
    "short_body": hs.short_body,
    "garbage": hs.garbage,
    "http09": hs.http09,
    "endless_chunks": hs.endless_chunks,
    "huge_headers": hs.huge_headers,
    "bomb_gzip_gzip": hs.respond(hs.gzip_bomb(2), {"Content-Encoding": "gzip, gzip"}),
    "bomb_deflate": hs.respond(hs.deflate_bomb(), {"Content-Encoding": "deflate"}),
    "bomb_five_layers": hs.respond(hs.gzip_bomb(5, 1 << 20), {"Content-Encoding": ", ".join(["gzip"] * 5)}),
    "brotli": hs.respond(b"\x1b\x03\x00\xf8", {"Content-Encoding": "br"}),
    "empty_gzip_members": hs.respond(hs.empty_gzip_members(5000), {"Content-Encoding": "gzip"}),
    "image": hs.respond(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, {"Content-Type": "image/png"}),
    "not_found": hs.respond(b"gone", status="404 Not Found"),
    "redirect_loop": hs.respond(b"", {"Location": "/again"}, status="302 Found"),
    "redirect_to_metadata": hs.respond(
        b"", {"Location": "http://169.254.169.254/latest/meta-data/"}, status="302 Found"
    ),
    "good_gzip": hs.respond(
        hs.gzip_stream([hs.PAGE]), {"Content-Encoding": "gzip", "Content-Type": "text/html"}
    ),
    "good_latin1": hs.respond(
        ("The boat drifted down the rivi\u00e8re past the old caf\u00e9, the council said on "
         "Tuesday, after a long debate about the bridge.").encode("latin-1"),
        {"Content-Type": "text/plain"},
    ),  # fmt: skip
}


@dataclass
class Local:
    urls: dict[str, str]
    canary: hs.RawServer
    servers: list[hs.RawServer] = field(default_factory=list)

    def fill(self, value: str) -> str:
        value = value.replace("{canary}", str(self.canary.port))
        return re.sub(r"\{(\w+)\}", lambda m: self.urls.get(m.group(1), m.group(0)), value)


@pytest.fixture(scope="module")
def local() -> Iterator[Local]:
    servers = {name: hs.RawServer(b) for name, b in BEHAVIOURS.items()}
    canary = hs.RawServer(_canary)
    urls = {
        name: s.url().replace("http://", "https://" if name in _LOCAL_TLS else "http://")
        for name, s in servers.items()
    }
    try:
        yield Local(urls, canary, list(servers.values()))
    finally:
        for s in [*servers.values(), canary]:
            s.close()


def _settings(case: Case) -> Settings:
    return load_settings(allow_private_urls=case.private, **FETCH)


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[bool, Any]]:
    """Two apps with the installed model: one that may fetch private URLs (for the local
    misbehaving servers), one that may not (the SSRF spellings)."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from unspin.server import create_app

    opened = {}
    stack = []
    for private in (False, True):
        settings = load_settings(allow_private_urls=private, server_request_timeout=10.0, **FETCH)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        stack.append(client.__enter__())
        opened[private] = client
    try:
        yield opened
    finally:
        for client in stack:
            client.__exit__(None, None, None)


# ------------------------------------------------------------------------------ checks


@dataclass
class Outcome:
    ok: bool
    analyses: list[dict[str, Any]] = field(default_factory=list)  # Analysis.to_dict() form
    outputs: list[str] = field(default_factory=list)  # everything written, to search
    html: str = ""
    error: str = ""


def _check_analysis(case: Case, data: dict[str, Any]) -> None:
    article = data["article"]
    text = article["text"]
    if case.exact is not None:
        assert text == case.exact
    end = 0
    for p in article["paragraphs"]:
        assert end <= p["start"] <= p["end"] <= len(text)
        end = p["end"]
    for s in data["spans"]:
        assert 0 <= s["start"] < s["end"] <= len(text), s
        assert 0.0 <= s["score"] <= 1.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024 * 1024)


@pytest.fixture(scope="module")
def memory_cap() -> float:
    """Set up before the first case runs."""
    return max(MEMORY_CAP_MB, _peak_mb() + MEMORY_GROWTH_MB)


def _check(case: Case, channel: str, outcome: Outcome, elapsed: float, local: Local, memory_cap: float) -> None:
    cap = SERVER_CASE_SECONDS if case.private else CASE_SECONDS
    assert elapsed < cap, f"{case.id} via {channel} took {elapsed:.1f} s (cap {cap:g} s)"
    peak_mb = _peak_mb()
    assert peak_mb < memory_cap, f"peak memory {peak_mb:.0f} MB after {case.id} via {channel} (cap {memory_cap:.0f} MB)"
    assert local.canary.connections == 0, f"{case.id} via {channel} reached the canary"
    expected = case.expected(channel)
    if expected == "ok":
        assert outcome.ok, f"{case.id} via {channel} was refused: {outcome.error}"
    elif expected == "refused":
        assert not outcome.ok, f"{case.id} via {channel} was analysed, not refused"
    if outcome.ok:
        assert outcome.analyses or channel == "cli", f"{case.id}: success without an analysis"
        for analysis in outcome.analyses:
            _check_analysis(case, analysis)
    else:
        message = outcome.error
        assert message and len(message) > 15 and "Traceback" not in message, message
        assert "bug in unspin" not in message and "internal_error" not in message, message
    for text in outcome.outputs:
        for bad in case.forbidden:
            assert bad not in text, f"{bad!r} leaked via {channel}"
    for bad in case.raw_forbidden:
        assert bad not in outcome.html, f"{bad!r} unescaped in the HTML report"


# ------------------------------------------------------------------------------ channels


def _on_disk(case: Case, local: Local, tmp_path: Path) -> str:
    if case.url is not None:
        return local.fill(case.url)
    data = case.data if case.data is not None else (case.text or "").encode("utf-8", "surrogatepass")
    path = tmp_path / case.name
    path.write_bytes(data.replace(b"{canary}", str(local.canary.port).encode()))
    return str(path)


def run_cli(case: Case, local: Local, tmp_path: Path, fmt: str) -> Outcome:
    source = _on_disk(case, local, tmp_path)
    args = ["analyze", source, "--format", fmt, "--no-color"]
    if case.private:
        args.append("--allow-private")
    env = {f"UNSPIN_{k.upper()}": str(v) for k, v in FETCH.items()}
    result = CliRunner().invoke(cli, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    out, err = result.stdout, result.stderr
    assert "Traceback" not in out + err
    if result.exit_code != 0:
        assert result.exit_code in (2, 3), f"exit {result.exit_code}: {err}"
        errors = [line for line in err.splitlines() if line.startswith("unspin: error: ")]
        assert len(errors) == 1, err
        return Outcome(False, outputs=[out, err], error=errors[0])
    if fmt == "json":
        data = json.loads(out)
        analyses = data if isinstance(data, list) else [data]
    elif fmt == "jsonl":
        analyses = [json.loads(line) for line in out.splitlines() if line.strip()]
    else:  # text and html carry no offsets (the API and the server's JSON are checked)
        assert out.strip(), f"{case.id}: exit 0 and nothing written"
        analyses = []
    return Outcome(True, analyses, [out, err], html=out if fmt == "html" else "")


def run_api(case: Case, local: Local, tmp_path: Path) -> Outcome:
    settings = _settings(case)
    try:
        if case.text is not None and case.data is None:
            analyses: list[Analysis] = [unspin.analyze(case.text, settings=settings)]
        else:
            articles = unspin.load_articles(_on_disk(case, local, tmp_path), settings=settings)
            analyses = [unspin.analyze(a, settings=settings) for a in articles]
    except UnspinError as err:
        return Outcome(False, error=str(err), outputs=[str(err)])
    dicts = [json.loads(json.dumps(a.to_dict(), ensure_ascii=False)) for a in analyses]
    return Outcome(True, dicts, [json.dumps(d, ensure_ascii=False) for d in dicts])


def run_server(case: Case, local: Local, clients: dict[bool, Any]) -> Outcome:
    client = clients[case.private]
    if case.url is not None:
        r = client.post("/api/analyze", json={"url": local.fill(case.url)})
    elif case.data is None:  # JSON escapes lone surrogates, as a browser's would not
        body = json.dumps({"text": case.text or ""}).encode()
        r = client.post("/api/analyze", content=body, headers={"content-type": "application/json"})
    else:
        data = case.data.replace(b"{canary}", str(local.canary.port).encode())
        r = client.post("/api/analyze", files={"file": (case.name, data, "application/octet-stream")})
    assert r.status_code < 500, f"{case.id}: HTTP {r.status_code} {r.text[:300]}"
    body = r.json()
    if r.status_code != 200:
        assert set(body) == {"error"} and body["error"]["code"], body
        return Outcome(False, error=body["error"]["message"], outputs=[r.text])
    return Outcome(True, [body], [r.text])


# ------------------------------------------------------------------------------ the suite


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 500
    classes = {c.cls for c in CASES}
    assert {"empty", "invisible", "surrogate", "binary", "nul", "invalid-utf8", "utf16",
            "huge", "nested-html", "script-payload", "xml-entity-feed", "hostile-server",
            "ssrf"} <= classes  # fmt: skip


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(
    memory_cap: float, case: Case, channel: str, local: Local, clients: dict[bool, Any], tmp_path: Path
) -> None:
    if channel not in case.channels:
        pytest.skip(f"{case.id} is not for {channel}")
    started = time.monotonic()
    if channel == "cli":
        index = CASES.index(case)
        fmt = "html" if case.raw_forbidden else FORMATS[index % len(FORMATS)]
        outcome = run_cli(case, local, tmp_path, fmt)
    elif channel == "api":
        outcome = run_api(case, local, tmp_path)
    else:
        outcome = run_server(case, local, clients)
    _check(case, channel, outcome, time.monotonic() - started, local, memory_cap)
