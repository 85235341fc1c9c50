"""`-o`: the format follows the file's extension, an extension no format writes is refused
before anything is read, and the command says what it wrote."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import FIXTURES

from unspin.cli import cli

pytestmark = pytest.mark.usefixtures("clean_env")

PLAIN = str(FIXTURES / "plain-article.txt")
FEED = str(FIXTURES / "feed.rss")


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("report.pdf", None, r"cannot write \.pdf files: name the output \.json, \.jsonl"),
        ("report.docx", None, r"cannot write \.docx files"),
        ("report.pdf", "text", r"cannot write \.pdf files"),
        ("report.html", "json", r"names a html file, but --format json was asked"),
        ("report.json", "text", r"names a json file, but --format text was asked"),
    ],
)
def test_analyze_refuses_an_extension_its_format_cannot_write(
    tmp_path: Path, name: str, fmt: str | None, message: str
) -> None:
    out = tmp_path / name
    result = run("analyze", PLAIN, "-o", str(out), *(["--format", fmt] if fmt else []))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("unspin: error:")]
    assert len(errors) == 1 and pytest.importorskip("re").search(message, errors[0]), errors
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("report.txt", "Library opening hours"),
        ("report.text", "Library opening hours"),
        ("report.html", "<!doctype html>"),
        ("report.htm", "<!doctype html>"),
        ("report.json", '"article"'),
        ("report", "Library opening hours"),  # no extension: text
    ],
)
def test_analyze_picks_the_format_from_the_extension_and_says_what_it_wrote(
    tmp_path: Path, name: str, marker: str
) -> None:
    out = tmp_path / name
    result = run("analyze", PLAIN, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert marker in out.read_text(encoding="utf-8").lower() or marker in out.read_text("utf-8")
    assert f"unspin: wrote {out}" in result.stderr
    assert result.stdout == ""


def test_jsonl_to_a_file_says_what_it_holds(tmp_path: Path) -> None:
    out = tmp_path / "results.ndjson"
    result = run("analyze", PLAIN, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert '"article"' in out.read_text("utf-8")
    assert f"analysed 1, skipped 0 already in {out}, 0 failed" in result.stderr


def test_analyze_to_a_directory_counts_the_reports(tmp_path: Path) -> None:
    result = run("analyze", FEED, PLAIN, "-f", "html", "-o", f"{tmp_path}/reports/")
    assert result.exit_code == 0, result.output
    assert f"unspin: wrote 3 reports to {tmp_path}/reports" in result.stderr


def test_nothing_written_says_nothing(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run("analyze", str(tmp_path / "missing.txt"), "-o", str(out))
    assert result.exit_code == 2 and not out.exists()
    assert "wrote" not in result.stderr


def test_compare_refuses_a_format_it_does_not_write(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    result = run("compare", PLAIN, str(FIXTURES / "news-page.html"), "-o", str(out))
    assert result.exit_code == 2 and "cannot write .jsonl files" in result.stderr
    assert not out.exists()
