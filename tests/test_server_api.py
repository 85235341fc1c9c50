"""The web server's JSON API and pages, through FastAPI's TestClient (no network, no port).

Every bad input must get a JSON error with the right 4xx (never a 500), every response
the security headers, and /api/health must answer while the model is busy.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stand_in import PhraseModel

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")

from fastapi.testclient import TestClient  # noqa: E402

from unspin.analyze import NO_MODEL_NOTE  # noqa: E402
from unspin.config import Settings, load_settings  # noqa: E402
from unspin.document import Analysis, Article  # noqa: E402
from unspin.ingest import from_text  # noqa: E402
from unspin.server import create_app  # noqa: E402
from unspin.server.errors import NotFoundError  # noqa: E402
from unspin.server.jobs import JobStore  # noqa: E402
from unspin.server.middleware import BodyLimitMiddleware  # noqa: E402
from unspin.taxonomy import TECHNIQUES  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
OP_ED = (EXAMPLES / "op-ed.txt").read_text("utf-8")
REPORT = (EXAMPLES / "report.txt").read_text("utf-8")
HOSTILE = (
    "A hostile headline <script>alert(1)</script>\n\n"
    'Everyone knows this is a disaster. <img src=x onerror=alert(1)> and <a href="javascript:'
    'alert(1)">x</a> are here to test that article text is always shown as text, never run.\n'
)


def _settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"connect_timeout": 0.5, "read_timeout": 0.5}
    base.update(overrides)
    return load_settings(**base)


@pytest.fixture
def client(clean_env: None) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(), model=PhraseModel())) as c:
        yield c


@pytest.fixture
def bare_client(clean_env: None) -> Iterator[TestClient]:
    """A server with no model, as before a model is installed."""
    with TestClient(create_app(_settings(), model=None)) as c:
        yield c


def assert_error(response: Any, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code is not None:
        assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    assert message.endswith((".", "?", ")")) and len(message) > 10
    return message


def assert_security_headers(response: Any) -> None:
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "base-uri 'none'" in csp and "form-action 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


# ---------------------------------------------------------------------------- info


def test_health_version_techniques(client: TestClient) -> None:
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok",
        "model_loaded": True,
        "analyses_running": 0,
        "analyses_queued": 0,
    }
    version = client.get("/api/version").json()
    assert version["unspin"] and version["model_id"] == "phrase-test-model"
    assert version["model_version"] == "0" and version["schema_version"] == "1.1"
    taxonomy = client.get("/api/techniques").json()
    assert len(taxonomy["techniques"]) == len(TECHNIQUES)
    assert all(t["definition"] for t in taxonomy["techniques"])
    assert {"categories", "frames", "genres"} <= set(taxonomy)
    assert_security_headers(health)


def test_version_without_model(bare_client: TestClient) -> None:
    version = bare_client.get("/api/version").json()
    assert version["model_id"] is None and version["model_version"] is None
    assert bare_client.get("/api/health").json()["model_loaded"] is False


def test_openapi_document(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    assert {"/api/analyze", "/api/compare", "/api/jobs", "/api/jobs/{job_id}"} <= set(paths)
    body = paths["/api/analyze"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)
    assert "AnalysisOut" in doc["components"]["schemas"]
    assert "/" not in paths  # pages are not API
    assert client.get("/docs").status_code == 404  # no Swagger UI (it needs a CDN)


# ---------------------------------------------------------------------------- analyze


def test_analyze_text(client: TestClient) -> None:
    r = client.post("/api/analyze", json={"text": OP_ED})
    assert r.status_code == 200
    data = r.json()
    assert data["schema_version"] == "1.1"
    assert data["model_id"] == "phrase-test-model"
    text = data["article"]["text"]
    assert text == OP_ED
    assert data["spans"], "the phrase model marks phrases of the op-ed"
    for span in data["spans"]:
        assert 0 <= span["start"] < span["end"] <= len(text)
        assert 0.0 <= span["score"] <= 1.0
    assert any(text[s["start"] : s["end"]].lower() == "shameful" for s in data["spans"])
    assert Analysis.from_dict(data).article.title == OP_ED.splitlines()[0]
    assert_security_headers(r)


def test_analyze_without_model_says_so(bare_client: TestClient) -> None:
    data = bare_client.post("/api/analyze", json={"text": OP_ED}).json()
    assert data["spans"] == [] and data["notes"] == [NO_MODEL_NOTE]


def test_analyze_uploads(client: TestClient) -> None:
    r = client.post("/api/analyze", files={"file": ("op-ed.txt", OP_ED.encode(), "text/plain")})
    assert r.status_code == 200 and r.json()["spans"]
    assert r.json()["article"]["file"] == "op-ed.txt"  # the upload's name comes back
    html = (FIXTURES / "news-page.html").read_bytes()
    r = client.post("/api/analyze", files={"file": ("page.html", html, "text/html")})
    assert r.status_code == 200, r.text
    assert r.json()["article"]["source_kind"] == "html"
    assert r.json()["article"]["file"] == "page.html"
    assert client.post("/api/analyze", json={"text": OP_ED}).json()["article"]["file"] is None
    # browsers send octet-stream for unknown types: the suffix decides
    r = client.post(
        "/api/analyze", files={"file": ("op-ed.txt", OP_ED.encode(), "application/octet-stream")}
    )
    assert r.status_code == 200


BAD_JSON = [
    pytest.param({"text": ""}, 422, "invalid_input", id="empty-text"),
    pytest.param({"text": "   \n\n  "}, 422, "invalid_input", id="blank-text"),
    pytest.param({"text": "Too short."}, 422, "invalid_input", id="short-text"),
    pytest.param({}, 400, "bad_request", id="no-fields"),
    pytest.param({"text": OP_ED, "url": "https://a.example/"}, 400, "bad_request", id="both"),
    pytest.param({"text": 5}, 400, "bad_request", id="wrong-type"),
    pytest.param({"text": OP_ED, "extra": 1}, 400, "bad_request", id="extra-field"),
    pytest.param([OP_ED], 400, "bad_request", id="not-an-object"),
    pytest.param({"url": "http://127.0.0.1/admin"}, 403, "blocked_url", id="loopback"),
    pytest.param(
        {"url": "http://169.254.169.254/latest/meta-data/"}, 403, "blocked_url", id="metadata"
    ),
    pytest.param({"url": "http://[::1]:8000/"}, 403, "blocked_url", id="ipv6-loopback"),
    pytest.param({"url": "http://2130706433/"}, 403, "blocked_url", id="integer-ip"),
    pytest.param({"url": "http://10.1.2.3/"}, 403, "blocked_url", id="private"),
    pytest.param({"url": "file:///etc/passwd"}, 403, "blocked_url", id="file-scheme"),
    pytest.param({"url": "javascript:alert(1)"}, 403, "blocked_url", id="javascript"),
    pytest.param({"url": "/etc/passwd"}, 422, "invalid_input", id="server-path"),
    pytest.param({"url": "../pyproject.toml"}, 422, "invalid_input", id="relative-path"),
    pytest.param({"url": ""}, 422, "invalid_input", id="empty-url"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_JSON)
def test_analyze_bad_json_inputs(client: TestClient, body: Any, status: int, code: str) -> None:
    assert_error(client.post("/api/analyze", json=body), status, code)


def test_analyze_non_english(client: TestClient) -> None:
    french = (FIXTURES / "french.txt").read_text("utf-8")
    message = assert_error(client.post("/api/analyze", json={"text": french}), 422)
    assert "English" in message


def test_analyze_malformed_bodies(client: TestClient) -> None:
    json_type = {"content-type": "application/json"}
    message = assert_error(client.post("/api/analyze", content=b"{bad", headers=json_type), 400)
    assert "not valid JSON" in message
    assert_error(client.post("/api/analyze", content=b"", headers=json_type), 400)
    assert_error(client.post("/api/analyze", content=b"\xff\xfe", headers=json_type), 400)
    assert_error(
        client.post("/api/analyze", content=OP_ED, headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
    )
    assert_error(client.post("/api/analyze"), 415)
    assert_error(client.post("/api/compare", content=b"[", headers=json_type), 400)


def test_analyze_bad_uploads(client: TestClient) -> None:
    binary = bytes(range(256)) * 40
    assert_error(
        client.post("/api/analyze", files={"file": ("data.txt", binary, "text/plain")}),
        422,
        "invalid_input",
    )
    png = b"\x89PNG\r\n\x1a\n" + binary
    message = assert_error(
        client.post("/api/analyze", files={"file": ("photo.png", png, "image/png")}), 415
    )
    assert "photo.png" in message
    pdf = b"%PDF-1.7\n" + binary
    assert_error(
        client.post("/api/analyze", files={"file": ("paper.pdf", pdf, "application/octet-stream")}),
        415,
    )
    assert_error(client.post("/api/analyze", files={"file": ("empty.txt", b"", "text/plain")}), 422)
    # a form with no article in it, or several
    assert_error(client.post("/api/analyze", data={"other": "x"}), 400)
    assert_error(
        client.post("/api/analyze", data={"text": OP_ED, "url": "https://a.example/"}), 400
    )
    # the file name is the user's: only its base name is ever shown
    message = assert_error(
        client.post("/api/analyze", files={"file": ("../../etc/x.png", png, "image/png")}), 415
    )
    assert "etc" not in message


def test_body_cap_20_mb(client: TestClient) -> None:
    big = b'{"text": "' + b"a" * 20_000_000 + b'"}'
    r = client.post("/api/analyze", content=big, headers={"content-type": "application/json"})
    message = assert_error(r, 413, "too_large")
    assert "the limit is 6,000,000 (UNSPIN_SERVER_MAX_BODY_BYTES)" in message
    assert_security_headers(r)


def test_body_cap_without_content_length(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"a" * 1_000_000

    r = client.post("/api/analyze", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413, "too_large")
    r = client.post(
        "/api/analyze",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert_error(r, 413, "too_large")


def test_body_cap_when_content_length_lies() -> None:
    """The middleware counts what arrives, whatever Content-Length said."""
    read: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            read.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limit = 1000
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": b"x" * 400, "more_body": True}] * 10

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "headers": [(b"content-length", b"10")]}
    asyncio.run(BodyLimitMiddleware(app, max_bytes=limit)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert sum(read) <= limit  # the app never saw more than the cap
    assert len(chunks) == 7  # and the rest of the body was not even read


def test_text_length_cap(clean_env: None) -> None:
    with TestClient(create_app(_settings(max_text_chars=2000), model=PhraseModel())) as c:
        message = assert_error(c.post("/api/analyze", json={"text": OP_ED * 3}), 413, "too_large")
        assert "the limit is 2,000 (UNSPIN_MAX_TEXT_CHARS)" in message
        url = "https://example.com/" + "a" * 3000
        message = assert_error(c.post("/api/analyze", json={"url": url}), 422)
        assert f"{len(url):,} characters; the limit is 2,048 (UNSPIN_MAX_URL_CHARS)" in message
        upload = {"file": ("big.txt", b"word " * 1000, "text/plain")}
        with TestClient(create_app(_settings(max_input_bytes=1000), model=PhraseModel())) as small:
            message = assert_error(small.post("/api/analyze", files=upload), 413, "too_large")
        assert "the limit is 1,000 (UNSPIN_MAX_INPUT_BYTES)" in message


def test_timeout_is_a_json_504(clean_env: None) -> None:
    app = create_app(_settings(server_request_timeout=0.3), model=PhraseModel(delay=1.0))
    with TestClient(app) as c:
        message = assert_error(c.post("/api/analyze", json={"text": OP_ED}), 504, "timeout")
        assert "0.3 seconds" in message


def test_a_bug_is_a_logged_json_500(clean_env: None, caplog: pytest.LogCaptureFixture) -> None:
    """The catch-all exists for real bugs (no test above may reach it)."""

    class BrokenModel(PhraseModel):
        def analyze(self, article: Article) -> Analysis:
            if article.title == "Warm-up":
                return super().analyze(article)
            raise RuntimeError("boom")

    app = create_app(_settings(), model=BrokenModel())
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/analyze", json={"text": OP_ED})
        assert_error(r, 500, "internal_error")
        assert_security_headers(r)
    assert "boom" in caplog.text


def test_health_answers_while_the_model_works(clean_env: None) -> None:
    app = create_app(_settings(server_workers=1), model=PhraseModel(delay=2.0))
    with TestClient(app) as c:
        results: list[int] = []
        workers = [
            threading.Thread(
                target=lambda: results.append(
                    c.post("/api/analyze", json={"text": OP_ED}).status_code
                )
            )
            for _ in range(2)
        ]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 5
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            started = time.monotonic()
            health = c.get("/api/health").json()
            assert time.monotonic() - started < 0.5, "health must not wait for the model"
            if health["analyses_running"] == 1 and health["analyses_queued"] == 1:
                break
            time.sleep(0.02)
        assert health["analyses_running"] == 1 and health["analyses_queued"] == 1
        for w in workers:
            w.join(10)
        assert results == [200, 200]
        assert c.get("/api/health").json()["analyses_running"] == 0


# ---------------------------------------------------------------------------- compare


def test_compare(client: TestClient) -> None:
    r = client.post("/api/compare", json={"items": [{"text": OP_ED}, {"text": REPORT}]})
    assert r.status_code == 200, r.text
    data = r.json()
    assert len(data["analyses"]) == 2 and data["summary"]
    profiles = data["comparison"]["profiles"]
    assert len({p["tag"] for p in profiles}) == 2
    assert profiles[0]["span_count"] > profiles[1]["span_count"]
    assert data["comparison"]["rows"]


@pytest.mark.parametrize(
    "items",
    [
        pytest.param([{"text": OP_ED}], id="one"),
        pytest.param([{"text": OP_ED}] * 11, id="eleven"),
        pytest.param([{"text": OP_ED}, {}], id="empty-item"),
        pytest.param("nope", id="not-a-list"),
    ],
)
def test_compare_bad_requests(client: TestClient, items: Any) -> None:
    assert_error(client.post("/api/compare", json={"items": items}), 400, "bad_request")


def test_compare_errors_name_the_article(client: TestClient) -> None:
    r = client.post("/api/compare", json={"items": [{"text": OP_ED}, {"text": ""}]})
    assert assert_error(r, 422).startswith("Article 2: ")
    r = client.post("/api/compare", json={"items": [{"url": "http://127.0.0.1/"}, {"text": OP_ED}]})
    assert assert_error(r, 403, "blocked_url").startswith("Article 1: ")


# ---------------------------------------------------------------------------- jobs


def _wait(client: TestClient, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_job_with_texts_and_a_blocked_url(client: TestClient) -> None:
    r = client.post(
        "/api/jobs",
        json={"items": [{"text": OP_ED}, {"url": "http://169.254.169.254/"}, {"text": REPORT}]},
    )
    assert r.status_code == 202
    created = r.json()
    assert r.headers["location"] == created["status_url"]
    job = _wait(client, created["id"])
    assert job["status"] == "done" and job["done"] == job["total"] == 3
    errors = [x for x in job["results"] if x["error"]]
    assert [e["error"]["code"] for e in errors] == ["blocked_url"]
    reports = [x for x in job["results"] if x["analysis"]]
    assert len(reports) == 2
    # Results arrive in completion order: find the op-ed's report among them.
    pages = [client.get(x["report_url"]) for x in reports]
    assert all(p.status_code == 200 for p in pages)
    assert any("<mark" in p.text for p in pages)
    later = client.get(f"/api/jobs/{created['id']}?since=2&analyses=false").json()
    assert later["since"] == 2 and len(later["results"]) == 1
    assert later["results"][0]["analysis"] is None


def test_job_reads_a_feed(clean_env: None, http_server: Any) -> None:
    url = http_server.add("/feed.rss", (FIXTURES / "feed.rss").read_bytes(), "application/rss+xml")
    settings = _settings(allow_private_urls=True)
    with TestClient(create_app(settings, model=PhraseModel())) as c:
        r = c.post("/api/jobs", json={"items": [{"url": url}]})
        job = _wait(c, r.json()["id"])
        assert job["status"] == "done"
        assert job["total"] == job["done"] == len(job["results"]) >= 2
        # the single-article endpoint points feeds to the job API
        message = assert_error(c.post("/api/analyze", json={"url": url}), 422)
        assert "/api/jobs" in message


def test_job_limits(clean_env: None) -> None:
    app = create_app(_settings(), model=PhraseModel(delay=0.5), jobs=JobStore(max_running=1))
    with TestClient(app) as c:
        assert_error(c.post("/api/jobs", json={"items": [{"text": OP_ED}] * 21}), 400)
        assert_error(c.post("/api/jobs", json={"items": []}), 400)
        first = c.post("/api/jobs", json={"items": [{"text": OP_ED}]})
        assert first.status_code == 202
        assert_error(c.post("/api/jobs", json={"items": [{"text": OP_ED}]}), 429, "too_many_jobs")
        _wait(c, first.json()["id"])
        assert_error(c.get("/api/jobs/not-a-job"), 404, "not_found")
        assert_error(c.get(f"/api/jobs/{first.json()['id']}?since=-1"), 400)


def test_job_store_forgets_old_results_beyond_its_budget() -> None:
    store = JobStore(max_jobs=3, max_chars=2 * len(OP_ED))
    analysis = PhraseModel().analyze(from_text(OP_ED))
    first = store.store("single", ["a"], [analysis])
    second = store.store("single", ["b"], [analysis])
    third = store.store("single", ["c"], [analysis])  # over the text budget: drop the oldest
    with pytest.raises(NotFoundError):
        store.get(first.id)
    assert store.get(second.id) and store.get(third.id)
    running = [store.create("batch", ["x"], total=1) for _ in range(3)]
    assert len(store) == 3 and all(store.get(j.id) for j in running)  # running jobs stay


def test_jobs_expire() -> None:
    now = [0.0]
    store = JobStore(ttl=10, clock=lambda: now[0])
    job = store.create("batch", ["x"], total=1)
    job.finish("done", now[0])
    now[0] = 11
    with pytest.raises(Exception, match="No such job"):
        store.get(job.id)
    assert len(store) == 0


# ---------------------------------------------------------------------------- routing


def test_unknown_route_and_method(client: TestClient) -> None:
    r = client.get("/api/nothing-here")
    assert_error(r, 404, "not_found")
    assert_security_headers(r)
    assert_error(client.get("/no/such/page"), 404)
    r = client.delete("/api/analyze")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST"
    assert_error(client.get("/api/analyze"), 405)
    page = client.get("/no/such/page", headers={"accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "check the address" in page.text


def test_static_files_never_read_paths(client: TestClient) -> None:
    r = client.get("/static/app.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/app.css").status_code == 200
    etag = r.headers["etag"]
    assert client.get("/static/app.js", headers={"if-none-match": etag}).status_code == 304
    for path in (
        "/static/../server/app.py",
        "/static/%2e%2e%2fapp.py",
        "/static/..%2F..%2Fpyproject.toml",
        "/static/app.py",
        "/static//etc/passwd",
    ):
        assert client.get(path).status_code == 404, path


def test_host_and_origin_guard(client: TestClient) -> None:
    assert_error(client.get("/api/health", headers={"host": "evil.example"}), 400, "invalid_host")
    r = client.post(
        "/api/analyze", json={"text": OP_ED}, headers={"origin": "https://evil.example"}
    )
    assert_error(r, 403, "cross_origin")
    r = client.post(
        "/analyze",
        data={"text": OP_ED},
        headers={"sec-fetch-site": "cross-site", "origin": "null", "accept": "text/html"},
    )
    assert r.status_code == 403 and "another web site" in r.text
    same = client.post(
        "/api/analyze", json={"text": OP_ED}, headers={"origin": "http://testserver"}
    )
    assert same.status_code == 200
    # under Referrer-Policy: no-referrer browsers send "Origin: null" with their own forms
    own = client.post(
        "/analyze",
        data={"text": OP_ED},
        headers={"sec-fetch-site": "same-origin", "origin": "null"},
        follow_redirects=False,
    )
    assert own.status_code == 303


# ---------------------------------------------------------------------------- pages


def test_home_page(client: TestClient, bare_client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_security_headers(r)
    for field in ('for="text"', 'for="file"', 'for="url"', 'action="/analyze"'):
        assert field in r.text
    assert "<script>" not in r.text and "<script src=" in r.text  # no inline script
    assert "No model is installed" not in r.text
    assert NO_MODEL_NOTE in bare_client.get("/").text


def test_paste_then_report(client: TestClient) -> None:
    r = client.post("/analyze", data={"text": OP_ED}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    assert page.text.count('<mark class="hl') >= 10
    csp = page.headers["content-security-policy"]
    assert "'sha256-" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert 'href="/"' in page.text  # the way back
    # likely detections first, the possible ones one click away, and the note says so
    assert 'href="?possible=1"' in page.text and "Likely detections:" in page.text
    every = client.get(r.headers["location"] + "?possible=1")
    assert 'href="?possible=0"' in every.text and "Possible detections, less sure, are shown too" in every.text
    download = client.get(r.headers["location"] + "?download=1")
    assert download.headers["content-disposition"].startswith("attachment;")


def test_paste_without_model_shows_the_note(bare_client: TestClient) -> None:
    r = bare_client.post("/analyze", data={"text": OP_ED})
    assert r.status_code == 200
    assert NO_MODEL_NOTE in r.text


def test_form_errors_keep_the_input(client: TestClient) -> None:
    r = client.post("/analyze", data={"text": "Too short."})
    assert r.status_code == 422
    assert "too short" in r.text and "Too short.</textarea>" in r.text
    assert 'aria-invalid="true"' in r.text
    r = client.post("/analyze", data={"text": ""})
    assert r.status_code == 400 and "nothing to analyse" in r.text
    r = client.post("/analyze", data={"url": "/etc/passwd"})
    assert r.status_code == 422 and 'value="/etc/passwd"' in r.text
    r = client.post("/analyze", files={"file": ("x.png", b"\x89PNG....", "image/png")})
    assert r.status_code == 415


def test_url_goes_to_a_progress_page(client: TestClient) -> None:
    r = client.post("/analyze", data={"url": "http://127.0.0.1:9/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_id = r.headers["location"].rsplit("/", 1)[1]
    job = _wait(client, job_id)
    assert job["results"][0]["error"]["code"] == "blocked_url"
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "private, local or reserved" in page.text


def test_compare_pages(client: TestClient) -> None:
    form = client.get("/compare")
    assert form.status_code == 200 and 'name="text_1"' in form.text
    r = client.post(
        "/compare",
        data={"text_0": OP_ED, "text_1": "", "url_1": ""},
        files={"file_2": ("report.txt", REPORT.encode(), "text/plain")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "Comparing 2 articles" in page.text
    r = client.post("/compare", data={"text_0": OP_ED})
    assert r.status_code == 400 and "at least two" in r.text
    assert_error(client.get("/comparisons/unknown"), 404)


def test_hostile_article_is_text(client: TestClient) -> None:
    r = client.post("/analyze", data={"text": HOSTILE})
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<img src=x" not in r.text and 'href="javascript:' not in r.text
    api = client.post("/api/analyze", json={"text": HOSTILE}).json()
    assert "<script>alert(1)</script>" in api["article"]["text"]  # JSON keeps it exact
