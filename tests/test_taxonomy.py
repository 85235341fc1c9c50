"""Tests for unspin.taxonomy: the label set every other module relies on."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from unspin import taxonomy as tx

SCORER_ORDER = (
    "Appeal_to_Authority",
    "Appeal_to_Popularity",
    "Appeal_to_Values",
    "Appeal_to_Fear-Prejudice",
    "Flag_Waving",
    "Causal_Oversimplification",
    "False_Dilemma-No_Choice",
    "Consequential_Oversimplification",
    "Straw_Man",
    "Red_Herring",
    "Whataboutism",
    "Slogans",
    "Appeal_to_Time",
    "Conversation_Killer",
    "Loaded_Language",
    "Repetition",
    "Exaggeration-Minimisation",
    "Obfuscation-Vagueness-Confusion",
    "Name_Calling-Labeling",
    "Doubt",
    "Guilt_by_Association",
    "Appeal_to_Hypocrisy",
    "Questioning_the_Reputation",
)

EXPECTED_CATEGORIES = {
    "attack_on_reputation": {
        "Name_Calling-Labeling",
        "Guilt_by_Association",
        "Doubt",
        "Appeal_to_Hypocrisy",
        "Questioning_the_Reputation",
    },
    "justification": {
        "Flag_Waving",
        "Appeal_to_Authority",
        "Appeal_to_Popularity",
        "Appeal_to_Values",
        "Appeal_to_Fear-Prejudice",
    },
    "simplification": {
        "Causal_Oversimplification",
        "False_Dilemma-No_Choice",
        "Consequential_Oversimplification",
    },
    "distraction": {"Straw_Man", "Red_Herring", "Whataboutism"},
    "call": {"Slogans", "Conversation_Killer", "Appeal_to_Time"},
    "manipulative_wording": {
        "Loaded_Language",
        "Obfuscation-Vagueness-Confusion",
        "Exaggeration-Minimisation",
        "Repetition",
    },
}

FRAME_ORDER = (
    "Economic",
    "Capacity_and_resources",
    "Morality",
    "Fairness_and_equality",
    "Legality_Constitutionality_and_jurisprudence",
    "Policy_prescription_and_evaluation",
    "Crime_and_punishment",
    "Security_and_defense",
    "Health_and_safety",
    "Quality_of_life",
    "Cultural_identity",
    "Public_opinion",
    "Political",
    "External_regulation_and_reputation",
)


def _luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_counts_and_order() -> None:
    assert tx.TECHNIQUE_NAMES == SCORER_ORDER
    assert tuple(tx.TECHNIQUES) == SCORER_ORDER
    assert tx.FRAME_NAMES == FRAME_ORDER == tuple(tx.FRAMES)
    assert tx.GENRE_NAMES == ("opinion", "reporting", "satire") == tuple(tx.GENRES)
    assert tuple(tx.CATEGORIES) == tuple(EXPECTED_CATEGORIES)
    assert (len(tx.TECHNIQUES), len(tx.CATEGORIES), len(tx.FRAMES), len(tx.GENRES)) == (
        23,
        6,
        14,
        3,
    )


def test_dict_keys_match_entries() -> None:
    assert all(k == t.name for k, t in tx.TECHNIQUES.items())
    assert all(k == f.name for k, f in tx.FRAMES.items())
    assert all(k == g.name for k, g in tx.GENRES.items())
    assert all(k == c.key for k, c in tx.CATEGORIES.items())


def test_every_technique_in_exactly_one_expected_category() -> None:
    grouped: dict[str, set[str]] = {key: set() for key in tx.CATEGORIES}
    for t in tx.TECHNIQUES.values():
        grouped[t.category].add(t.name)
    assert grouped == EXPECTED_CATEGORIES
    assert sum(len(names) for names in grouped.values()) == 23


def test_category_names_and_symbols() -> None:
    assert [c.name for c in tx.CATEGORIES.values()] == [
        "Attack on reputation",
        "Justification",
        "Simplification",
        "Distraction",
        "Call",
        "Manipulative wording",
    ]
    symbols = [c.symbol for c in tx.CATEGORIES.values()]
    assert len(set(symbols)) == 6
    assert all(1 <= len(s) <= 2 and s.strip() == s for s in symbols)


@pytest.mark.parametrize("category", list(tx.CATEGORIES.values()), ids=lambda c: c.key)
def test_colour_contrast_meets_wcag_aa(category: tx.Category) -> None:
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", category.color)
    assert _contrast(category.color, "#111111") >= 4.5


def test_colours_clearly_distinct() -> None:
    colours = [c.color.upper() for c in tx.CATEGORIES.values()]
    assert len(set(colours)) == 6
    for a, b in itertools.combinations(colours, 2):
        rgb_a = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
        rgb_b = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
        assert sum((x - y) ** 2 for x, y in zip(rgb_a, rgb_b, strict=True)) ** 0.5 > 40, (a, b)


def test_wcag_helper_sanity() -> None:
    assert _contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert _contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_texts_present_and_distinct() -> None:
    entries: list[tx.Technique | tx.Frame | tx.Genre] = [
        *tx.TECHNIQUES.values(),
        *tx.FRAMES.values(),
        *tx.GENRES.values(),
    ]
    for e in entries:
        for text in (e.label, e.definition, e.example):
            assert text.strip() == text and text, e.name
        assert e.definition[0].isupper() and e.definition.endswith("."), e.name
        assert e.definition != e.example
        # 1-2 sentences: short enough to show next to a highlight
        assert len(e.definition) <= 300, e.name
    for attr in ("label", "definition", "example"):
        values = [getattr(e, attr) for e in entries]
        assert len(set(values)) == len(values), attr
    descriptions = [c.description for c in tx.CATEGORIES.values()]
    assert all(descriptions) and len(set(descriptions)) == 6


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("Loaded_Language", "technique", "Loaded_Language"),
        ("loaded language", "technique", "Loaded_Language"),
        ("  LOADED_LANGUAGE\n", "technique", "Loaded_Language"),
        ("Appeal_to_Fear\u2013Prejudice", "technique", "Appeal_to_Fear-Prejudice"),
        ("appeal to fear - prejudice", "technique", "Appeal_to_Fear-Prejudice"),
        ("Name Calling-Labeling", "technique", "Name_Calling-Labeling"),
        ("Casting doubt", "technique", "Doubt"),
        ("Appeal_to_Fear-Prejudi-\u010dce", "technique", None),
        ("Appeal_to_Fear", "technique", None),
        ("", "technique", None),
        ("Economic", "technique", None),
        ("security and defense", "frame", "Security_and_defense"),
        (
            "legality constitutionality and jurisprudence",
            "frame",
            "Legality_Constitutionality_and_jurisprudence",
        ),
        ("Loaded_Language", "frame", None),
        ("Satire", "genre", "satire"),
        (" reporting ", "genre", "reporting"),
        ("news", "genre", None),
    ],
)
def test_normalize_label(raw: str, kind: str, expected: str | None) -> None:
    assert tx.normalize_label(raw, kind) == expected


def test_normalize_label_is_identity_on_canonical_names() -> None:
    for kind, names in (
        ("technique", tx.TECHNIQUE_NAMES),
        ("frame", tx.FRAME_NAMES),
        ("genre", tx.GENRE_NAMES),
    ):
        for name in names:
            assert tx.normalize_label(name, kind) == name


def test_normalize_label_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        tx.normalize_label("Doubt", "colour")


def test_technique_lookup_and_helpful_error() -> None:
    assert tx.technique("Doubt").label == "Casting doubt"
    assert tx.technique("straw man") is tx.TECHNIQUES["Straw_Man"]
    with pytest.raises(KeyError, match="Appeal_to_Fear-Prejudice"):
        tx.technique("Appeal_to_Fear-Prejudi-\u010dce")


def test_category_of() -> None:
    assert tx.category_of("Whataboutism").key == "distraction"
    assert tx.category_of("Repetition").name == "Manipulative wording"
    for t in tx.TECHNIQUES.values():
        assert tx.category_of(t.name) is tx.CATEGORIES[t.category]
    with pytest.raises(KeyError):
        tx.category_of("Not_A_Technique")


def test_frozen() -> None:
    with pytest.raises(AttributeError):
        tx.TECHNIQUES["Doubt"].label = "x"  # type: ignore[misc]


def test_taxonomy_as_dict_is_json_ready_and_complete() -> None:
    data = tx.taxonomy_as_dict()
    assert json.loads(json.dumps(data)) == data
    assert [t["name"] for t in data["techniques"]] == list(SCORER_ORDER)
    assert [f["name"] for f in data["frames"]] == list(FRAME_ORDER)
    assert [g["name"] for g in data["genres"]] == ["opinion", "reporting", "satire"]
    cats = {c["key"]: c for c in data["categories"]}
    assert list(cats) == list(EXPECTED_CATEGORIES)
    for key, names in EXPECTED_CATEGORIES.items():
        assert set(cats[key]["techniques"]) == names
        assert {"name", "description", "color", "symbol"} <= set(cats[key])
    assert set(data["techniques"][0]) == {"name", "label", "category", "definition", "example"}
    # fresh copy each call: callers may mutate it
    data["techniques"].clear()
    assert len(tx.taxonomy_as_dict()["techniques"]) == 23
