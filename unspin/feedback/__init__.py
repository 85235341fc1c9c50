"""Reader feedback, kept locally: judgements of detections in one SQLite file, exported in
the SemEval layout and read back for calibration (:func:`judgements`)."""

from .export import DISPUTED_FILE, Exported, export
from .store import (
    VERDICTS,
    ArticleJudgements,
    FeedbackError,
    FeedbackStore,
    FeedbackStoreError,
    Judgement,
    Stored,
    article_id,
    judgements,
    text_hash,
)

__all__ = [
    "DISPUTED_FILE",
    "VERDICTS",
    "ArticleJudgements",
    "Exported",
    "FeedbackError",
    "FeedbackStore",
    "FeedbackStoreError",
    "Judgement",
    "Stored",
    "article_id",
    "export",
    "judgements",
    "text_hash",
]
