"""The `unspin` command: outputs, exit codes, one-line errors, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import FIXTURES, PRIVATE_URLS, LocalServer

import unspin.cli as cli_module
from unspin import __version__
from unspin.cli import cli

pytestmark = pytest.mark.usefixtures("clean_env")

TITLE = "Library opening hours extended after student petition"
PLAIN = str(FIXTURES / "plain-article.txt")


def run(*args: str, input: bytes | str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=input)
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.output
    return result


def assert_one_error(result: Result, pattern: str, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("unspin: error: ")]
    assert len(errors) == 1, result.stderr
    assert pytest.importorskip("re").search(pattern, errors[0]), errors[0]


def test_version() -> None:
    result = run("version")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"unspin {__version__}"
    assert result.stdout.splitlines()[1].startswith("model: ")


def test_help_lists_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "analyze" in result.stdout and "version" in result.stdout


def test_analyze_text_file() -> None:
    result = run("analyze", PLAIN, "--no-color")
    assert result.exit_code == 0, result.output
    assert TITLE in result.stdout


def test_analyze_json() -> None:
    result = run("analyze", PLAIN, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["article"]["title"] == TITLE
    assert data["article"]["language"] == "en"
    assert "schema_version" in data


def test_analyze_json_several_is_a_list() -> None:
    result = run("analyze", PLAIN, str(FIXTURES / "news-page.html"), "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [d["article"]["id"] for d in data] == ["plain-article", "news-page"]


def test_analyze_jsonl_to_file_format_from_suffix(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = run("analyze", str(FIXTURES / "feed.rss"), "-o", str(out))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["article"]["source_kind"] for r in rows] == ["feed", "feed"]


def test_analyze_html_to_file(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run("analyze", PLAIN, "-o", str(out))
    assert result.exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert "<html" in page.lower() and "Library opening hours" in page


def test_analyze_html_directory_one_file_per_article(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = run("analyze", str(FIXTURES / "feed.rss"), PLAIN, "-f", "html", "-o", f"{out}/")
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.html"))) == 3


def test_analyze_html_several_to_stdout() -> None:
    result = run("analyze", PLAIN, str(FIXTURES / "news-page.html"), "-f", "html")
    assert result.exit_code == 0
    assert "Library opening hours" in result.stdout and "Harbour city" in result.stdout


def test_notes_go_to_stderr_for_machine_formats() -> None:
    result = run("analyze", PLAIN, "-f", "json")
    notes = [line for line in result.stderr.splitlines() if line.startswith("unspin: note:")]
    # a note is shown once (e.g. "no trained model"), or never when the model has none
    assert len(notes) == len(set(notes))


def test_stdin() -> None:
    result = run("analyze", "-", "-f", "json", input=(FIXTURES / "plain-article.txt").read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["article"]["id"] == "stdin"


def test_directory_and_glob(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt"):
        shutil.copy(FIXTURES / "plain-article.txt", tmp_path / name)
    result = run("analyze", str(tmp_path), str(tmp_path / "*.txt"), "-f", "jsonl")
    assert result.exit_code == 0
    assert [json.loads(x)["article"]["id"] for x in result.stdout.splitlines()] == ["a", "b"] * 2


def test_url_with_allow_private(http_server: LocalServer) -> None:
    url = http_server.add("/story", (FIXTURES / "news-page.html").read_bytes())
    result = run("analyze", url, "--allow-private", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["article"]["author"] == "Maria Okafor"
    assert data["article"]["url"] == url


def test_local_server_refused_without_allow_private(http_server: LocalServer) -> None:
    url = http_server.add("/story", (FIXTURES / "news-page.html").read_bytes())
    assert_one_error(run("analyze", url), "Refusing to fetch")
    assert http_server.requests == []


@pytest.mark.parametrize("url", [*PRIVATE_URLS, "file:///etc/passwd"])
def test_dangerous_urls_are_refused(url: str) -> None:
    result = run("analyze", url)
    assert_one_error(result, r"Refusing to fetch .*(private, local or reserved|only http)")
    assert result.stdout == ""


def test_unreachable_url(closed_port: int) -> None:
    result = run("analyze", f"http://127.0.0.1:{closed_port}/", "--allow-private")
    assert_one_error(result, "Could not connect to 127.0.0.1")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("")
    assert_one_error(run("analyze", str(path)), "empty.txt is empty")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    assert_one_error(run("analyze", str(path)), "looks like a binary file")


def test_huge_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    assert_one_error(run("analyze", str(path)), r"too large .*limit is 5.0 MB")


def test_french_file() -> None:
    assert_one_error(run("analyze", str(FIXTURES / "french.txt")), r"looks like French \(fr\)")


def test_missing_file() -> None:
    assert_one_error(run("analyze", "no-such-file.txt"), "No such file or URL: no-such-file.txt")


def test_bad_source_is_skipped_and_others_written(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("   ")
    out = tmp_path / "out.jsonl"
    result = run(
        "analyze",
        PLAIN,
        str(empty),
        "missing.txt",
        str(FIXTURES / "news-page.html"),
        "-o",
        str(out),
    )
    assert result.exit_code == 2
    assert len([x for x in result.stderr.splitlines() if x.startswith("unspin: error:")]) == 2
    ids = [json.loads(x)["article"]["id"] for x in out.read_text().splitlines()]
    assert ids == ["plain-article", "news-page"]


def test_bad_usage_is_a_click_error() -> None:
    result = run("analyze", PLAIN, "--format", "pdf")
    assert result.exit_code == 2
    assert "Invalid value" in result.stderr


def test_keyboard_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("unspin.ingest.sources.load_one", interrupted)
    result = run("analyze", PLAIN)
    assert result.exit_code == 130
    assert "interrupted" in result.stderr


def test_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("unspin.batch.analyze_with", broken)
    result = run("analyze", PLAIN)
    assert_one_error(result, "unexpected RuntimeError: boom. This is a bug", code=1)


def test_main_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_module.main(["analyze", "file:///etc/passwd"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("unspin: error: Refusing to fetch file:///etc/passwd")


def test_help_lists_optional_commands_without_importing_their_extras() -> None:
    """`unspin --help` must work on an install without torch (the train extra)."""
    import subprocess
    import sys

    program = (
        "import sys; sys.modules['torch'] = None; sys.modules['fastapi'] = None\n"
        "from unspin.cli import main\nmain(['--help'])\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "train" in out.stdout and "serve" in out.stdout
