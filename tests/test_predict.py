"""`unspin predict`: the official SemEval formats, exact offsets on disk, resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from stand_in import PhraseModel

from unspin.errors import InputError
from unspin.model import DEFAULT_DIR
from unspin.predict import format_rows, predict_dir, write_predictions

# Written for these tests: title, subtitle line, blank lines, CRLF and non-ASCII characters.
ARTICLE_LF = (
    "Liars in Elmbrook: the council's shame\n"
    "A subtitle line\n"
    "\n"
    "The café owners — “honest people” — say the council are liars.\n"
    "\n"
    "Nobody believes these liars any more. Enough is enough!\n"
)
ARTICLE_CRLF = "Ruined 👎 budget\r\n\r\nThe mayor's liars wasted it all.\r\n\r\nZoë said liars again.\r\n"


def keyword_model() -> PhraseModel:
    """Predictable output: 'liars' (as written) is name-calling. Not a real model."""
    return PhraseModel(
        phrases={"Name_Calling-Labeling": ("liars",)}, id="test-keyword", match_case=True,
        score=0.9, frames=("Political", "Morality"),
    )  # fmt: skip


@pytest.fixture
def semeval_dir(tmp_path: Path) -> Path:
    d = tmp_path / "articles"
    d.mkdir()
    (d / "article100.txt").write_bytes(ARTICLE_LF.encode("utf-8"))
    (d / "article200.txt").write_bytes(ARTICLE_CRLF.encode("utf-8"))
    (d / "notes.md").write_text("not an article")
    return d


def test_all_four_formats(semeval_dir: Path, tmp_path: Path) -> None:
    model = keyword_model()
    for task in ("st1", "st2", "st3", "spans"):
        write_predictions(semeval_dir, task, tmp_path / f"{task}.txt", model=model)
    read = {t: (tmp_path / f"{t}.txt").read_text("utf-8").splitlines() for t in ("st1", "st2", "st3", "spans")}
    assert read["st1"] == ["100\topinion", "200\topinion"]
    assert read["st2"] == ["100\tPolitical,Morality", "200\tPolitical,Morality"]
    # st3: every non-empty line of the file, numbered from 1 (title = line 1).
    assert read["st3"] == [
        "100\t1\t", "100\t2\t", "100\t4\tName_Calling-Labeling",
        "100\t6\tName_Calling-Labeling", "200\t1\t", "200\t3\tName_Calling-Labeling",
        "200\t5\tName_Calling-Labeling",
    ]
    assert all(len(r.split("\t")) == 4 for r in read["spans"]) and len(read["spans"]) == 4


def test_span_offsets_are_characters_of_the_file_as_on_disk(semeval_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "spans.txt"
    write_predictions(semeval_dir, "spans", out, model=keyword_model())
    for row in out.read_text("utf-8").splitlines():
        aid, _tech, start, end = row.split("\t")
        on_disk = (semeval_dir / f"article{aid}.txt").read_bytes().decode("utf-8")
        assert on_disk[int(start) : int(end)] == "liars"


def test_template_gives_its_rows_in_its_order(semeval_dir: Path, tmp_path: Path) -> None:
    template = tmp_path / "template.txt"
    template.write_text("200\t3\tThe mayor's...\n100\t6\tNobody...\n999\t1\tmissing article\n100\t1\tTitle\n")
    out = tmp_path / "st3.txt"
    write_predictions(semeval_dir, "st3", out, template=template, model=keyword_model())
    assert out.read_text().splitlines() == [
        "200\t3\tName_Calling-Labeling", "100\t6\tName_Calling-Labeling", "999\t1\t",
        "100\t1\t"]


def test_an_interrupted_run_resumes_without_redoing_or_duplicating(semeval_dir: Path, tmp_path: Path) -> None:
    partial = tmp_path / "out.partial.jsonl"
    first = keyword_model()
    gen = predict_dir(semeval_dir, partial, model=first)
    next(gen)
    gen.close()  # interrupted after one article
    assert len(first.calls) == 1 and len(partial.read_text().splitlines()) == 1
    partial.write_text(partial.read_text() + '{"id": "200", "trunc')  # a line cut mid-write
    second = keyword_model()
    preds = list(predict_dir(semeval_dir, partial, model=second))
    assert [p.id for p in preds] == ["100", "200"] and len(second.calls) == 1


def test_a_directory_without_articles_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No articles"):
        list(predict_dir(tmp_path, model=keyword_model()))
    with pytest.raises(InputError, match="Unknown task"):
        format_rows("st9", [])


needs_model = pytest.mark.skipif(not (DEFAULT_DIR / "model.json").exists(), reason="no shipped model")


@needs_model
def test_shipped_model_runs_without_torch(semeval_dir: Path) -> None:
    """Inference must not need torch: run it with `import torch` made impossible."""
    program = (
        "import sys; sys.modules['torch'] = None\n"
        "from pathlib import Path\n"
        "from unspin.predict import predict_dir\n"
        f"preds = list(predict_dir(Path({str(semeval_dir)!r})))\n"
        "assert len(preds) == 2 and all(p.genre for p in preds)\n"
        "assert sys.modules['torch'] is None\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@needs_model
def test_shipped_model_spans_are_exact_on_a_crlf_file(semeval_dir: Path, tmp_path: Path) -> None:
    text = ("Treacherous puppets in parliament betray the nation again\r\n\r\n"
            "These shameless liars and traitors are destroying everything we love. "
            "Wake up, patriots, before it is too late!\r\n")
    (semeval_dir / "article300.txt").write_bytes(text.encode("utf-8"))
    out = tmp_path / "spans.txt"
    write_predictions(semeval_dir, "spans", out)
    rows = [r.split("\t") for r in out.read_text("utf-8").splitlines() if r.startswith("300\t")]
    for _aid, _tech, start, end in rows:
        piece = text[int(start) : int(end)]
        assert piece and piece == piece.strip() and "\r" not in piece and "\n" not in piece


@needs_model
@pytest.mark.parametrize("damage", [
    {"evidence": 0.7},  # the word thresholds must be a mapping
    {"evidence": {"share": 0.5}},  # and present
    {"paragraph": ["not", "a", "mapping"]},
    {"span": {"Loaded_Language": "high"}},
])
def test_a_damaged_model_json_is_a_clear_model_error(tmp_path: Path, damage: dict) -> None:
    import json

    from unspin.errors import ModelError
    from unspin.model.runtime import OnnxModel

    for name in ("encoder.onnx", "heads.npz", "tokenizer.json"):
        (tmp_path / name).symlink_to(DEFAULT_DIR / name)
    meta = json.loads((DEFAULT_DIR / "model.json").read_text("utf-8"))
    meta["thresholds"].update(damage)
    (tmp_path / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="missing or broken"):
        OnnxModel(tmp_path)
    del meta["id"]
    (tmp_path / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="missing or broken"):
        OnnxModel(tmp_path)
