"""Settings: every knob documented in the README's table and readable from UNSPIN_<NAME>."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import REPO

from unspin.cli import main
from unspin.config import DEFAULT_SETTINGS, Settings, load_settings
from unspin.errors import UnspinError

pytestmark = pytest.mark.usefixtures("clean_env")
FIELDS = [f.name for f in dataclasses.fields(Settings)]


def _other_value(name: str) -> tuple[str, object]:
    """A value for the field unlike its default, as text and as read."""
    default = getattr(DEFAULT_SETTINGS, name)
    if isinstance(default, bool):
        return ("0", False) if default else ("yes", True)
    if isinstance(default, int):
        return str(default + 3), default + 3
    if isinstance(default, float):
        return str(default + 0.25), default + 0.25
    return "/some/where", "/some/where"


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `UNSPIN_([A-Z0-9_]+)` \|", readme, re.M))
    assert table == {name.upper() for name in FIELDS}


@pytest.mark.parametrize("name", FIELDS)
def test_every_setting_is_read_from_the_environment(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, value = _other_value(name)
    monkeypatch.setenv(f"UNSPIN_{name.upper()}", text)
    assert getattr(load_settings(), name) == value
    assert getattr(DEFAULT_SETTINGS, name) != value  # only load_settings reads it


def test_explicit_options_win_and_none_means_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSPIN_MIN_SCORE", "0.4")
    assert load_settings(min_score=0.7).min_score == 0.7
    assert load_settings(min_score=None).min_score == 0.4
    assert load_settings().with_options(threads=2, debug=None).threads == 2


@pytest.mark.parametrize(("name", "text"), [("THREADS", "many"), ("DEBUG", "maybe"), ("READ_TIMEOUT", "soon")])
def test_an_unreadable_value_is_a_clear_error(
    name: str, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"UNSPIN_{name}", text)
    with pytest.raises(UnspinError, match=f"UNSPIN_{name}='{text}' is not"):
        load_settings()


def test_an_empty_model_dir_means_the_shipped_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSPIN_MODEL_DIR", "")
    assert load_settings().model_dir is None


def test_the_command_line_says_which_variable_is_wrong(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UNSPIN_THREADS", "many")
    with pytest.raises(SystemExit) as exc:
        main(["version"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == "unspin: error: UNSPIN_THREADS='many' is not a whole number.\n"


def test_the_server_serves_the_model_its_settings_name(tmp_path: Path) -> None:
    """Settings travel: create_app(Settings(model_dir=X)) loads X, not the shipped model."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from unspin.server import create_app

    with TestClient(create_app(Settings(model_dir=str(tmp_path)))) as client:
        health = client.get("/api/health").json()
    assert health["status"] == "degraded" and health["model_loaded"] is False
