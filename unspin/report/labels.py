"""Display names, markers and number formats shared by every report.

Lookups never fail: a technique, genre or frame the taxonomy does not know (a newer model, a
hand-edited JSON file) is shown under its raw name in an "Other" category instead of
crashing the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..profiles import OTHER_CATEGORY, category_key
from ..taxonomy import (
    ABBREVIATIONS,
    CATEGORIES,
    FRAMES,
    GENRES,
    TECHNIQUES,
    Category,
    normalize_label,
)

OTHER = Category(
    key=OTHER_CATEGORY,
    name="Other",
    description="Techniques this version of unspin does not know.",
    color="#D9D9D9",
    symbol="?",
)

CATEGORY_ORDER: tuple[str, ...] = (*CATEGORIES, OTHER_CATEGORY)

@dataclass(frozen=True)
class TechniqueInfo:
    """What a report needs to show a technique: names, definition, category and marker."""

    name: str
    label: str
    definition: str
    category: Category
    abbr: str
    example: str = ""  # an invented example, shown beside the definition

    @property
    def category_index(self) -> int:
        return CATEGORY_ORDER.index(self.category.key)


def category(key: str) -> Category:
    return CATEGORIES.get(key, OTHER)


def _raw_label(name: str) -> str:
    return name.replace("_", " ").replace("-", " / ").strip() or "(unnamed)"


@lru_cache(maxsize=256)
def technique_info(name: str) -> TechniqueInfo:
    canonical = normalize_label(name, "technique")
    if canonical is None:
        initials = "".join(w[0] for w in _raw_label(name).split() if w[0].isalnum())
        return TechniqueInfo(
            name=name,
            label=_raw_label(name),
            definition="This technique is not in unspin's taxonomy; no definition is available.",
            category=OTHER,
            abbr=(initials[:3] or "?").upper(),
        )
    t = TECHNIQUES[canonical]
    return TechniqueInfo(
        name=name,
        label=t.label,
        definition=t.definition,
        category=category(category_key(canonical)),
        abbr=ABBREVIATIONS.get(canonical, canonical[:2].upper()),
        example=t.example,
    )


def genre_label(name: str | None) -> str:
    if not name:
        return "Unknown"
    canonical = normalize_label(name, "genre")
    return GENRES[canonical].label if canonical else _raw_label(name)


def genre_definition(name: str | None) -> str:
    canonical = normalize_label(name, "genre") if name else None
    return GENRES[canonical].definition if canonical else ""


def frame_label(name: str) -> str:
    canonical = normalize_label(name, "frame")
    return FRAMES[canonical].label if canonical else _raw_label(name)


def in_sentence(label: str) -> str:
    """A label as it reads mid-sentence: "Loaded language" -> "loaded language"."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def fmt_rate(value: float) -> str:
    """Rates per 1,000 words: one decimal is as precise as span detection warrants."""
    return f"{value:,.1f}"


def fmt_pct(share: float) -> str:
    """A 0..1 share as a whole percentage; never rounds a non-zero share to "0%"."""
    pct = share * 100
    if 0 < pct < 1:
        return "<1%"
    if 99 < pct < 100:
        return ">99%"
    return f"{pct:.0f}%"


def fmt_score(score: float) -> str:
    return fmt_pct(score)
