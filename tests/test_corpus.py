"""The corpus tool: store, corpus add (inputs, outlets, dates, errors, resume, stale
re-analysis), queries with bootstrap intervals, topics, export/import, the dashboard HTML
and the CLI. The real model runs on short articles made from the shipped examples."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import LocalServer
from corpus_helpers import HOSTILE, dump, example_rows, write_jsonl
from fastapi.testclient import TestClient

from unspin.cli import cli
from unspin.config import Settings
from unspin.corpus import Columns, Metadata, add, open_store
from unspin.corpus.correction import load_quality
from unspin.corpus.dashboard import build_dashboard
from unspin.corpus.query import Filters, breakdown, resolve_technique
from unspin.corpus.records import model_label
from unspin.corpus.sources import normalize_date, registered_domain
from unspin.corpus.stats import bootstrap_groups
from unspin.corpus.store import SCHEMA_VERSION
from unspin.corpus.tables import export
from unspin.corpus.topics import assign_topics, kmeans, load_rules
from unspin.errors import InputError, UnspinError
from unspin.model import DEFAULT_DIR
from unspin.server.app import create_app

MODEL = model_label(None)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus of 30 articles (3 outlets, 6 months) plus two bad rows, built once."""
    root = tmp_path_factory.mktemp("corpus")
    items = example_rows(30)
    items.insert(5, {"text": "", "outlet": "Alpha News"})
    source = write_jsonl(root / "articles.jsonl", items)
    with (source).open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    db = root / "corpus.db"
    result = add(db, [str(source)], workers=2)
    assert (result.analysed, result.failed) == (30, 2)
    return db


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# -- store ----------------------------------------------------------------------------------


def test_store_is_wal_versioned_and_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with open_store(db, create=True):
        pass
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(UnspinError, match="newer unspin"):
        open_store(db)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(InputError, match="not an unspin corpus"):
        open_store(other)
    with pytest.raises(InputError, match="No corpus database"):
        open_store(tmp_path / "missing.db")


# -- corpus add -------------------------------------------------------------------------------


def test_add_stores_every_good_row_once_and_records_the_bad_ones(corpus: Path) -> None:
    with open_store(corpus) as store:
        status = store.status(MODEL)
        assert (status.articles, status.done, status.stale, status.failed) == (30, 30, 0, 2)
        assert status.outlets == 3 and status.first_date == "2024-01-01"
        errors = dict(status.errors)
        assert any(k.endswith(":6") and "no text" in v for k, v in errors.items())
        assert any(k.endswith(":32") and "not valid JSON" in v for k, v in errors.items())
        spans = store.rows('SELECT s.start, s."end", s.technique, a.text FROM spans s JOIN articles a ON a.id = s.article_id')
        assert spans, "the model found nothing in 30 persuasive paragraphs"
        for start, end, _technique, text in spans:
            assert 0 <= start < end <= len(text)
        row = store.rows("SELECT outlet, domain, published, month, week FROM articles WHERE title = 'Story 1'")[0]
        assert row == ("Beta Times", "example.com", "2024-02-02", "2024-02", "2024-01-29")


def test_add_again_analyses_nothing_and_changes_nothing(corpus: Path, tmp_path: Path) -> None:
    copy = tmp_path / "again.db"
    shutil.copy(corpus, copy)
    before = dump(copy)
    source = corpus.parent / "articles.jsonl"
    result = add(copy, [str(source)], workers=1)
    assert (result.analysed, result.skipped, result.failed) == (0, 30, 2)
    assert dump(copy) == before


def test_tables_with_other_columns_csv_and_parquet(tmp_path: Path) -> None:
    items = example_rows(4)
    with (tmp_path / "a.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["body", "site", "when", "link"])
        for r in items[:2]:
            w.writerow([r["text"], r["outlet"], "Tue, 05 Mar 2024 10:00:00 +0000", r["url"]])
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([
        {"body": r["text"], "site": None, "when": None, "link": r["url"]} for r in items[2:]
    ]), tmp_path / "b.parquet")  # fmt: skip
    meta = Metadata(
        columns=Columns(text="body", outlet="site", date="when", url="link"),
        outlet_map={"example.com": "Example Group"},
    )
    db = tmp_path / "t.db"
    result = add(db, [str(tmp_path / "a.csv"), str(tmp_path / "b.parquet")], meta=meta, workers=1)
    assert (result.analysed, result.failed) == (4, 0)
    with open_store(db) as store:
        rows = store.rows("SELECT source, outlet, published FROM articles ORDER BY id")
    # a mapped domain wins over the column; rows without an outlet take the domain's
    assert [r[1] for r in rows] == ["Example Group"] * 4
    assert [r[2] for r in rows] == ["2024-03-05", "2024-03-05", None, None]
    assert rows[0][0].endswith("a.csv:1") and rows[3][0].endswith("b.parquet:2")


def test_a_table_without_the_text_column_is_one_clear_error(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "x.jsonl", [{"body": "Some text that is long enough."}])
    result = add(tmp_path / "x.db", [str(source)], workers=1)
    assert result.analysed == 0 and result.failed == 1
    assert "no 'text' column" in result.errors[0][1] and "--text-column" in result.errors[0][1]


def test_url_lists_go_through_the_fetcher_and_are_not_fetched_twice(
    tmp_path: Path, http_server: LocalServer, private_settings: Settings
) -> None:
    items = example_rows(2)
    urls = [
        http_server.add(f"/news/{i}", f"<html><head><title>T{i}</title></head><body><article>"
                        + "".join(f"<p>{p}</p>" for p in r["text"].split("\n\n")) + "</article></body></html>")
        for i, r in enumerate(items)
    ]  # fmt: skip
    missing = http_server.url("/gone")
    listing = tmp_path / "feeds.urls"
    listing.write_text("\n".join([*urls, missing]) + "\n", encoding="utf-8")
    db = tmp_path / "u.db"
    first = add(db, [str(listing)], settings=private_settings, workers=1)
    assert (first.analysed, first.failed) == (2, 1)
    fetched = len(http_server.requests)
    second = add(db, [str(listing)], settings=private_settings, workers=1)
    assert (second.analysed, second.skipped) == (0, 2)
    assert len(http_server.requests) == fetched + 1, "only the failed URL is tried again"
    with open_store(db) as store:
        assert store.rows("SELECT count(DISTINCT outlet) FROM articles")[0][0] == 1
    # and without --allow-private the SSRF guard refuses them, recorded per URL
    guarded = add(tmp_path / "g.db", [str(listing)], workers=1)
    assert guarded.analysed == 0 and guarded.failed == 3
    assert all("private" in m or "local" in m for _, m in guarded.errors)


def test_a_newer_model_reanalyses_only_what_is_stale(corpus: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(DEFAULT_DIR, model_dir)
    meta = json.loads((model_dir / "model.json").read_text("utf-8"))
    meta["version"] = meta["version"] + "-newer"
    (model_dir / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    db = tmp_path / "stale.db"
    shutil.copy(corpus, db)
    newer = Settings(model_dir=str(model_dir))
    with open_store(db) as store:
        assert store.status(model_label(str(model_dir))).stale == 30
        ids = store.rows("SELECT id, content_hash FROM articles ORDER BY id")
    result = add(db, [], settings=newer, workers=2)  # no sources: the stored articles
    assert result.analysed == 30
    with open_store(db) as store:
        status = store.status(model_label(str(model_dir)))
        assert (status.done, status.stale) == (30, 0)
        assert store.rows("SELECT id, content_hash FROM articles ORDER BY id") == ids
        assert store.rows("SELECT count(*) FROM analyses")[0][0] == 30
    assert add(db, [], settings=newer, workers=1).analysed == 0


def test_outlets_and_dates_are_normalised() -> None:
    assert registered_domain("https://news.bbc.co.uk/x/y") == "bbc.co.uk"
    assert registered_domain("http://127.0.0.1:8000/a") == "127.0.0.1"
    assert normalize_date("2024-03-05T23:30:00-05:00") == "2024-03-06"
    assert normalize_date("Tue, 05 Mar 2024 10:00:00 GMT") == "2024-03-05"
    assert normalize_date("2024-07") == "2024-07-01"
    assert normalize_date("last Tuesday") is None


# -- statistics ---------------------------------------------------------------------------------


def test_bootstrap_intervals_cover_the_truth_and_separate_real_differences() -> None:
    rng = np.random.default_rng(5)
    n = 600
    words = rng.integers(300, 900, n).astype(float)
    group = np.arange(n) % 3
    true = np.array([10.0, 10.0, 16.0])  # per 1,000 words; group 2 really is higher
    counts = rng.poisson(true[group] * words / 1000)
    members = [np.flatnonzero(group == g) for g in range(3)]
    s = bootstrap_groups(counts, words, members, ["a", "b", "c"], resamples=500, seed=1)
    assert np.all(s.low[:, 0] < true) and np.all(true < s.high[:, 0])
    assert s.vs_rest_low[2, 0] > 0, "the higher group must stand out"
    diff, low, high = s.difference(0, 1)
    assert low[0] < 0 < high[0], "two groups with the same rate must not"
    again = bootstrap_groups(counts, words, members, ["a", "b", "c"], resamples=500, seed=1)
    assert np.array_equal(again.low, s.low), "same seed, same intervals"


def test_breakdown_by_outlet_month_and_technique(corpus: Path) -> None:
    with open_store(corpus) as store:
        by_outlet = breakdown(store, "outlet", resamples=200)
        rows = by_outlet.rows()
        assert sorted(r["group"] for r in rows) == ["Alpha News", "Beta Times", "Gamma Post"]
        assert sum(r["articles"] for r in rows) == 30
        total = store.rows("SELECT sum(detections) FROM analyses")[0][0]
        assert sum(r["detections"] for r in rows) == total
        for r in rows:
            assert r["ci_low"] <= r["per_1k_words"] <= r["ci_high"]
        months = breakdown(store, "month", technique="LL", filters=Filters(since="2024-02", until="2024-03"), resamples=200)
        assert [r["group"] for r in months.rows()] == ["2024-02", "2024-03"]
        assert months.technique == "Loaded_Language"
        assert not any(r["different"] for r in months.rows()), "months are not flagged one by one"
        assert "no trend claimed" in (months.trend_text() or ""), "two months of 10 articles: too few"
        # 10 articles an outlet: too few to compare, and said so; corrected rates need the quality counts
        assert all(r["p_value"] is None and "too few to compare" in r["finding"] for r in rows)
        assert all(r["corrected_per_1k_words"] is None for r in rows)
        assert by_outlet.summary()["corrected"].startswith("not available: the model has no held-out")
        quality = load_quality(None)
        assert quality is not None, "the shipped model carries its quality counts"
        fixed = breakdown(store, "outlet", technique="LL", resamples=200, quality=quality)
        for r in fixed.rows():
            assert r["corrected_low"] <= r["corrected_per_1k_words"] <= r["corrected_high"]
            assert r["corrected_high"] > r["corrected_low"]
        assert fixed.summary()["corrected"].startswith("an estimate")
        # the counts are of every detection: a min_score that hides some leaves no estimate
        strict = breakdown(store, "outlet", technique="LL", resamples=200, quality=quality,
                           filters=Filters(min_score=0.01))  # fmt: skip
        assert all(r["corrected_per_1k_words"] is None for r in strict.rows())
        assert strict.summary()["corrected"].startswith("not available: the quality counts are for every detection")
    assert resolve_technique("name_calling") == "Name_Calling-Labeling"
    with pytest.raises(InputError, match="Unknown technique"):
        resolve_technique("shouting")


# -- topics -------------------------------------------------------------------------------------


def test_kmeans_finds_separated_clusters() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal([1, 0, 0], 0.05, (40, 3))
    b = rng.normal([0, 1, 0], 0.05, (40, 3))
    x = np.vstack([a, b])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = kmeans(x, 2, seed=3)
    assert len(set(labels[:40])) == 1 and len(set(labels[40:])) == 1 and labels[0] != labels[-1]


def test_rule_and_cluster_topics(corpus: Path, tmp_path: Path) -> None:
    rules = tmp_path / "topics.toml"
    rules.write_text('[topics.river]\nkeywords = ["river*", "dam"]\nmin_matches = 1\n', encoding="utf-8")
    db = tmp_path / "topics.db"
    shutil.copy(corpus, db)
    with open_store(db) as store:
        result = assign_topics(store, rules=load_rules(rules), clusters=3)
        texts = dict(store.rows("SELECT id, text FROM articles"))
        tagged = {a for (a,) in store.rows(
            "SELECT article_id FROM article_topics JOIN topics t ON t.id = topic_id WHERE t.name = 'river'")}
        assert tagged == {i for i, t in texts.items() if "river" in t.lower() or " dam" in t.lower()}
        assert result.rule_topics["river"] == len(tagged) > 0
        assert len(result.clusters) == 3 and sum(result.clusters.values()) == 30
        assert breakdown(store, "topic", resamples=100).rows()
    bad = tmp_path / "bad.toml"
    bad.write_text("[topics.x]\nkeywords = 3\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs keywords"):
        load_rules(bad)


# -- export, dashboard, CLI ---------------------------------------------------------------------


def test_export_writes_tidy_tables(corpus: Path, tmp_path: Path) -> None:
    with open_store(corpus) as store:
        counts = export(store, tmp_path / "out", "csv")
        n_spans = store.rows("SELECT count(*) FROM spans")[0][0]
        texts = dict(store.rows("SELECT id, text FROM articles"))
    assert counts["articles"] == 30 and counts["spans"] == n_spans
    with (tmp_path / "out" / "spans.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            assert texts[int(row["article_id"])][int(row["start"]) : int(row["end"])] == row["text"]
    with (tmp_path / "out" / "paragraphs.csv").open(encoding="utf-8") as f:
        assert sum(1 for _ in csv.DictReader(f)) == 60  # two paragraphs an article
    with (tmp_path / "out" / "articles.csv").open(encoding="utf-8") as f:
        assert all(row["corrected_per_1k_words"] == "" for row in csv.DictReader(f)), "no quality: no estimate"
    with open_store(corpus) as store:
        export(store, tmp_path / "fixed", "csv", quality=load_quality(None))
    with (tmp_path / "fixed" / "articles.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert all(float(r["corrected_per_1k_words"]) >= 0 for r in rows)
    assert any(float(r["corrected_per_1k_words"]) != float(r["per_1k_words"]) for r in rows)


def test_dashboard_is_self_contained_and_escapes_article_text(tmp_path: Path) -> None:
    items = example_rows(12, outlets=("Plain", HOSTILE))
    items[0]["title"] = HOSTILE
    db = tmp_path / "h.db"
    add(db, [str(write_jsonl(tmp_path / "h.jsonl", items))], workers=1)
    with open_store(db) as store:
        html = build_dashboard(store, resamples=100)
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert html.count("<script") == 2  # the JSON data block and the dashboard's own script
    assert "Content-Security-Policy" in html and 'class="heatmap"' in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html.replace("https://www.site", "")


def test_cli_add_status_query_report(corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    shutil.copy(corpus, db)
    code, out, _ = _cli("corpus", "status", str(db))
    assert code == 0 and "30 articles" in out and "failed: 2" in out
    code, out, _ = _cli("corpus", "query", str(db), "--by", "outlet", "-f", "json", "--resamples", "200")
    assert code == 0 and len(json.loads(out)["rows"]) == 3
    code, out, _ = _cli("corpus", "query", str(db), "--by", "genre", "--technique", "loaded language", "-f", "csv")
    assert code == 0 and out.startswith("group,articles,words,detections,per_1k_words,ci_low")
    code, _, err = _cli("corpus", "query", str(db), "--by", "topic")
    assert code == 2 and "no topics yet" in err
    code, _, err = _cli("corpus", "query", str(db), "--technique", "nope")
    assert code == 2 and "Unknown technique" in err
    code, _, err = _cli("corpus", "status", str(tmp_path / "none.db"))
    assert code == 2 and "No corpus database" in err
    code, _, _ = _cli("corpus", "report", str(db), "-o", str(tmp_path / "d.html"), "--resamples", "100", "--top", "3")
    assert code == 0 and (tmp_path / "d.html").stat().st_size > 10_000
    assert len(list((tmp_path / "d-reports").glob("article-*.html"))) == 3
    code, _, _ = _cli("corpus", "query", str(db), "-f", "parquet", "-o", str(tmp_path / "q.parquet"))
    assert code == 0 and (tmp_path / "q.parquet").read_bytes()[:4] == b"PAR1"


# -- the web app's corpus page --------------------------------------------------------------


def test_web_app_corpus_page_dashboard_reports_and_api(corpus: Path) -> None:
    with TestClient(create_app(model=None, corpus=corpus)) as client:
        page = client.get("/corpus", params={"by": "outlet", "technique": "Loaded_Language"})
        assert page.status_code == 200 and "Beta Times" in page.text and "95% bootstrap" in page.text
        bad = client.get("/corpus", params={"technique": "shouting"})
        assert bad.status_code == 422 and "Unknown technique" in bad.text
        dashboard = client.get("/corpus/dashboard")
        assert dashboard.status_code == 200 and 'class="heatmap"' in dashboard.text
        assert "sha256-" in dashboard.headers["content-security-policy"]
        article_id = int(dashboard.text.split('href="/corpus/articles/')[1].split('"')[0])
        report = client.get(f"/corpus/articles/{article_id}")
        assert report.status_code == 200 and "persuasion report" in report.text
        assert client.get("/corpus/articles/999999").status_code == 404
        api = client.get("/api/corpus/query", params={"by": "month", "technique": "LL"})
        assert api.status_code == 200 and [r["group"] for r in api.json()["rows"]][:2] == ["2024-01", "2024-02"]
    with TestClient(create_app(model=None)) as client:
        assert "No corpus is open" in client.get("/corpus").text
        assert client.get("/api/corpus/query").status_code == 404


def test_datasette_metadata_describes_every_table_and_its_queries_run(corpus: Path) -> None:
    from conftest import REPO

    meta = json.loads((REPO / "docs" / "datasette-metadata.json").read_text("utf-8"))
    db = meta["databases"]["corpus"]
    con = sqlite3.connect(corpus)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == set(db["tables"])
    params = {"technique": "Loaded_Language", "min_words": "10", "model_version": "0"}
    for name, query in db["queries"].items():
        rows = con.execute(query["sql"], params).fetchall()
        assert name == "failures" or rows, f"canned query {name} found nothing"
    con.close()


def test_workers_that_cannot_load_the_model_stop_the_run_cleanly(tmp_path: Path) -> None:
    broken = tmp_path / "model"
    broken.mkdir()
    shutil.copy(DEFAULT_DIR / "model.json", broken / "model.json")  # and no weights
    source = write_jsonl(tmp_path / "a.jsonl", example_rows(3))
    with pytest.raises(UnspinError, match="worker processes stopped before analysing anything"):
        add(tmp_path / "b.db", [str(source)], settings=Settings(model_dir=str(broken)), workers=1)
    with open_store(tmp_path / "b.db") as store:
        assert store.status(None).articles == 0
