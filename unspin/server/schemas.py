"""Pydantic models of the JSON API: they validate requests and document every response in
the OpenAPI document (``/openapi.json``), so clients and schemathesis know what to expect.

The analysis models mirror :meth:`unspin.document.Analysis.to_dict` field by field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..document import SCHEMA_VERSION

# ---------------------------------------------------------------------------- requests


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceIn(_Strict):
    """One article: exactly one of ``text`` (the article itself) or ``url`` (a web page)."""

    text: str | None = Field(
        None, description="The article text; paragraphs separated by blank lines."
    )
    url: str | None = Field(
        None, description="An http(s) URL of an article to fetch.", max_length=2048
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceIn:
        if (self.text is None) == (self.url is None):
            raise ValueError("give exactly one of 'text' or 'url'")
        return self


class AnalyzeIn(SourceIn):
    """``POST /api/analyze`` as JSON."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"text": "Our river, our future.\n\nEveryone knows the deal is a betrayal."}
            ]
        },
    )


class CompareIn(_Strict):
    items: list[SourceIn] = Field(..., min_length=2, max_length=10)
    min_score: float = Field(
        0.0, ge=0.0, le=1.0, description="Count only detections scoring at least this."
    )


class JobIn(_Strict):
    items: list[SourceIn] = Field(
        ...,
        min_length=1,
        max_length=20,
        description="Texts and URLs; a feed URL stands for all its articles (at most 50 a job).",
    )


# ---------------------------------------------------------------------------- analysis


class ParagraphOut(BaseModel):
    index: int
    start: int
    end: int
    line: int | None = None


class ArticleOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # fields a newer Article adds pass through

    text: str
    id: str
    title: str | None
    url: str | None
    outlet: str | None
    author: str | None
    published: str | None
    language: str | None
    source_kind: str
    paragraphs: list[ParagraphOut]


class SpanOut(BaseModel):
    technique: str
    start: int = Field(..., description="Offset (code points) into article.text.")
    end: int
    score: float


class ParagraphLabelsOut(BaseModel):
    index: int
    techniques: dict[str, float]


class AnalysisOut(BaseModel):
    """``Analysis.to_dict()``: the article, technique spans, paragraph labels, genre, frames."""

    model_config = ConfigDict(extra="allow")  # fields a newer Analysis adds pass through

    schema_version: str = SCHEMA_VERSION
    article: ArticleOut
    spans: list[SpanOut]
    paragraphs: list[ParagraphLabelsOut]
    genre: str | None
    genre_scores: dict[str, float]
    frames: list[str]
    frame_scores: dict[str, float]
    model_id: str | None
    model_version: str | None
    notes: list[str] = Field(..., description="E.g. that no model is installed.")


# ---------------------------------------------------------------------------- comparison


class ProfileOut(BaseModel):
    """One article's persuasion profile; rates are per 1,000 words."""

    tag: str
    name: str
    words: int
    paragraphs: int
    paragraphs_with_technique: int
    span_count: int
    total_per_1000: float
    paragraph_share: float
    counts: dict[str, int]
    per_1000: dict[str, float]
    category_counts: dict[str, int]
    category_per_1000: dict[str, float]
    density: list[float]
    measured: bool


class TechniqueRowOut(BaseModel):
    technique: str
    rates: list[float]
    counts: list[int]


class ContrastOut(BaseModel):
    technique: str
    leader: int = Field(..., description="Index of the article that stands out.")
    rates: list[float]


class ComparisonOut(BaseModel):
    min_score: float
    measured: bool
    profiles: list[ProfileOut]
    rows: list[TechniqueRowOut]
    contrasts: list[ContrastOut]


class CompareOut(BaseModel):
    analyses: list[AnalysisOut]
    comparison: ComparisonOut
    summary: str


# ---------------------------------------------------------------------------- jobs


class JobResultOut(BaseModel):
    index: int
    source: str
    title: str | None = None
    genre: str | None = None
    detections: int | None = Field(None, description="Number of technique spans.")
    notes: list[str] = Field(default_factory=list)
    report_url: str | None = Field(None, description="The HTML report page of this result.")
    analysis: AnalysisOut | None = None
    error: ErrorDetail | None = None


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    done: int
    total: int
    messages: list[str]
    since: int = Field(..., description="Index of the first result listed.")
    results: list[JobResultOut]


class JobCreated(BaseModel):
    id: str
    status_url: str
    page_url: str


# ---------------------------------------------------------------------------- misc


class ErrorDetail(BaseModel):
    code: str = Field(..., examples=["invalid_input"])
    message: str = Field(..., description="A complete sentence to show to the user.")


class ErrorOut(BaseModel):
    error: ErrorDetail


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    model_loaded: bool
    analyses_running: int
    analyses_queued: int


class VersionOut(BaseModel):
    unspin: str
    model_id: str | None
    model_version: str | None
    schema_version: str = SCHEMA_VERSION


class CategoryOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    key: str
    name: str
    description: str
    techniques: list[str]


class LabelOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    label: str
    definition: str


class TechniqueOut(LabelOut):
    category: str


class TaxonomyOut(BaseModel):
    categories: list[CategoryOut]
    techniques: list[TechniqueOut]
    frames: list[LabelOut]
    genres: list[LabelOut]


JobResultOut.model_rebuild()


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status documented with the error model."""
    what = {
        400: "Malformed request (bad JSON, missing or extra fields).",
        403: "The URL points at a private or local address, or uses a scheme other than http(s).",
        404: "Not found (or expired).",
        413: "Too large (request body, upload or text).",
        415: "Unsupported upload or body type.",
        422: "The article cannot be analysed (empty, binary, not English, unfetchable).",
        429: "Too many jobs running.",
        503: "The model is broken.",
        504: "The work took longer than the server's timeout.",
    }
    return {s: {"model": ErrorOut, "description": what.get(s, "Error.")} for s in statuses}
