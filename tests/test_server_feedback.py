"""Reader feedback through the web app: ``/api/feedback`` (round trip, replacement, every
4xx) and the report page's feedback controls, present only where a store keeps them."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stand_in import PhraseModel

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")

from fastapi.testclient import TestClient  # noqa: E402

from unspin.analyze import analyze_with  # noqa: E402
from unspin.config import Settings, load_settings  # noqa: E402
from unspin.feedback import FeedbackStore, text_hash  # noqa: E402
from unspin.ingest import from_text  # noqa: E402
from unspin.report.html import render_analysis  # noqa: E402
from unspin.server import create_app  # noqa: E402

TEXT = (
    "The harbour deal \U0001f600 is a shameful betrayal\n\n"
    "Behind closed doors, a few spineless councillors handed our waterfront to their friends. "
    "The so-called experts never worked a day on the docks, and everyone knows it.\n"
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "feedback.sqlite"


@pytest.fixture
def client(db: Path, clean_env: None) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(feedback_db=str(db)), model=PhraseModel())) as c:
        yield c


def _analysed(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/analyze", json={"text": TEXT})
    assert response.status_code == 200
    return dict(response.json())


def _span(analysis: dict[str, Any], technique: str) -> dict[str, Any]:
    return next(s for s in analysis["spans"] if s["technique"] == technique)


def test_confirm_dispute_and_add_round_trip(client: TestClient, db: Path) -> None:
    analysis = _analysed(client)
    text = analysis["article"]["text"]
    key = text_hash(text)
    shown = _span(analysis, "Loaded_Language")
    body = {"text": text, "technique": shown["technique"], "start": shown["start"],
            "end": shown["end"], "verdict": "confirm", "score": shown["score"],
            "model_id": analysis["model_id"]}  # fmt: skip
    first = client.post("/api/feedback", json=body)
    assert first.status_code == 200, first.text
    j = first.json()["judgement"]
    assert first.json()["replaced"] is None
    assert j["span"] == text[shown["start"] : shown["end"]]
    assert (j["score"], j["model_id"]) == (shown["score"], "phrase-test-model")
    body = {**body, "text": None, "text_hash": key}  # now judged here: the hash is enough
    body = {k: v for k, v in body.items() if v is not None}
    again = client.post("/api/feedback", json={**body, "verdict": "dispute", "note": "quoted"})
    assert again.status_code == 200 and again.json()["replaced"] == "confirm"
    start = text.index("everyone knows it")
    added = client.post("/api/feedback", json={
        "text": text, "technique": "Appeal to popularity", "start": start, "end": start + 17,
        "verdict": "add", "span": "everyone knows it",
    })  # fmt: skip
    assert added.status_code == 200, added.text
    assert added.json()["judgement"]["technique"] == "Appeal_to_Popularity"
    listed = client.get("/api/feedback", params={"text_hash": key}).json()["judgements"]
    assert [(x["verdict"], x["technique"], x["start"]) for x in listed] == [
        ("dispute", "Loaded_Language", shown["start"]), ("add", "Appeal_to_Popularity", start),
    ]  # fmt: skip
    assert client.get("/api/feedback").json()["judgements"] == listed
    where = {
        "text_hash": key,
        "technique": "Appeal_to_Popularity",
        "start": start,
        "end": start + 17,
    }
    removed = client.delete("/api/feedback", params=where)
    assert removed.status_code == 200 and removed.json()["removed"]["verdict"] == "add"
    again = client.delete("/api/feedback", params=where)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    bad = client.delete("/api/feedback", params={**where, "technique": "Nonsense"})
    assert bad.status_code == 422
    start = text.index("everyone knows it")
    client.post("/api/feedback", json={
        "text": text, "technique": "Appeal to popularity", "start": start, "end": start + 17,
        "verdict": "add", "span": "everyone knows it",
    })  # fmt: skip
    assert client.get("/api/feedback", params={"text_hash": "0" * 64}).json() == {"judgements": []}
    # the same file, as the command line and a calibration step read it
    [article] = FeedbackStore(db).articles()
    assert article.text == text and article.spans("add") == [
        ("Appeal_to_Popularity", start, start + 17)
    ]


def test_a_report_page_judges_by_hash_with_the_score_it_showed(client: TestClient) -> None:
    posted = client.post("/analyze", data={"text": TEXT}, follow_redirects=False)
    analysis = analyze_with(PhraseModel(), from_text(TEXT))
    shown = next(s for s in analysis.spans if s.technique == "Name_Calling-Labeling")
    response = client.post("/api/feedback", json={
        "text_hash": text_hash(analysis.article.text), "technique": shown.technique,
        "start": shown.start, "end": shown.end, "verdict": "confirm",
    })  # fmt: skip
    assert posted.status_code == 303 and response.status_code == 200, response.text
    j = response.json()["judgement"]
    assert (j["span"], j["score"]) == ("so-called experts", shown.score)  # from the analysis
    assert (j["model_id"], j["model_version"]) == ("phrase-test-model", "0")


def test_a_judged_article_is_found_by_its_hash_after_the_analysis_is_gone(
    db: Path, clean_env: None
) -> None:
    FeedbackStore(db).add(TEXT, "Doubt", 0, 16, "add")
    with TestClient(create_app(load_settings(feedback_db=str(db)), model=PhraseModel())) as c:
        response = c.post("/api/feedback", json={
            "text_hash": text_hash(TEXT), "technique": "Doubt", "start": 0, "end": 16,
            "verdict": "dispute",
        })  # fmt: skip
    assert response.status_code == 200 and response.json()["replaced"] == "add"


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (
            {"text_hash": "ab" * 32, "text": None},
            404,
            "not_found",
            "send the article's text instead",
        ),
        ({"text": TEXT, "text_hash": text_hash(TEXT)}, 400, "bad_request", "exactly one of"),
        ({"text": None}, 400, "bad_request", "exactly one of"),
        ({"technique": "Loaded_Languag"}, 422, "invalid_input", "did you mean 'Loaded_Language'"),
        ({"span": "shameless"}, 422, "invalid_input", "is not the text at"),
        ({"end": 100_000}, 422, "invalid_input", "not a span of this"),
        ({"verdict": "maybe"}, 400, "bad_request", "verdict"),
        ({"text_hash": "not-a-hash", "text": None}, 400, "bad_request", "text_hash"),
        ({"colour": "red"}, 400, "bad_request", "unknown field"),
        ({"text": "a\ud800b"}, 422, "invalid_input", "unpaired surrogate"),
    ],
)
def test_bad_feedback_is_a_clear_4xx(
    client: TestClient, db: Path, body: dict[str, Any], status: int, code: str, message: str
) -> None:
    start = TEXT.index("shameful")
    base = {"text": TEXT, "technique": "Loaded_Language", "start": start, "end": start + 8,
            "verdict": "confirm"}  # fmt: skip
    sent = {k: v for k, v in {**base, **body}.items() if v is not None}
    response = client.post(  # json.dumps: \u-escapes what httpx would not send
        "/api/feedback", content=json.dumps(sent), headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and message in error["message"]
    assert not db.exists()  # nothing stored
    bad = client.get("/api/feedback", params={"text_hash": "xyz"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"


def test_another_site_cannot_post_feedback(client: TestClient, db: Path) -> None:
    start = TEXT.index("shameful")
    response = client.post(
        "/api/feedback",
        json={"text": TEXT, "technique": "Loaded_Language", "start": start, "end": start + 8,
              "verdict": "confirm"},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )  # fmt: skip
    assert response.status_code == 403 and not db.exists()


def _csp_meta(page: str) -> str:
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert found
    return html.unescape(found.group(1))


def test_the_served_report_has_feedback_controls_and_the_file_has_none(
    client: TestClient,
) -> None:
    posted = client.post("/analyze", data={"text": TEXT}, follow_redirects=False)
    assert posted.status_code == 303
    page = client.get(posted.headers["location"])
    text = page.text
    assert f'data-text-hash="{text_hash(TEXT)}"' in text
    assert 'id="fb-technique"' in text and text.count("<option ") == 23
    assert "connect-src 'self'" in _csp_meta(text)
    hashes = re.findall(r"'sha256-[^']+'", _csp_meta(text))
    assert len(hashes) == 2 and all(h in page.headers["content-security-policy"] for h in hashes)
    assert not re.search(
        r"<[^>]+\son[a-z]+=", re.sub(r"<script>.*?</script>", "", text, flags=re.S)
    )
    # each paragraph says where its text starts, for the selection -> offsets mapping
    starts = [int(x) for x in re.findall(r'class="ptext" data-from="(\d+)"', text)]
    assert starts[0] == 0 and TEXT[starts[1] :].startswith("Behind closed doors")
    # the download, and a report written to a file, stay offline: no controls, no connection
    download = client.get(posted.headers["location"] + "?download=1").text
    static = render_analysis(analyze_with(PhraseModel(), from_text(TEXT)))
    for document in (download, static):
        assert 'id="fb"' not in document and "fb-technique" not in document
        assert "connect-src" not in _csp_meta(document)
        assert len(re.findall(r"'sha256-[^']+'", _csp_meta(document))) == 1


def test_a_server_without_a_store_keeps_no_feedback(clean_env: None) -> None:
    with TestClient(create_app(Settings(), model=PhraseModel())) as c:
        posted = c.post("/analyze", data={"text": TEXT}, follow_redirects=False)
        assert 'id="fb"' not in c.get(posted.headers["location"]).text
        response = c.post("/api/feedback", json={
            "text": TEXT, "technique": "Doubt", "start": 0, "end": 3, "verdict": "add"
        })  # fmt: skip
        assert (
            response.status_code == 503
            and "keeps no feedback" in response.json()["error"]["message"]
        )
