"""Reader feedback: the SQLite store (round trip, replacement, checks, concurrency), the
SemEval export and the ``unspin feedback`` command."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from unspin.cli import cli
from unspin.config import default_feedback_db, load_settings
from unspin.feedback import (
    DISPUTED_FILE,
    FeedbackError,
    FeedbackStore,
    FeedbackStoreError,
    article_id,
    export,
    judgements,
    text_hash,
)
from unspin.ingest import load_source

# An astral character (two UTF-16 units, one code point) before the spans, so that
# offsets counted in anything but code points are caught.
TEXT = (
    "The \U0001d57f\U0001d586 harbour deal \U0001f600 is a shameful betrayal\n\n"
    "Behind closed doors, a few spineless councillors handed our waterfront to their friends. "
    "The so-called experts never worked a day on the docks.\n"
)


def _at(words: str, text: str = TEXT) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "deep" / "feedback.sqlite")


def test_a_judgement_round_trips_with_everything_it_was_given(store: FeedbackStore) -> None:
    start, end = _at("shameful")
    assert (start, end) == (27, 35)  # code points: each astral character counts one
    stored = store.add(
        TEXT, "Loaded language", start, end, "confirm", span="shameful", score=0.62,
        model_id="m", model_version="2.6.0", note="clearly loaded", title="The deal",
        url="https://example.org/a",
    )  # fmt: skip
    assert stored.replaced is None
    j = stored.judgement
    assert (j.technique, j.start, j.end, j.verdict, j.span) == (
        "Loaded_Language",
        27,
        35,
        "confirm",
        "shameful",
    )
    [listed] = store.judgements()
    assert listed == j
    assert (listed.score, listed.model_id, listed.model_version, listed.note) == (
        0.62,
        "m",
        "2.6.0",
        "clearly loaded",
    )
    assert listed.created.endswith("+00:00")
    assert store.judgements(text_hash(TEXT)) == [j]
    assert store.judgements("0" * 64) == []
    assert store.text_of(text_hash(TEXT)) == (TEXT, "The deal", "https://example.org/a")
    [article] = judgements(store.path)
    assert article.text == TEXT and article.text_hash == text_hash(TEXT)
    assert article.id == article_id(text_hash(TEXT)) and article.id.isdigit()
    assert [(x.technique, x.start, x.end, x.verdict, x.score) for x in article.judgements] == [
        ("Loaded_Language", 27, 35, "confirm", 0.62)
    ]
    assert store.path.stat().st_size > 0
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_new_verdict_on_the_same_span_replaces_the_old(store: FeedbackStore) -> None:
    start, end = _at("shameful")
    store.add(TEXT, "Loaded_Language", start, end, "confirm", score=0.6)
    again = store.add(TEXT, "Loaded_Language", start, end, "dispute", note="it is a quote")
    assert again.replaced == "confirm"
    [j] = store.judgements()
    assert (j.verdict, j.note, j.score) == ("dispute", "it is a quote", None)
    # another technique, or other offsets, is another judgement
    store.add(TEXT, "Exaggeration-Minimisation", start, end, "add")
    store.add(TEXT, "Loaded_Language", start, end + 9, "add")
    assert len(store.judgements()) == 3
    # the same text judged again (a re-analysis, a newer model) finds the same article
    store.add(
        TEXT, "Name_Calling-Labeling", *_at("so-called experts"), "confirm", model_version="3.0"
    )
    [article] = store.articles()
    assert [x.start for x in article.judgements] == sorted(x.start for x in article.judgements)
    assert len(article.judgements) == 4


def test_a_judgement_can_be_taken_back(store: FeedbackStore) -> None:
    key = text_hash(TEXT)
    store.add(TEXT, "Loaded_Language", *_at("shameful"), "confirm")
    store.add(TEXT, "Doubt", *_at("spineless"), "add")
    removed = store.remove(key, "Loaded language", *_at("shameful"))
    assert removed is not None and (removed.verdict, removed.span) == ("confirm", "shameful")
    assert store.remove(key, "Loaded_Language", *_at("shameful")) is None
    assert [j.technique for j in store.judgements()] == ["Doubt"]
    store.remove(key, "Doubt", *_at("spineless"))
    assert store.text_of(key) is None  # the text goes with its last judgement
    assert store.articles() == []


@pytest.mark.parametrize(
    ("technique", "start", "end", "verdict", "span", "message"),
    [
        ("Loaded_Language", 27, 35, "confirm", "shameless", "is not the text at 27-35"),
        ("Loaded_Languag", 27, 35, "confirm", None, "did you mean 'Loaded_Language'"),
        ("Loaded_Language", 35, 27, "confirm", None, "not a span of this"),
        ("Loaded_Language", 27, 10_000, "confirm", None, "not a span of this"),
        ("Loaded_Language", 35, 36, "confirm", None, "only blanks"),
        ("Loaded_Language", 27, 35, "maybe", None, "Unknown verdict"),
    ],
)
def test_a_bad_judgement_is_refused_with_a_clear_message(
    store: FeedbackStore, technique: str, start: int, end: int, verdict: str,
    span: str | None, message: str,
) -> None:  # fmt: skip
    with pytest.raises(FeedbackError, match=message):
        store.add(TEXT, technique, start, end, verdict, span=span)
    assert not store.path.exists()  # nothing was written


def test_a_file_that_is_not_a_feedback_store_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (x)")
    with pytest.raises(FeedbackStoreError, match="another program"):
        FeedbackStore(other).add(TEXT, "Loaded_Language", 27, 35)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database at all, just text " * 100)
    with pytest.raises(FeedbackStoreError, match="junk.sqlite"):
        FeedbackStore(junk).judgements()
    with pytest.raises(FeedbackStoreError, match="no feedback store"):
        judgements(tmp_path / "missing.sqlite")
    assert FeedbackStore(tmp_path / "missing.sqlite").judgements() == []
    assert not (tmp_path / "missing.sqlite").exists()  # reading creates nothing


def test_concurrent_writers_lose_nothing(store: FeedbackStore) -> None:
    words = [w for w in TEXT.split() if w.isalpha()][:12]
    offsets = sorted({_at(w) for w in words})
    errors: list[BaseException] = []

    def judge(verdict: str) -> None:
        try:
            for start, end in offsets:
                store.add(TEXT, "Loaded_Language", start, end, verdict)
                store.add(TEXT, "Doubt", start, end, verdict)
        except BaseException as err:  # noqa: BLE001 (reported below)
            errors.append(err)

    threads = [threading.Thread(target=judge, args=(v,)) for v in ("confirm", "dispute") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.judgements()) == 2 * len(offsets)


def test_export_writes_the_semeval_layout(store: FeedbackStore, tmp_path: Path) -> None:
    store.add(TEXT, "Loaded_Language", *_at("shameful"), "confirm")
    store.add(TEXT, "Loaded_Language", *_at("spineless"), "dispute")
    store.add(TEXT, "Name_Calling-Labeling", *_at("so-called experts"), "add")
    # CRLF line ends (a web form sends them) are kept as they are, and so are the offsets
    other = "A calm report on library hours.\r\n\r\nThe library opens later on Sundays, the city said.\r\n"
    store.add(other, "Doubt", *_at("the city said", other), "dispute")
    out = tmp_path / "export"
    done = export(store.articles(), out)
    assert (done.articles, done.spans, done.disputed) == (2, 2, 2)
    aid, oid = article_id(text_hash(TEXT)), article_id(text_hash(other))
    assert sorted(p.name for p in out.iterdir()) == sorted([
        f"article{aid}.txt", f"article{aid}-labels-subtask-3.txt",
        f"article{oid}.txt", f"article{oid}-labels-subtask-3.txt", DISPUTED_FILE,
    ])  # fmt: skip
    assert (out / f"article{aid}.txt").read_bytes() == TEXT.encode("utf-8")
    labels = (out / f"article{aid}-labels-subtask-3.txt").read_text("utf-8")
    s1, e1 = _at("shameful")
    s2, e2 = _at("so-called experts")
    assert (
        labels == f"{aid}\tLoaded_Language\t{s1}\t{e1}\n{aid}\tName_Calling-Labeling\t{s2}\t{e2}\n"
    )
    assert (out / f"article{oid}-labels-subtask-3.txt").read_text("utf-8") == ""
    disputed = (out / DISPUTED_FILE).read_text("utf-8").splitlines()
    assert disputed == [
        f"{aid}\tLoaded_Language\t{_at('spineless')[0]}\t{_at('spineless')[1]}",
        f"{oid}\tDoubt\t{_at('the city said', other)[0]}\t{_at('the city said', other)[1]}",
    ]
    # read back as unspin reads a SemEval article: the same text, so the offsets still hold
    [again] = load_source(str(out / f"article{aid}.txt"))
    assert again.text == TEXT and again.text[s2:e2] == "so-called experts"
    [calm] = load_source(str(out / f"article{oid}.txt"))
    assert calm.text == other
    # exporting again gives the same names (the id comes from the text)
    export(store.articles(), out)
    assert len(list(out.iterdir())) == 5
    with pytest.raises(FeedbackError, match="is a file"):
        export(store.articles(), out / DISPUTED_FILE)


def test_the_default_store_is_in_the_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"HOME": "/home/reader", "XDG_DATA_HOME": "/data/reader"}
    assert default_feedback_db(env) == "/data/reader/unspin/feedback.sqlite"
    env["XDG_DATA_HOME"] = "relative/ignored"  # the XDG spec: relative paths are invalid
    assert default_feedback_db(env) == "/home/reader/.local/share/unspin/feedback.sqlite"
    monkeypatch.delenv("UNSPIN_FEEDBACK_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/xdg")
    assert load_settings().feedback_db == "/xdg/unspin/feedback.sqlite"
    monkeypatch.setenv("UNSPIN_FEEDBACK_DB", "/elsewhere/fb.sqlite")
    assert load_settings().feedback_db == "/elsewhere/fb.sqlite"
    assert load_settings(feedback_db="/given.sqlite").feedback_db == "/given.sqlite"


# ---------------------------------------------------------------------------- command line


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_command_line_round_trip(tmp_path: Path) -> None:
    article = tmp_path / "deal.txt"
    article.write_text(TEXT, encoding="utf-8")
    db = str(tmp_path / "fb.sqlite")
    code, out, err = _run("feedback", "add", str(article), "--technique", "Loaded language",
                          "--text", "shameful", "--db", db)  # fmt: skip
    assert code == 0, err
    assert out.startswith("confirm\tLoaded_Language\t27-35\t'shameful'")
    assert db in err
    code, out, err = _run("feedback", "add", str(article), "-t", "Loaded_Language", "--start", "27",
                          "--end", "35", "--verdict", "dispute", "--note", "a quotation", "--db", db)  # fmt: skip
    assert code == 0 and "(replaces the earlier confirm)" in out
    start, end = _at("so-called experts")
    code, out, _ = _run("feedback", "add", str(article), "-t", "Name_Calling-Labeling", "--start",
                        str(start), "--end", str(end), "--verdict", "add", "--db", db)  # fmt: skip
    assert code == 0
    code, out, _ = _run("feedback", "list", "--db", db)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].split("\t")[1:4] == ["dispute", "Loaded_Language", "27-35"]
    assert lines[0].endswith("\ta quotation")
    code, out, _ = _run("feedback", "list", "--format", "json", "--db", db)
    data = json.loads(out)["judgements"]
    assert [(j["technique"], j["start"], j["end"], j["verdict"]) for j in data] == [
        ("Loaded_Language", 27, 35, "dispute"), ("Name_Calling-Labeling", start, end, "add"),
    ]  # fmt: skip
    assert all(j["text_hash"] == text_hash(load_source(str(article))[0].text) for j in data)
    code, _, err = _run("feedback", "export", str(tmp_path / "out"), "--db", db)
    assert code == 0 and "1 article, 1 confirmed or added span and 1 disputed span" in err
    # take one back, and again: the second time there is nothing to remove
    remove = (
        "feedback",
        "remove",
        str(article),
        "-t",
        "Doubt",
        "--text",
        "harbour deal",
        "--db",
        db,
    )
    assert _run("feedback", "add", *remove[2:])[0] == 0
    code, out, _ = _run(*remove)
    assert code == 0 and out.startswith("removed\tconfirm\tDoubt\t")
    code, out, err = _run(*remove)
    assert code == 2 and "There is no judgement of Doubt" in err
    aid = data[0]["article_id"]
    assert (tmp_path / "out" / f"article{aid}-labels-subtask-3.txt").read_text() == (
        f"{aid}\tName_Calling-Labeling\t{start}\t{end}\n"
    )


def test_the_setting_names_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    article = tmp_path / "deal.txt"
    article.write_text(TEXT, encoding="utf-8")
    monkeypatch.setenv("UNSPIN_FEEDBACK_DB", str(tmp_path / "from-env.sqlite"))
    code, _, err = _run("feedback", "add", str(article), "-t", "Doubt", "--text", "harbour deal")
    assert code == 0, err
    assert len(FeedbackStore(tmp_path / "from-env.sqlite").judgements()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-t", "Loaded_Language", "--text", "the"], "occurs 2 times in"),
        (["-t", "Loaded_Language", "--text", "nowhere to be found"], "does not occur"),
        (["-t", "Loaded_Languag", "--text", "shameful"], "did you mean 'Loaded_Language'"),
        (["-t", "Loaded_Language", "--start", "27"], "Say which span"),
        (
            ["-t", "Loaded_Language", "--start", "27", "--end", "36", "--text", "shameful"],
            "not at --end 36",
        ),
        (["-t", "Loaded_Language", "--start", "27", "--end", "9999"], "not a span of this"),
    ],
)
def test_command_line_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    article = tmp_path / "deal.txt"
    article.write_text(TEXT, encoding="utf-8")
    code, out, err = _run(
        "feedback", "add", str(article), *args, "--db", str(tmp_path / "fb.sqlite")
    )
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("unspin: error: ") and message in err
    assert out == ""


def test_the_text_picks_its_occurrence_with_start(tmp_path: Path) -> None:
    article = tmp_path / "deal.txt"
    article.write_text(TEXT, encoding="utf-8")
    second = TEXT.index("The so-called")
    code, out, err = _run("feedback", "add", str(article), "-t", "Doubt", "--text", "The",
                          "--start", str(second), "--db", str(tmp_path / "fb.sqlite"))  # fmt: skip
    assert code == 0, err
    assert f"\t{second}-{second + 3}\t" in out


def test_export_without_a_store_is_an_error(tmp_path: Path) -> None:
    code, _, err = _run(
        "feedback", "export", str(tmp_path / "out"), "--db", str(tmp_path / "no.sqlite")
    )
    assert code == 2 and "nothing to export" in err
    code, out, err = _run("feedback", "list", "--db", str(tmp_path / "no.sqlite"))
    assert code == 0 and out == "" and "no judgements" in err
