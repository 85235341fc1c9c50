"""``/api/feedback``: the reader's verdicts on detections, kept in the feedback store on this
machine (:mod:`unspin.feedback`); nothing is sent anywhere else.

A report page sends an article's text hash rather than its text: the text is found among
the analyses this server holds, or in the store from an earlier judgement. The score and
model of a judged detection are taken from that analysis (the model only when the client
sends none).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from ..document import Analysis
from ..feedback import FeedbackStore, text_hash
from ..feedback.store import FeedbackStoreError, technique_name
from .engine import engine_of
from .errors import NotFoundError
from .jobs import jobs_of
from .schemas import error_responses

router = APIRouter(prefix="/api", tags=["feedback"])

Verdict = Literal["confirm", "dispute", "add"]
HASH_PATTERN = "^[0-9a-f]{64}$"
_HASH_DESCRIPTION = "sha256 (hex) of the article text's UTF-8 bytes."


class FeedbackIn(BaseModel):
    """One verdict on ``text[start:end]``: exactly one of ``text`` or ``text_hash``."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        None, description="The article text exactly as analysed (`article.text` of the analysis)."
    )
    text_hash: str | None = Field(
        None, pattern=HASH_PATTERN,
        description=_HASH_DESCRIPTION + " The article must be analysed on this server "
        "(results are kept an hour) or judged before.",
    )  # fmt: skip
    technique: str = Field(..., max_length=100, examples=["Loaded_Language"])
    start: int = Field(..., ge=0, le=100_000_000, description="First code point of the span.")
    end: int = Field(..., ge=1, le=100_000_000, description="Code point after the span.")
    verdict: Verdict = Field(
        ..., description="confirm or dispute a detection; add: a technique unspin missed."
    )
    span: str | None = Field(
        None, max_length=100_000, description="The span's text; checked against text[start:end]."
    )
    score: float | None = Field(None, ge=0.0, le=1.0, description="The score shown, if any.")
    model_id: str | None = Field(None, max_length=200)
    model_version: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=2000)
    title: str | None = Field(None, max_length=1000)
    url: str | None = Field(None, max_length=2048)

    @model_validator(mode="after")
    def _exactly_one(self) -> FeedbackIn:
        if (self.text is None) == (self.text_hash is None):
            raise ValueError("give exactly one of 'text' or 'text_hash'")
        return self


class JudgementOut(BaseModel):
    text_hash: str = Field(..., description=_HASH_DESCRIPTION)
    article_id: str = Field(..., description="The article's id in an export (article<ID>.txt).")
    technique: str
    start: int
    end: int
    verdict: Verdict
    span: str = Field(..., description="text[start:end]")
    score: float | None
    model_id: str | None
    model_version: str | None
    note: str | None
    created: str = Field(..., description="When it was stored (ISO 8601, UTC).")


class FeedbackOut(BaseModel):
    judgement: JudgementOut
    replaced: Verdict | None = Field(
        ..., description="The earlier verdict on the same span that this one replaced, if any."
    )


class FeedbackRemovedOut(BaseModel):
    removed: JudgementOut


class FeedbackListOut(BaseModel):
    judgements: list[JudgementOut]


class FeedbackOffError(FeedbackStoreError):
    """This server was started without a feedback store."""


def _store(request: Request) -> FeedbackStore:
    path = engine_of(request).settings.feedback_db
    if path is None:
        raise FeedbackOffError(
            "This server keeps no feedback: start it with a feedback store "
            "(UNSPIN_FEEDBACK_DB, or the default of load_settings)."
        )
    return FeedbackStore(path)


def _analysis(analyses: list[Analysis], key: str) -> Analysis | None:
    return next((a for a in analyses if text_hash(a.article.text) == key), None)


def _record(store: FeedbackStore, body: FeedbackIn, analyses: list[Analysis]) -> dict[str, Any]:
    """Find the text and the analysis, fill in what the client left out, store."""
    key = body.text_hash or text_hash(body.text or "")
    analysis = _analysis(analyses, key)
    text, title, url = body.text, body.title, body.url
    if text is None:
        if analysis is not None:
            text = analysis.article.text
        elif (known := store.text_of(key)) is not None:
            text, title, url = known[0], title or known[1], url or known[2]
        else:
            raise NotFoundError(
                "No article with this text hash is held here (analyses are kept an hour, in "
                "memory): send the article's text instead."
            )
    score, model_id, model_version = body.score, body.model_id, body.model_version
    if analysis is not None:
        name = technique_name(body.technique)
        shown = next(
            (s for s in analysis.spans
             if (s.technique, s.start, s.end) == (name, body.start, body.end)), None,
        )  # fmt: skip
        if shown is not None:  # the score this server showed, exactly
            score = shown.score
        model_id = model_id or analysis.model_id
        model_version = model_version or analysis.model_version
        title = title or analysis.article.title
        url = url or analysis.article.url
    stored = store.add(
        text, body.technique, body.start, body.end, body.verdict, span=body.span, score=score,
        model_id=model_id, model_version=model_version, note=body.note, title=title, url=url,
    )  # fmt: skip
    return {"judgement": stored.judgement.to_dict(), "replaced": stored.replaced}


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    summary="Confirm, dispute or add a detection",
    description=(
        "Stores the reader's verdict on `text[start:end]` (code points) in the feedback store "
        "on this machine, keyed by the article's text hash, the technique and the offsets: a "
        "new verdict on the same key replaces the old one (`replaced` says which). Give the "
        "article as `text`, or as `text_hash` of an article analysed here."
    ),
    responses=error_responses(400, 404, 413, 422, 503),
)
async def add_feedback(body: FeedbackIn, request: Request) -> dict[str, Any]:
    store = _store(request)
    analyses = jobs_of(request).analyses()
    return await run_in_threadpool(_record, store, body, analyses)


@router.get(
    "/feedback",
    response_model=FeedbackListOut,
    summary="The stored judgements",
    description="Every judgement, or those of one article (`text_hash`), in reading order.",
    responses=error_responses(400, 503),
)
async def list_feedback(
    request: Request,
    text_hash: str | None = Query(None, pattern=HASH_PATTERN, description=_HASH_DESCRIPTION),
) -> dict[str, Any]:
    store = _store(request)
    found = await run_in_threadpool(store.judgements, text_hash)
    return {"judgements": [j.to_dict() for j in found]}


@router.delete(
    "/feedback",
    response_model=FeedbackRemovedOut,
    summary="Take back a judgement",
    description="Removes the judgement of `technique` at `start`-`end` of the article "
    "`text_hash`; the article's text goes with its last judgement.",
    responses=error_responses(400, 404, 422, 503),
)
async def remove_feedback(
    request: Request,
    text_hash: str = Query(..., pattern=HASH_PATTERN, description=_HASH_DESCRIPTION),
    technique: str = Query(..., max_length=100),
    start: int = Query(..., ge=0, le=100_000_000),
    end: int = Query(..., ge=1, le=100_000_000),
) -> dict[str, Any]:
    store = _store(request)
    removed = await run_in_threadpool(store.remove, text_hash, technique, start, end)
    if removed is None:
        raise NotFoundError(
            f"There is no judgement of {technique} at {start}-{end} of this article."
        )
    return {"removed": removed.to_dict()}
