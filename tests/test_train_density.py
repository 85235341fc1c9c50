"""Density: thresholds of under-predicted techniques go down, within a bound, never up."""

from __future__ import annotations

import numpy as np
import pytest

from unspin.model import DEFAULT_DIR, load_uncached
from unspin.taxonomy import TECHNIQUE_NAMES

density = pytest.importorskip("unspin.train.density")
data = pytest.importorskip("unspin.train.data")
needs_model = pytest.mark.skipif(not (DEFAULT_DIR / "model.json").exists(), reason="no shipped model")

TEXT = ("The minister said the plan would cut costs by a tenth.\n\n"
        "Critics called it a shameful betrayal by spineless cowards who lie to every voter.\n\n"
        "Officials will meet again on Thursday.")


def _article() -> object:
    return data.LabeledArticle(id="t", text=TEXT, lines=data.semeval_lines(TEXT), annotated=False)


def test_guide_rates_count_labels_per_labelled_paragraph() -> None:
    a = data.LabeledArticle(id="g", text="x\n\ny\n\nz", lines=[(1, 0, 1), (3, 3, 4), (5, 6, 7)],
                            paragraph_labels={1: ["Doubt", "Slogans"], 3: ["Doubt"]})
    rates = dict(zip(TECHNIQUE_NAMES, density.guide_rates([a]), strict=True))
    assert rates["Doubt"] == 1.0 and rates["Slogans"] == 0.5 and rates["Loaded_Language"] == 0.0


@needs_model
def test_thresholds_only_go_down_and_never_below_the_bound() -> None:
    model = load_uncached(DEFAULT_DIR)
    article = _article()
    bounds = [(s, e) for _, s, e in article.lines]
    t = TECHNIQUE_NAMES.index("Loaded_Language")
    peak = float(model.scores(TEXT, bounds).paragraph[:, t].max())
    # Loaded language just out of reach; no word evidence, so the paragraph head alone decides.
    model.paragraph_thresholds[t] = peak * 1.2
    model.evidence = None
    old = dict(zip(TECHNIQUE_NAMES, model.paragraph_thresholds, strict=True))
    # Nothing annotated: no technique is under-predicted, nothing moves.
    same = density.lowered(model, [article], np.zeros(len(TECHNIQUE_NAMES)))
    assert same == {n: round(float(v), 3) for n, v in old.items()}
    # Every paragraph annotated with everything: thresholds go down, never below the bound.
    low = density.lowered(model, [article], np.ones(len(TECHNIQUE_NAMES)))
    for n, v in low.items():
        assert round(old[n] * density.LOWEST, 3) - 1e-3 <= v <= old[n] + 1e-9
    assert low["Loaded_Language"] <= peak  # now predicted where it was not
