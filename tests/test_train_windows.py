"""Training windows: a translated article's projected spans become its token targets where
they are known, and its windows say which annotation style they follow."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the `train` extra")
from unspin.model import DEFAULT_DIR  # noqa: E402
from unspin.model.windows import load_tokenizer  # noqa: E402
from unspin.taxonomy import TECHNIQUE_NAMES  # noqa: E402
from unspin.train.data import T_INDEX, LabeledArticle  # noqa: E402
from unspin.train.windows_data import article_windows, collate  # noqa: E402

needs_tokenizer = pytest.mark.skipif(not (DEFAULT_DIR / "tokenizer.json").exists(), reason="no shipped model")

TEXT = "The regime's puppets lied again.\n\nNobody believes them.\n\nWeather: sunny."
LINES = [(1, 0, 32), (3, 34, 55), (5, 57, 72)]  # line 5 carries no paragraph labels


def _article(spans: list[tuple[str, int, int]]) -> LabeledArticle:
    return LabeledArticle(id="mt-1", text=TEXT, lines=LINES, spans=spans,
                          paragraph_labels={1: ["Name_Calling-Labeling", "Doubt"], 3: []},
                          annotated=False, source="mt-fr")


def _targets(art: LabeledArticle, unknown: set | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    tok = load_tokenizer(DEFAULT_DIR / "tokenizer.json")
    (w,) = article_windows(tok, art, unknown=unknown)
    enc = tok.encode(TEXT, add_special_tokens=False)
    return w.token_labels[1:-1], np.array(enc.offsets), w.translated


@needs_tokenizer
def test_projected_spans_are_targets_on_labelled_paragraphs_only() -> None:
    puppets = (TEXT.index("puppets"), TEXT.index("puppets") + len("puppets"))
    y, offsets, translated = _targets(_article([("Name_Calling-Labeling", *puppets)]))
    assert translated
    nc, doubt = T_INDEX["Name_Calling-Labeling"], T_INDEX["Doubt"]
    inside = (offsets[:, 0] >= puppets[0]) & (offsets[:, 1] <= puppets[1])
    first = offsets[:, 1] <= 32
    assert (y[inside, nc] == 1).all() and (y[first & ~inside, nc] == 0).all()
    assert (y[first, doubt] == 0).all()  # labelled paragraph, no Doubt span: negative
    second = (offsets[:, 0] >= 34) & (offsets[:, 1] <= 55)
    assert (y[second] == 0).all()  # labelled with nothing: every technique negative
    third = offsets[:, 0] >= 57
    assert (y[third] == -1).all()  # no paragraph labels: unknown


@needs_tokenizer
def test_a_dropped_projection_is_unknown_not_negative() -> None:
    y, offsets, _ = _targets(_article([("Name_Calling-Labeling", 4, 20)]), unknown={(1, "Doubt")})
    first = offsets[:, 1] <= 32
    assert (y[first, T_INDEX["Doubt"]] == -1).all()
    assert (y[first, T_INDEX["Name_Calling-Labeling"]] >= 0).all()


@needs_tokenizer
def test_without_projected_spans_only_the_four_techniques_are_weak_targets() -> None:
    y, offsets, _ = _targets(_article([]))
    known = [n for n in TECHNIQUE_NAMES if (y[:, T_INDEX[n]] >= 0).any()]
    assert known == ["Appeal_to_Values", "Consequential_Oversimplification", "Appeal_to_Time",
                     "Questioning_the_Reputation"]


@needs_tokenizer
def test_collate_marks_translated_windows() -> None:
    tok = load_tokenizer(DEFAULT_DIR / "tokenizer.json")
    english = LabeledArticle(id="en-1", text=TEXT, lines=LINES, spans=[], paragraph_labels={1: []})
    batch = collate(article_windows(tok, english) + article_windows(tok, _article([])))
    assert batch["translated"].tolist() == [False, True]


@needs_tokenizer
def test_projected_weight_scales_only_the_projected_windows_token_loss() -> None:
    from unspin.train.loop import TrainConfig, losses

    tok = load_tokenizer(DEFAULT_DIR / "tokenizer.json")
    puppets = (TEXT.index("puppets"), TEXT.index("puppets") + len("puppets"))
    english = LabeledArticle(id="en-1", text=TEXT, lines=LINES, spans=[("Name_Calling-Labeling", *puppets)],
                             paragraph_labels={1: ["Name_Calling-Labeling"]})
    projected = _article([("Name_Calling-Labeling", *puppets)])
    both = collate(article_windows(tok, english) + article_windows(tok, projected))
    assert both["projected"].tolist() == [False, True]
    alone = {w: collate(article_windows(tok, a)) for w, a in (("en", english), ("mt", projected))}

    def token_loss(batch: dict, weight: float) -> float:
        out = {"token": torch.zeros(batch["token_labels"].shape), "paragraph": torch.zeros(batch["para_labels"].shape),
               "genre": torch.zeros(len(batch["genre"]), 3), "frames": torch.zeros(batch["frames"].shape)}
        pw = torch.full((len(TECHNIQUE_NAMES),), 3.0)
        cfg = TrainConfig(data_dir="-", w_projected=weight)
        return float(losses(out, batch, cfg, pw, torch.ones(3))["token"])

    assert token_loss(alone["en"], 1.0) > 0
    assert token_loss(alone["en"], 0.0) == pytest.approx(token_loss(alone["en"], 1.0))
    assert token_loss(alone["mt"], 0.0) == 0.0 < token_loss(alone["mt"], 1.0)
    assert token_loss(alone["mt"], 0.3) == pytest.approx(0.3 * token_loss(alone["mt"], 1.0))
    assert token_loss(both, 0.3) < token_loss(both, 1.0)


def test_train_refuses_a_negative_projected_weight_before_reading_anything(tmp_path) -> None:
    from click.testing import CliRunner

    from unspin.cli import cli

    result = CliRunner().invoke(cli, ["train", "--data", str(tmp_path), "--projected-weight", "-0.5"])
    assert result.exit_code == 2
    assert "--projected-weight" in result.output and "-0.5" in result.output
