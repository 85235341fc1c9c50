"""Pydantic models of the JSON API: they validate requests and document every response in
the OpenAPI document (``/openapi.json``), so clients and schemathesis know what to expect.

Analyses and comparisons are not described again here: their models take their JSON Schema
from the files that define the format (``unspin/report/*.json``, see
:mod:`unspin.report.jsonio`), so the API documents exactly what ``unspin analyze`` writes.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, RootModel, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from ..compare import MAX_ARTICLES
from ..document import SCHEMA_VERSION
from ..report.jsonio import comparison_schema, schema

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
    items: list[SourceIn] = Field(..., min_length=2, max_length=MAX_ARTICLES)
    min_score: float | None = Field(
        None, ge=0.0, le=1.0,
        description="Hide detections scored below this: they are neither shown nor counted "
        "[default: the server's UNSPIN_MIN_SCORE].",
    )
    possible: bool = Field(
        False, description="Count possible detections too; by default the comparison rests on likely ones."
    )


class JobIn(_Strict):
    items: list[SourceIn] = Field(
        ...,
        min_length=1,
        max_length=20,
        description="Texts and URLs; a feed URL stands for all its articles (at most 50 a job).",
    )


# ---------------------------------------------------------------------------- analysis


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``{"$ref": "#/$defs/x"}`` replaced by a copy of ``x`` (the
    schemas are not recursive), so that it stands alone inside the OpenAPI document."""
    if isinstance(node, list):
        return [_inlined(v, defs) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _inlined(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return {k: _inlined(v, defs) for k, v in node.items() if k not in ("$defs", "$schema", "$id")}


class _Document(RootModel[dict[str, Any]]):
    """A JSON object whose schema is one of the format's schema files."""

    source: ClassVar[dict[str, Any]]

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _core: core_schema.CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _inlined(copy.deepcopy(cls.source), cls.source.get("$defs", {}))


class AnalysisOut(_Document):
    """``Analysis.to_dict()``: the article, technique spans, paragraph labels, genre, frames."""

    source = schema()


class ComparisonOut(_Document):
    """``Comparison.to_dict()``: each article's profile, the techniques that differ."""

    source = comparison_schema()


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
