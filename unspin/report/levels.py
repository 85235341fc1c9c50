"""What a report shows by default: the likely detections, and a plain note on what each level
is worth. A *likely* detection's paragraph label has a confidence of at least 50%; on
held-out news the model's measured share of right labels per level (``Analysis.levels``)
is quoted so that a reader knows what "likely" and "possible" mean without a manual.
"""

from __future__ import annotations

import dataclasses

from ..document import Analysis
from .labels import fmt_pct

HOW_TO_SHOW = "--possible, or \u201cShow possible detections\u201d in the web app"


def _worth(analysis: Analysis, level: str) -> str:
    measured = analysis.levels.get(level) or {}
    right, precision = measured.get("labels_right"), measured.get("span_precision")
    if right is None:
        return ""
    words = f"on held-out news {fmt_pct(right)} of such labels were right"
    return words + (f", and {fmt_pct(precision)} of their highlighted text matched an annotator's"
                    if precision is not None else "")


def level_note(analysis: Analysis, *, possible: bool) -> str:
    """One sentence for the reader: what is shown, what is hidden and what each is worth."""
    likely = analysis.likely()
    hidden = len(analysis.spans) - len(likely.spans)
    worth = _worth(analysis, "likely")
    head = ("Likely detections: the model is at least 50% sure the paragraph uses the technique"
            + (f" ({worth})" if worth else ""))
    if possible:
        rest = _worth(analysis, "possible")
        return f"{head}. Possible detections, less sure, are shown too" + (f" ({rest})." if rest else ".")
    if not hidden:
        return f"{head}."
    return (f"{head}. Only likely detections are shown: {hidden} possible "
            f"detection{'s' * (hidden != 1)} {'are' if hidden != 1 else 'is'} hidden ({HOW_TO_SHOW}).")


def for_readers(analysis: Analysis, *, possible: bool = False) -> Analysis:
    """The analysis a report renders: likely detections only unless ``possible``, with the
    note that says so. Without a model nothing is detected and nothing is said."""
    if analysis.model_id is None:
        return analysis
    shown = analysis if possible else analysis.likely()
    return dataclasses.replace(shown, notes=[*analysis.notes, level_note(analysis, possible=possible)])
