"""Where a sentence ends: one rule for the decoder's whole-sentence spans and the quotes reports
give as evidence.

A sentence ends at ``.``, ``!`` or ``?`` (with any closing quote or bracket) before the
next sentence's first character, which is not a lower-case letter ("U.S. officials" is one
sentence; so is a quotation and its attribution, '"Crooks!" she cried.'). A line break
ends none (a paragraph may be hard-wrapped text), nor does an ellipsis: counted as an end it
split the decoder's whole-sentence spans and cost span F1 on the validation split (0.186 ->
0.184). The style features of the genre and frame
heads count sentences by the rule they were trained with (``model.text_features``), which
only a retraining may change.
"""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s+[^a-z\s]|\s*$)")


def sentence_bounds(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """The whole sentences of ``text[lo:hi]`` that ``text[start:end]`` touches, without the
    whitespace around them."""
    ends = [m.end() for m in SENTENCE_END.finditer(text, lo, hi)]
    s = max((x for x in ends if x <= start), default=lo)
    e = min((x for x in ends if x >= end), default=hi)
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e
