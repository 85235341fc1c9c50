"""The training data readers: translated multilingual articles and the shift-matched split.

Fixtures are written here; one test checks a fact of the SemEval data when ../shared is present."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shared_dir

from unspin.train.data import (
    HELD_OUT,
    NOT_IN_ENGLISH,
    DataReport,
    LabeledArticle,
    load_dir,
    load_translated,
    split,
)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_translated_articles_join_labels_and_report_noise(tmp_path: Path) -> None:
    _write(tmp_path / "translated-en/fr/train-paragraphs-en.txt",
           "7\t1\tA title\n"
           '7\t3\t"He said ""never"" again."\n'
           "7\t4\t\n"  # a labelled line with no translation: reported, skipped
           "7\tx\tbroken\n")
    _write(tmp_path / "native/fr/train-labels-subtask-1.txt", "7\treporting\n")
    _write(tmp_path / "native/fr/train-labels-subtask-2.txt", "7\tPolitical,Economic\n")
    _write(tmp_path / "native/fr/train-labels-subtask-3.txt",
           "7\t1\t\n7\t3\tDoubt,Loaded_Language,Not_A_Technique\n7\t4\tDoubt\n")
    report = DataReport()
    (art,) = load_translated(tmp_path, report)
    assert art.id == "fr-7" and art.source == "mt-fr" and not art.annotated
    assert art.text == 'A title\nHe said "never" again.'
    assert [(n, art.text[s:e]) for n, s, e in art.lines] == [(1, "A title"), (3, 'He said "never" again.')]
    assert art.paragraph_labels == {1: [], 3: ["Doubt", "Loaded_Language"]}
    assert art.genre == "reporting" and art.frames == ["Political", "Economic"]
    assert set(report.problems) == {"malformed translation row", "labelled line without translation",
                                    "unknown technique label"}


def test_split_holds_out_shift_matched_articles_and_never_overlaps() -> None:
    arts = []
    for source in ("en", "mt-fr"):
        for genre, n in (("reporting", 100), ("opinion", 60), ("satire", 12), (None, 5)):
            for i in range(n):
                arts.append(LabeledArticle(id=f"{source}-{genre}-{i}", text="x", lines=[(1, 0, 1)],
                                           paragraph_labels={1: []} if i % 10 else {}, genre=genre,
                                           source=source))
    parts = split(arts, seed=3)
    ids = {k: {a.id for a in v} for k, v in parts.items()}
    assert not (ids["train"] & ids["tune"]) and not (ids["train"] & ids["val"]) and not (ids["tune"] & ids["val"])
    assert sum(len(v) for v in ids.values()) == len(arts)
    for (src, genre), (n_tune, n_val) in HELD_OUT.items():
        for name, n in (("tune", n_tune), ("val", n_val)):
            got = [a for a in parts[name] if a.source.split("-")[0] == src and a.genre == genre]
            assert len(got) == n and all(a.paragraph_labels for a in got)
    assert all(a.genre is not None for a in parts["tune"] + parts["val"])
    assert split(arts, seed=3) == parts  # reproducible from the seed


SHARED = shared_dir()


@pytest.mark.skipif(SHARED is None, reason="needs ../shared (the SemEval data)")
def test_the_english_data_never_marks_the_techniques_listed_as_missing_and_translations_do() -> None:
    assert SHARED is not None
    english = load_dir(SHARED / "data" / "semeval2023task3" / "data" / "en")
    used = {t for a in english for t in [*(s[0] for s in a.spans), *(x for ls in a.paragraph_labels.values() for x in ls)]}
    assert used and not used & set(NOT_IN_ENGLISH)
    translated = load_translated(SHARED / "data" / "semeval2023task3-multilingual")
    marked = {t for a in translated for ls in a.paragraph_labels.values() for t in ls}
    assert set(NOT_IN_ENGLISH) <= marked
