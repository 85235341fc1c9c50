"""`unspin compare`: text, JSON and HTML outputs, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from unspin.cli import cli

pytestmark = pytest.mark.usefixtures("clean_env")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
OPED, REPORT = str(EXAMPLES / "op-ed.txt"), str(EXAMPLES / "report.txt")


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


def test_compare_text_names_both_articles() -> None:
    result = run("compare", OPED, REPORT, "--no-color")
    assert result.exit_code == 0, result.output
    assert "They Are Selling Our River" in result.stdout
    assert "Osk River" in result.stdout


def test_compare_json_has_the_numbers_for_each_article() -> None:
    result = run("compare", OPED, REPORT, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["analyses"]) == 2 and len(data["comparison"]["profiles"]) == 2
    words = [p["words"] for p in data["comparison"]["profiles"]]
    assert words == [len(Path(p).read_text().split()) for p in (OPED, REPORT)]
    assert isinstance(data["summary"], str) and data["summary"]


def test_compare_html_file(tmp_path: Path) -> None:
    out = tmp_path / "c.html"
    result = run("compare", OPED, REPORT, "-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>")
    assert "They Are Selling Our River" in page and "<svg" in page


def test_compare_needs_two_articles() -> None:
    result = run("compare", OPED)
    assert result.exit_code == 2
    assert result.stderr.startswith("unspin: error: compare needs 2 to 10 articles")
