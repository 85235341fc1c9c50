"""A stand-in model that marks fixed phrases: for tests and for working on the pages without
a trained model (``create_app(model=PhraseModel())``). The server never uses it by itself.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from ..document import Analysis, Article, ParagraphLabels, Span

DEFAULT_PHRASES = {
    "Loaded_Language": ("shameful", "betrayal", "spineless", "disaster", "outrageous"),
    "Name_Calling-Labeling": ("so-called experts", "paymasters", "alarmists"),
    "Appeal_to_Fear-Prejudice": ("nothing left to save", "cracked riverbeds"),
    "Appeal_to_Popularity": ("everyone knows", "nobody in this country", "every true"),
    "Slogans": ("not one drop for sale", "our river, our future"),
    "False_Dilemma-No_Choice": ("either we stand up now",),
}


@dataclass
class PhraseModel:
    """Finds each phrase (case-insensitive) and reports it as its technique.

    ``delay`` seconds of sleep per article imitate a slow model (tests of concurrency).
    """

    phrases: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PHRASES))
    delay: float = 0.0
    id: str = "phrase-test-model"
    version: str = "0"

    def analyze(self, article: Article) -> Analysis:
        if self.delay:
            time.sleep(self.delay)
        spans: list[Span] = []
        for technique, phrases in self.phrases.items():
            for phrase in phrases:
                for m in re.finditer(re.escape(phrase), article.text, re.I):
                    score = 0.55 + (len(phrase) % 9) * 0.05
                    spans.append(Span(technique, m.start(), m.end(), round(score, 2)))
        spans.sort(key=lambda s: (s.start, s.end))
        labels: dict[int, dict[str, float]] = {}
        for s in spans:
            para = article.paragraph_at(s.start)
            if para is not None:
                found = labels.setdefault(para.index, {})
                found[s.technique] = max(s.score, found.get(s.technique, 0.0))
        opinion = 0.9 if spans else 0.2
        return Analysis(
            article=article,
            spans=spans,
            paragraphs=[ParagraphLabels(i, t) for i, t in sorted(labels.items())],
            genre="opinion" if spans else "reporting",
            genre_scores={"opinion": opinion, "reporting": round(1 - opinion, 2), "satire": 0.0},
            frames=["Political"] if spans else [],
            frame_scores={"Political": 0.8 if spans else 0.3, "Economic": 0.35},
            model_id=self.id,
            model_version=self.version,
        )
