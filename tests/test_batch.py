"""Batch analysis into JSON Lines: resume after an interruption, no duplicates, repairs."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import FIXTURES
from stand_in import PhraseModel

from unspin.batch import BatchResult, analyze_to_jsonl, article_key
from unspin.cli import cli
from unspin.document import Analysis, Article
from unspin.errors import InputError, UnspinError
from unspin.ingest import load_one
from unspin.report.jsonio import loads_jsonl

pytestmark = pytest.mark.usefixtures("clean_env")

TEXTS = {
    "apples": (
        "Apple growers in the northern valley expect a record harvest this autumn.\n\n"
        "The regional farmers' association said on Monday that a mild spring and steady "
        "rain in July had helped the orchards, and that prices were likely to fall."
    ),
    "bridge": (
        "The old railway bridge over the river will close for repairs in January.\n\n"
        "Engineers found cracks in two of its steel supports during an inspection last "
        "month, and the transport office said trains would use a diversion for six weeks."
    ),
    "council": (
        "This council has betrayed every family in this town with its shameful budget.\n\n"
        "Anyone with a shred of common sense can see that cutting the library while paying "
        "consultants a fortune is a disgrace, and voters will not forget it in May."
    ),
    "dairy": (
        "A new dairy cooperative opened its first shop in the market square on Saturday.\n\n"
        "Twelve local farms supply the shop with milk, butter and cheese, and the "
        "cooperative said it hoped to open a second shop near the station next year."
    ),
    "elections": (
        "Turnout in the local elections rose to sixty-two per cent, officials said.\n\n"
        "The electoral office reported that more young people voted than at any election "
        "in the past twenty years, and that counting finished shortly after midnight."
    ),
}
IDS = sorted(TEXTS)


def batch_model(**options: Any) -> PhraseModel:
    """The stand-in model as these tests know it; failures on demand through ``options``."""
    return PhraseModel(id="fake-model", version="0.0", **options)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in TEXTS.items():
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def ids_in(path: Path) -> list[str]:
    """Article ids of the file, loaded (and validated) by unspin's own JSONL reader."""
    return [a.article.id for a in loads_jsonl(path.read_text(encoding="utf-8"))]


def run_batch(corpus: Path, out: Path, model: PhraseModel | None = None, **kw: Any) -> BatchResult:
    return analyze_to_jsonl([str(corpus)], out, model=model or batch_model(), **kw)


# ------------------------------------------------------------------------------- library


def test_fresh_run_writes_one_valid_line_per_article(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    result = run_batch(corpus, out)
    assert (result.done, result.skipped, result.failed) == (5, 0, 0)
    assert result.exit_code == 0
    assert ids_in(out) == IDS
    assert result.summary() == f"analysed 5, skipped 0 already in {out}, 0 failed"
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["model_id"] == "fake-model" and first["schema_version"] == "1.1"


def test_second_run_skips_everything(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    run_batch(corpus, out)
    before = out.read_bytes()
    model = batch_model()
    result = run_batch(corpus, out, model)
    assert (result.done, result.skipped, result.failed) == (0, 5, 0)
    assert model.calls == []
    assert out.read_bytes() == before


def test_resume_after_model_interrupt(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_batch(corpus, out, batch_model(interrupt_at=3))
    assert ids_in(out) == IDS[:2]  # the two finished articles, complete and valid
    model = batch_model()
    result = run_batch(corpus, out, model)
    assert (result.done, result.skipped, result.failed) == (3, 2, 0)
    assert model.calls == IDS[2:]
    assert ids_in(out) == IDS  # nothing lost, nothing twice


def test_resume_after_progress_interrupt(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    seen: list[str] = []

    def stop_after_four(item: str) -> None:
        seen.append(item)
        if len(seen) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(corpus, out, progress=stop_after_four)
    assert ids_in(out) == IDS[:4]
    result = run_batch(corpus, out)
    assert (result.done, result.skipped) == (1, 4)
    assert ids_in(out) == IDS


def test_ctrl_c_during_a_write_waits_for_the_line(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SIGINT arriving half-way through a line stops the run after that line."""
    out = tmp_path / "results.jsonl"
    real_write = os.write
    lines = 0

    def half_write_then_sigint(fd: int, data: bytes) -> int:
        nonlocal lines
        # Count only the results file: a first run in a fresh checkout writes other files too.
        if not out.exists() or os.fstat(fd).st_ino != out.stat().st_ino:
            return real_write(fd, data)
        lines += 1
        if lines != 2:
            return real_write(fd, data)
        written = real_write(fd, bytes(data[: len(data) // 2]))
        os.kill(os.getpid(), signal.SIGINT)  # the rest is written by the next call
        return written

    monkeypatch.setattr(os, "write", half_write_then_sigint)
    # A process started in the background by a shell inherits an ignored SIGINT: Ctrl-C
    # must be live here for the test to mean anything.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_batch(corpus, out)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert ids_in(out) == IDS[:2]
    assert out.read_bytes().endswith(b"\n")


def test_every_line_is_fsynced(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "results.jsonl"
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    run_batch(corpus, out)
    assert len(synced) >= 5


def test_truncated_last_line_is_removed_and_redone(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "results.jsonl"
    run_batch(corpus, out)
    data = out.read_bytes()
    out.write_bytes(data[:-40])  # a crash in the middle of the last line
    with caplog.at_level(logging.WARNING, logger="unspin"):
        result = run_batch(corpus, out)
    assert (result.done, result.skipped) == (1, 4)
    assert ids_in(out) == IDS
    assert out.read_bytes() == data
    assert "incomplete last line" in caplog.text


def test_a_line_cut_in_its_first_bytes_is_removed(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    run_batch(corpus, out)
    data = out.read_bytes()
    out.write_bytes(data + b'{"art')
    result = run_batch(corpus, out)
    assert (result.done, result.skipped) == (0, 5)
    assert out.read_bytes() == data


def test_last_line_missing_only_its_newline_is_kept(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    run_batch(corpus, out)
    data = out.read_bytes()
    out.write_bytes(data[:-1])
    model = batch_model()
    result = run_batch(corpus, out, model)
    assert (result.done, result.skipped) == (0, 5)
    assert model.calls == []
    assert out.read_bytes() == data


def test_restart_starts_over(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    run_batch(corpus, out)
    result = run_batch(corpus, out, resume=False)
    assert (result.done, result.skipped) == (5, 0)
    assert ids_in(out) == IDS


def test_bad_input_in_the_middle_is_reported_and_skipped(corpus: Path, tmp_path: Path) -> None:
    (corpus / "c-empty.txt").write_text("   \n")
    out = tmp_path / "results.jsonl"
    errors: list[tuple[str, Exception]] = []
    result = run_batch(corpus, out, on_error=lambda item, err: errors.append((item, err)))
    assert (result.done, result.skipped, result.failed) == (5, 0, 1)
    assert [Path(item).name for item, _ in errors] == ["c-empty.txt"]
    assert "is empty" in str(errors[0][1])
    assert result.exit_code == 2
    assert ids_in(out) == IDS


def test_failed_article_is_retried_on_resume(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    result = run_batch(corpus, out, batch_model(fail_ids=("bridge",)), on_error=lambda *_: None)
    assert (result.done, result.failed) == (4, 1)
    model = batch_model()
    result = run_batch(corpus, out, model)
    assert (result.done, result.skipped, result.failed) == (1, 4, 0)
    assert model.calls == ["bridge"]
    assert sorted(ids_in(out)) == IDS


def test_errors_are_logged_without_on_error(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="unspin"):
        result = analyze_to_jsonl(
            [str(corpus), str(tmp_path / "missing.txt")],
            tmp_path / "r.jsonl",
            model=batch_model(),
        )
    assert (result.done, result.failed) == (5, 1)
    assert "No such file" in caplog.text


def test_bugs_raise_without_on_error(corpus: Path, tmp_path: Path) -> None:
    class Broken(PhraseModel):
        def analyze(self, article: Article) -> Analysis:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_batch(corpus, tmp_path / "r.jsonl", Broken())
    assert not (tmp_path / "r.jsonl").exists()


def test_same_article_twice_gives_two_lines(tmp_path: Path) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "apples.txt").write_text(TEXTS["apples"], encoding="utf-8")
    out = tmp_path / "results.jsonl"
    sources = [str(tmp_path / "one"), str(tmp_path / "two")]
    first = analyze_to_jsonl(sources, out, model=batch_model())
    again = analyze_to_jsonl(sources, out, model=batch_model())
    assert (first.done, again.done, again.skipped) == (2, 0, 2)
    assert ids_in(out) == ["apples", "apples"]


def test_edited_file_is_analysed_again(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    run_batch(corpus, out)
    (corpus / "dairy.txt").write_text(TEXTS["dairy"] + "\n\nA third paragraph was added.\n")
    result = run_batch(corpus, out)
    assert (result.done, result.skipped) == (1, 4)


def test_feed_entries_are_keyed_by_entry(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    feed = str(FIXTURES / "feed.rss")
    assert analyze_to_jsonl([feed], out, model=batch_model()).done == 2
    again = analyze_to_jsonl([feed], out, model=batch_model())
    assert (again.done, again.skipped) == (0, 2)
    keys = {article_key(a) for a in load_one(feed)}
    assert keys == {
        "web https://valley-courier.example/news/tram-line-vote",
        "web https://valley-courier.example/news/ferry-resumes",
    }


def test_output_that_is_not_results_is_refused(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "notes.jsonl"
    out.write_text('{"a": 1}\nsecond line\n')
    with pytest.raises(InputError, match="Line 1 of .* is not an unspin analysis"):
        run_batch(corpus, out)
    assert out.read_text() == '{"a": 1}\nsecond line\n'


def test_foreign_last_line_is_not_taken_for_a_cut_one(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("a note without a newline")
    with pytest.raises(InputError, match="Line 1 of .* is not an unspin analysis"):
        run_batch(corpus, out)
    assert out.read_text() == "a note without a newline"


def test_all_failed_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    result = analyze_to_jsonl(
        [str(tmp_path / "missing.txt")],
        out,
        model=batch_model(),
        on_error=lambda *_: None,
    )
    assert result.failed == 1
    assert not out.exists()


def test_second_run_on_the_same_file_is_refused(corpus: Path, tmp_path: Path) -> None:
    pytest.importorskip("fcntl")
    out = tmp_path / "results.jsonl"
    refused: list[Exception] = []

    def start_another(_item: str) -> None:
        if not refused:
            try:
                run_batch(corpus, out)
            except UnspinError as err:
                refused.append(err)

    run_batch(corpus, out, progress=start_another)
    assert "being written by another unspin run" in str(refused[0])
    assert ids_in(out) == IDS


# ------------------------------------------------------------------------------- CLI


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> PhraseModel:
    model = batch_model()
    monkeypatch.setattr("unspin.batch.installed_model", lambda settings: model)
    return model


def cli_run(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["analyze", *args])
    assert "Traceback" not in result.output
    return result


@pytest.mark.usefixtures("fake_model")
def test_cli_resumes_by_default_and_says_so(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    result = cli_run(str(corpus), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == f"analysed 5, skipped 0 already in {out}, 0 failed"
    result = cli_run(str(corpus), "--format", "jsonl", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == f"analysed 0, skipped 5 already in {out}, 0 failed"
    assert ids_in(out) == IDS


def test_cli_interrupt_then_resume(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "results.jsonl"
    monkeypatch.setattr("unspin.batch.installed_model", lambda settings: batch_model(interrupt_at=3))
    result = cli_run(str(corpus), "-o", str(out))
    assert result.exit_code == 130
    assert "keeps the 2 analyses written by this run; run the same command to go on" in result.stderr
    assert ids_in(out) == IDS[:2]
    model = batch_model()
    monkeypatch.setattr("unspin.batch.installed_model", lambda settings: model)
    result = cli_run(str(corpus), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "analysed 3, skipped 2" in result.stderr
    assert model.calls == IDS[2:]
    assert ids_in(out) == IDS


@pytest.mark.usefixtures("fake_model")
def test_cli_restart(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    cli_run(str(corpus), "-o", str(out))
    result = cli_run(str(corpus), "-o", str(out), "--restart")
    assert result.exit_code == 0, result.output
    assert "analysed 5, skipped 0" in result.stderr
    assert ids_in(out) == IDS


@pytest.mark.usefixtures("fake_model")
def test_cli_repairs_a_cut_line(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    cli_run(str(corpus), "-o", str(out))
    out.write_bytes(out.read_bytes()[:-25])
    result = cli_run(str(corpus), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert any(
        line.startswith("unspin: warning: ") and "incomplete last line" in line
        for line in result.stderr.splitlines()
    ), result.stderr
    assert "analysed 1, skipped 4" in result.stderr
    assert ids_in(out) == IDS


@pytest.mark.usefixtures("fake_model")
def test_cli_bad_input_fails_the_run_but_the_others_are_written(
    corpus: Path, tmp_path: Path
) -> None:
    (corpus / "c-empty.txt").write_text("  ")
    out = tmp_path / "results.jsonl"
    result = cli_run(str(corpus), "missing.txt", "-o", str(out))
    assert result.exit_code == 2
    errors = [x for x in result.stderr.splitlines() if x.startswith("unspin: error: ")]
    assert len(errors) == 2
    assert "c-empty.txt is empty" in errors[1]
    assert "analysed 5, skipped 0" in result.stderr and "1 failed" in result.stderr
    assert ids_in(out) == IDS


def test_cli_model_bug_is_one_line_and_exit_1(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(PhraseModel):
        def analyze(self, article: Article) -> Analysis:
            if article.id == "council":
                raise RuntimeError("boom")
            return super().analyze(article)

    monkeypatch.setattr("unspin.batch.installed_model", lambda settings: Broken())
    out = tmp_path / "results.jsonl"
    result = cli_run(str(corpus), "-o", str(out))
    assert result.exit_code == 1
    assert "unexpected RuntimeError: boom. This is a bug" in result.stderr
    assert ids_in(out) == [i for i in IDS if i != "council"]


@pytest.mark.usefixtures("fake_model")
def test_cli_jsonl_to_stdout_is_unchanged(corpus: Path) -> None:
    result = cli_run(str(corpus), "-f", "jsonl")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["article"]["id"] for x in result.stdout.splitlines()] == IDS
    assert "analysed" not in result.stderr


@pytest.mark.usefixtures("fake_model")
def test_cli_refuses_to_append_to_another_file(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "data.jsonl"
    out.write_text('{"id": 1}\n')
    result = cli_run(str(corpus), "-o", str(out))
    assert result.exit_code == 2
    assert "--restart" in result.stderr
    assert out.read_text() == '{"id": 1}\n'


def test_copying_a_results_file_keeps_it_resumable(corpus: Path, tmp_path: Path) -> None:
    """Keys come from the lines themselves, not from where the inputs were."""
    out = tmp_path / "results.jsonl"
    run_batch(corpus, out)
    moved = tmp_path / "moved"
    shutil.copytree(corpus, moved)
    result = run_batch(moved, out)
    assert (result.done, result.skipped) == (0, 5)
