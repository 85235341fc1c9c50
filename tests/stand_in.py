"""The one stand-in for the trained model, for tests that need predictable detections
(and for the pages without a trained model: ``create_app(model=PhraseModel())``)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from unspin.document import Analysis, Article, ParagraphLabels, Span
from unspin.errors import InputError

DEFAULT_PHRASES = {  # phrases of examples/op-ed.txt and of the tests' own texts
    "Loaded_Language": ("shameful", "betrayal", "spineless", "disaster", "outrageous"),
    "Name_Calling-Labeling": ("so-called experts", "paymasters", "alarmists"),
    "Appeal_to_Fear-Prejudice": ("nothing left to save", "cracked riverbeds"),
    "Appeal_to_Popularity": ("everyone knows", "nobody in this country", "every true"),
    "Slogans": ("not one drop for sale", "our river, our future"),
    "False_Dilemma-No_Choice": ("either we stand up now",),
}


@dataclass
class PhraseModel:
    """Marks every occurrence of a phrase as its technique; not a model of anything.

    A text with a phrase is an opinion piece framed by ``frames``, one without is a report.
    Every paragraph gets its labels (none where no phrase is). ``score``: of every span
    (None: 0.55 to 0.95, from the phrase's length). ``delay``: seconds of sleep per article
    (a slow model); ``fail_ids``: ids of articles it refuses with an InputError;
    ``interrupt_at``: the call (from 1) on which it raises KeyboardInterrupt. ``calls``:
    the id of every article it was given.
    """

    phrases: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PHRASES))
    id: str = "phrase-test-model"
    version: str = "0"
    match_case: bool = False
    score: float | None = None
    frames: tuple[str, ...] = ("Political",)
    delay: float = 0.0
    fail_ids: tuple[str, ...] = ()
    interrupt_at: int | None = None
    calls: list[str] = field(default_factory=list)

    def _spans(self, text: str) -> list[Span]:
        flags = 0 if self.match_case else re.I
        spans = []
        for technique, phrases in self.phrases.items():
            for phrase in phrases:
                for m in re.finditer(re.escape(phrase), text, flags):
                    score = self.score if self.score is not None else 0.55 + len(phrase) % 9 * 0.05
                    spans.append(Span(technique, m.start(), m.end(), round(score, 2)))
        return sorted(spans, key=lambda s: (s.start, s.end))

    def analyze(self, article: Article) -> Analysis:
        self.calls.append(article.id)
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        if article.id in self.fail_ids:
            raise InputError(f"{article.id} cannot be analysed (a failure on demand).")
        if self.delay:
            time.sleep(self.delay)
        spans = self._spans(article.text)
        labels: dict[int, dict[str, float]] = {p.index: {} for p in article.paragraphs}
        for s in spans:
            para = article.paragraph_at(s.start)
            if para is not None:
                found = labels[para.index]
                found[s.technique] = max(s.score, found.get(s.technique, 0.0))
        opinion = 0.9 if spans else 0.2
        return Analysis(
            article=article,
            spans=spans,
            paragraphs=[ParagraphLabels(i, t) for i, t in sorted(labels.items())],
            genre="opinion" if spans else "reporting",
            genre_scores={"opinion": opinion, "reporting": round(1 - opinion, 2), "satire": 0.0},
            frames=list(self.frames) if spans else [],
            frame_scores={"Political": 0.8 if spans else 0.3, "Economic": 0.35},
            model_id=self.id,
            model_version=self.version,
        )
