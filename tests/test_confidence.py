"""Displayed confidences: the Platt maps, the levels, and the reliability measurement."""

from __future__ import annotations

import numpy as np
import pytest

from unspin.document import LIKELY, Analysis, Article, Paragraph, ParagraphLabels, Span, level_of
from unspin.evaluation import char_precision, expected_calibration_error, reliability
from unspin.model.confidence import Confidence, Platt, fit_platt


def test_the_identity_map_changes_nothing() -> None:
    scores = np.array([0.01, 0.2, 0.5, 0.77, 0.99])
    assert np.allclose(Platt()(scores), scores, atol=1e-6)


def test_fit_platt_recovers_a_known_miscalibration() -> None:
    """Scores that are twice as extreme as they should be: the fitted map undoes it."""
    rng = np.random.default_rng(1)
    truth = Platt(a=0.5, b=-0.4)
    scores = rng.uniform(0.02, 0.98, 20_000)
    outcomes = rng.random(scores.size) < truth(scores)
    fitted = fit_platt(scores, outcomes, strength=1e-3)
    assert fitted.a == pytest.approx(0.5, abs=0.05) and fitted.b == pytest.approx(-0.4, abs=0.05)
    bins = reliability(fitted(scores), outcomes.astype(float))
    assert expected_calibration_error(bins) < 0.02
    assert expected_calibration_error(reliability(scores, outcomes.astype(float))) > 0.1


def test_fit_platt_takes_fractions_and_a_strong_prior_holds() -> None:
    scores = np.array([0.3, 0.4, 0.6, 0.7] * 10)
    precision = np.full(scores.size, 0.1)  # spans: a share of characters, not a 0/1 verdict
    loose = fit_platt(scores, precision, strength=1e-3)
    assert loose(0.5) == pytest.approx(0.1, abs=0.02)
    prior = Platt(1.0, 0.0)
    held = fit_platt(scores, precision, prior=prior, strength=1e6)
    assert (held.a, held.b) == pytest.approx((1.0, 0.0), abs=1e-3)


def test_confidence_round_trips_through_model_json() -> None:
    c = Confidence(Platt(0.8, 0.1), Platt(0.6, -0.9), {"likely": {"labels_right": 0.7}}, "tune")
    again = Confidence.from_meta(c.to_meta())
    assert again == c
    assert Confidence.from_meta(None) == Confidence()


def test_levels_follow_the_paragraph_confidence() -> None:
    assert level_of(LIKELY) == "likely" and level_of(LIKELY - 0.01) == "possible"


def test_likely_keeps_only_likely_detections_and_json_quotes_spans() -> None:
    article = Article(text="Shameful cowards. Fine weather.", paragraphs=[Paragraph(0, 0, 17), Paragraph(1, 18, 31)])
    analysis = Analysis(
        article=article,
        spans=[Span("Loaded_Language", 0, 8, 0.4, "likely", ["shameful"]),
               Span("Name_Calling-Labeling", 9, 16, 0.2, "possible", ["cowards"])],
        paragraphs=[ParagraphLabels(0, {"Loaded_Language": 0.6, "Name_Calling-Labeling": 0.3})],
    )
    likely = analysis.likely()
    assert [s.technique for s in likely.spans] == ["Loaded_Language"]
    assert likely.paragraphs[0].techniques == {"Loaded_Language": 0.6}
    data = analysis.to_dict()
    assert [s["text"] for s in data["spans"]] == ["Shameful", "cowards"]
    assert Analysis.from_dict(data) == analysis


def test_character_precision_and_reliability_bins() -> None:
    assert char_precision(0, 10, [(5, 20)]) == 0.5
    assert char_precision(0, 10, []) == 0.0
    bins = reliability([0.1, 0.15, 0.9], [0.0, 1.0, 1.0])
    assert [(b.low, b.count) for b in bins] == [(0.0, 2), (0.8, 1)]
    assert bins[0].observed == 0.5 and bins[1].mean_score == pytest.approx(0.9)
