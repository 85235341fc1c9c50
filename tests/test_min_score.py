"""``min_score`` means the same everywhere: detections scored below it are neither shown nor
counted, in the CLI, the API, the web app, corpus queries and the corpus dashboard; its
default is ``Settings.min_score`` (UNSPIN_MIN_SCORE) in each of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus_helpers import example_rows, write_jsonl
from fastapi.testclient import TestClient
from fixtures_reports import oped, report_article
from stand_in import PhraseModel

import unspin
from unspin.cli import cli
from unspin.config import Settings
from unspin.corpus import add, open_store
from unspin.corpus.dashboard import build_dashboard
from unspin.corpus.query import Filters, breakdown
from unspin.server.app import create_app

LEVEL = 0.25  # displayed span confidences (expected character precision) sit between 0.1 and 0.5


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scored")
    db = root / "c.db"
    add(db, [str(write_jsonl(root / "a.jsonl", example_rows(8)))], workers=1)
    with open_store(db) as store:
        scores = [s for (s,) in store.rows("SELECT score FROM spans")]
    assert any(s < LEVEL for s in scores) and any(s >= LEVEL for s in scores), "the test needs both"
    return db


def _counted(db: Path, technique: str | None = None) -> int:
    with open_store(db) as store:
        sql = "SELECT count(*) FROM spans WHERE score >= ?" + (" AND technique = ?" if technique else "")
        return int(store.rows(sql, [LEVEL, *([technique] if technique else [])])[0][0])


def test_corpus_queries_count_only_what_clears_it(corpus: Path) -> None:
    with open_store(corpus) as store:
        for technique in (None, "Loaded_Language"):
            rows = breakdown(store, "outlet", technique=technique, filters=Filters(min_score=LEVEL),
                             resamples=100).rows()
            assert sum(r["detections"] for r in rows) == _counted(corpus, technique)
            everything = breakdown(store, "outlet", technique=technique, resamples=100).rows()
            assert sum(r["detections"] for r in everything) > sum(r["detections"] for r in rows)


def test_the_corpus_command_line_takes_it_from_the_settings(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def total(*args: str) -> int:
        result = CliRunner().invoke(cli, ["corpus", "query", str(corpus), "--format", "json", *args])
        assert result.exit_code == 0, result.output
        return sum(r["detections"] for r in json.loads(result.stdout)["rows"])

    assert total("--min-score", str(LEVEL)) == _counted(corpus)
    monkeypatch.setenv("UNSPIN_MIN_SCORE", str(LEVEL))
    assert total() == _counted(corpus)
    assert total("--min-score", "0") > _counted(corpus)


def test_the_dashboard_says_and_applies_it(corpus: Path) -> None:
    with open_store(corpus) as store:
        strict = build_dashboard(store, filters=Filters(min_score=LEVEL), resamples=100)
        loose = build_dashboard(store, resamples=100)
    assert f"Only detections of {LEVEL:.0%} confidence or more are counted" in strict
    assert "confidence or more are counted" not in loose
    assert f"{_counted(corpus)} detections in" in strict


def test_the_web_app_applies_the_server_setting(corpus: Path) -> None:
    with TestClient(create_app(Settings(min_score=LEVEL), model=None, corpus=corpus)) as client:
        api = client.get("/api/corpus/query", params={"by": "outlet"}).json()
        assert sum(r["detections"] for r in api["rows"]) == _counted(corpus)
        assert "are counted and shown" in client.get("/corpus/dashboard").text
        report = client.get("/corpus/articles/1").text
        assert f'min="{LEVEL}"' in report  # the report's confidence slider starts at the setting


def test_the_compare_api_defaults_to_the_server_setting() -> None:
    texts = [{"text": "What a disgrace. An utter disgrace, and a disgrace again.\n\nNothing else."},
             {"text": "Calm words about the weather today, and more calm words."}]
    model = PhraseModel({"Loaded_Language": ("disgrace",)}, id="fake", score=0.2)
    for level, found in ((0.0, 3), (LEVEL, 0)):
        with TestClient(create_app(Settings(min_score=level), model=model)) as client:
            body = client.post("/api/compare", json={"items": texts}).json()
            assert body["comparison"]["min_score"] == level
            assert body["comparison"]["profiles"][0]["span_count"] == found
            explicit = client.post("/api/compare", json={"items": texts, "min_score": 0.0}).json()
            assert explicit["comparison"]["profiles"][0]["span_count"] == 3


def test_the_python_api_defaults_to_the_settings() -> None:
    strict = unspin.compare([oped(), report_article()], settings=Settings(min_score=0.9))
    assert strict.min_score == 0.9 and strict.profiles[0].span_count == 3
    assert unspin.compare([oped(), report_article()], settings=Settings()).profiles[0].span_count > 3
    assert unspin.compare([oped(), report_article()], min_score=0.0, settings=Settings(min_score=0.9)).min_score == 0.0
