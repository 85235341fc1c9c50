"""`unspin calibrate`: a newsroom's labels in the SemEval layout -> a model folder that loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from unspin.cli import cli
from unspin.feedback import FeedbackStore
from unspin.model import DEFAULT_DIR

pytestmark = pytest.mark.skipif(not (DEFAULT_DIR / "model.json").exists(), reason="no shipped model")

# Invented articles (Marvania is fictional); each tuple: paragraphs, and (phrase, technique) labels.
ARTICLES = [
    (["The spineless cowards in the ministry sold our river to foreign paymasters.",
      "Officials said the agreement would be reviewed next year."], [("spineless cowards", "Name_Calling-Labeling")]),
    (["This shameful betrayal is the worst disaster in our history.",
      "The vote is scheduled for Tuesday, a spokesperson said."], [("shameful betrayal", "Loaded_Language"),
                                                                  ("the worst disaster in our history", "Exaggeration-Minimisation")]),
    (["The council met on Monday to discuss the budget for roads.",
      "Members approved the plan by seven votes to two."], []),
    (["Only a traitor would support these corrupt puppets of Teluria.",
      "The minister declined to comment on Friday."], [("traitor", "Name_Calling-Labeling"),
                                                       ("corrupt puppets", "Name_Calling-Labeling")]),
    (["If we do nothing now, our children will die of thirst.",
      "Farmers gathered outside the capital on Sunday."], [("our children will die of thirst", "Appeal_to_Fear-Prejudice")]),
    (["The bank raised its rates by a quarter point.",
      "Analysts had expected the move, according to a survey."], []),
]


def _write(root: Path) -> tuple[Path, Path]:
    articles, spans = root / "articles", root / "spans"
    articles.mkdir()
    spans.mkdir()
    for i, (paragraphs, labels) in enumerate(ARTICLES, start=1):
        text = f"Title {i}\n\n" + "\n".join(paragraphs) + "\n"
        (articles / f"article{i}.txt").write_text(text, encoding="utf-8")
        rows = [f"{i}\t{t}\t{text.index(p)}\t{text.index(p) + len(p)}" for p, t in labels]
        (spans / f"article{i}-labels-subtask-3.txt").write_text("\n".join(rows), encoding="utf-8")
    return articles, spans


def test_calibrate_writes_a_model_that_loads_everywhere(tmp_path: Path, clean_env: None) -> None:
    articles, spans = _write(tmp_path)
    (spans / "article1-labels-subtask-3.txt").write_text("1\tNot_A_Technique\t0\t5\n1\tName_Calling-Labeling\t17\t34")
    out = tmp_path / "mine"
    runner = CliRunner()
    result = runner.invoke(cli, ["calibrate", str(articles), str(spans), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "unreadable row" in result.output  # the noisy row is reported, not fatal
    assert "Calibrated on 6 articles" in result.output
    assert "\r" not in result.output and "analysing" not in result.output  # no bar but on a terminal
    meta = json.loads((out / "model.json").read_text())
    assert meta["provenance"]["articles"] == 6 and meta["version"].endswith("+calibrated")
    assert set(meta["confidence"]) >= {"paragraph", "span"}
    assert {p.name for p in out.iterdir()} >= {"encoder.onnx", "heads.npz", "tokenizer.json"}
    env = {"UNSPIN_MODEL_DIR": str(out)}
    version = runner.invoke(cli, ["version"], env=env)
    assert "+calibrated" in version.output and "on 6 articles" in version.output
    analysed = runner.invoke(cli, ["analyze", "--format", "json", str(articles / "article2.txt")], env=env)
    assert analysed.exit_code == 0 and json.loads(analysed.output)["model_version"].endswith("+calibrated")


def test_too_few_labelled_articles_is_a_clear_error(tmp_path: Path, clean_env: None) -> None:
    articles, spans = _write(tmp_path)
    for i in range(3, 7):
        (spans / f"article{i}-labels-subtask-3.txt").unlink()
    (spans / "article2-labels-subtask-3.txt").write_bytes(b"\xff\xfe not text")
    result = CliRunner().invoke(cli, ["calibrate", str(articles), str(spans), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "at least 5 labelled articles" in result.output and "Traceback" not in result.output
    assert "no article3-labels-subtask-3.txt, skipped" in result.output
    assert "article2.txt: 'utf-8' codec can't decode" in result.output  # reported, not fatal


def test_calibrate_refuses_to_overwrite_what_is_not_a_model(tmp_path: Path, clean_env: None) -> None:
    articles, spans = _write(tmp_path)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["calibrate", str(articles), str(spans), "-o", str(busy)])
    assert result.exit_code == 2 and "not a model folder" in result.output
    assert (busy / "notes.txt").read_text() == "mine"


def test_calibrate_learns_from_reader_feedback(tmp_path: Path, clean_env: None) -> None:
    db = tmp_path / "feedback.sqlite"
    store = FeedbackStore(db)
    for i, (paragraphs, labels) in enumerate(ARTICLES):
        text = "\n\n".join(paragraphs)
        for phrase, technique in labels:
            start = text.index(phrase)
            store.add(text, technique, start, start + len(phrase), "add" if i % 2 else "confirm")
        first = paragraphs[-1].split()[0]
        store.add(text, "Loaded_Language", text.index(first), text.index(first) + len(first), "dispute")
    out = tmp_path / "from-feedback"
    runner = CliRunner()
    result = runner.invoke(cli, ["calibrate", "--feedback", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "model.json").read_text())
    assert meta["provenance"]["source"] == f"reader feedback in {db}"
    assert meta["provenance"]["articles"] == len(ARTICLES)
    loaded = runner.invoke(cli, ["--model", str(out), "version"])
    assert "+calibrated" in loaded.output


def test_calibrate_needs_one_kind_of_labels(tmp_path: Path, clean_env: None) -> None:
    result = CliRunner().invoke(cli, ["calibrate", "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "ARTICLES_DIR and SPANS_DIR, or --feedback" in result.output
    missing = CliRunner().invoke(cli, ["calibrate", "--feedback", str(tmp_path / "none.sqlite"),
                                       "-o", str(tmp_path / "m")])
    assert missing.exit_code != 0 and "no feedback store" in missing.output.lower()
