"""The JSON API under ``/api``; the OpenAPI document at ``/openapi.json`` describes it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from ..compare import MAX_ARTICLES, Comparison, compare
from ..document import Analysis
from ..report.jsonio import comparison_document
from ..report.levels import for_readers
from ..taxonomy import taxonomy_as_dict
from ..version import __version__
from . import bodies, inputs
from .engine import engine_of
from .jobs import job_dict, jobs_of, start_job
from .schemas import (
    AnalysisOut,
    AnalyzeIn,
    CompareIn,
    CompareOut,
    HealthOut,
    JobCreated,
    JobIn,
    JobOut,
    TaxonomyOut,
    VersionOut,
    error_responses,
)

router = APIRouter(prefix="/api", tags=["api"])

_MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "A .txt or .html file (or an RSS/Atom feed with one entry).",
        }
    },
    "required": ["file"],
}
_ANALYZE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": AnalyzeIn.model_json_schema()},
        "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
    },
}


# ---------------------------------------------------------------------------- routes


@router.post(
    "/analyze",
    response_model=AnalysisOut,
    summary="Analyse one article",
    description=(
        "Send the article as JSON with exactly one of `text` or `url`, or upload a file "
        "(.txt or .html) as multipart/form-data in the field `file`. Returns the analysis: "
        "technique spans (character offsets into `article.text`, with scores), paragraph "
        "labels, genre and frames."
    ),
    responses=error_responses(400, 403, 413, 415, 422, 503, 504),
    openapi_extra={"requestBody": _ANALYZE_BODY},
)
async def analyze_endpoint(request: Request) -> dict[str, Any]:
    engine = engine_of(request)
    item = await bodies.analyze_input(request, engine.settings)
    analysis = await engine.analyze_input(item)
    return analysis.to_dict()


@router.post(
    "/compare",
    response_model=CompareOut,
    summary=f"Compare 2 to {MAX_ARTICLES} articles",
    description=(
        'Each item is `{"text": ...}` or `{"url": ...}`. Returns each analysis, each '
        "article's persuasion profile, the techniques that differ most, and a summary."
    ),
    responses=error_responses(400, 403, 413, 422, 503, 504),
)
async def compare_endpoint(body: CompareIn, request: Request) -> dict[str, Any]:
    engine = engine_of(request)
    items = [bodies.source_input(s) for s in body.items]

    async def work() -> tuple[list[Analysis], Comparison]:
        analyses = [for_readers(a, possible=body.possible) for a in await engine.analyze_all(items)]
        min_score = engine.settings.min_score if body.min_score is None else body.min_score
        comparison = await engine.run_blocking(lambda: compare(analyses, min_score=min_score))
        return analyses, comparison

    _analyses, comparison = await engine.within(work(), "The comparison")
    return comparison_document(comparison)


@router.post(
    "/jobs",
    response_model=JobCreated,
    status_code=202,
    summary="Start a job (feeds, many URLs)",
    description=(
        "Analyses texts and URLs in the background; a feed URL stands for its articles. "
        "Poll `GET /api/jobs/{id}` for progress and the results so far."
    ),
    responses=error_responses(400, 413, 429),
)
async def create_job(body: JobIn, request: Request, response: Response) -> dict[str, str]:
    engine, store = engine_of(request), jobs_of(request)
    items = [bodies.source_input(s) for s in body.items]
    job = store.create("batch", [inputs.describe(i) for i in items], total=len(items))
    start_job(engine, store, job, items)
    status_url = f"/api/jobs/{job.id}"
    response.headers["location"] = status_url
    return {"id": job.id, "status_url": status_url, "page_url": f"/jobs/{job.id}"}


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    summary="A job's progress and results",
    responses=error_responses(400, 404),
)
async def get_job(
    job_id: str,
    request: Request,
    since: int = Query(0, ge=0, le=10_000, description="List results from this index on."),
    analyses: bool = Query(True, description="Include each full analysis (else a summary)."),
) -> dict[str, Any]:
    job = jobs_of(request).get(job_id)
    return job_dict(job, since=since, analyses=analyses)


@router.get("/techniques", response_model=TaxonomyOut, summary="The technique taxonomy")
async def techniques() -> dict[str, Any]:
    """Categories, techniques (with definitions and examples), frames and genres."""
    return taxonomy_as_dict()


@router.get("/health", response_model=HealthOut, summary="Is the server up")
async def health(request: Request) -> dict[str, Any]:
    """Answers at once, also while analyses run (they run off the event loop)."""
    engine = engine_of(request)
    return {
        "status": "degraded" if engine.model_error is not None else "ok",
        "model_loaded": engine.model is not None,
        "analyses_running": engine.active,
        "analyses_queued": engine.waiting,
    }


@router.get("/version", response_model=VersionOut, summary="Versions of unspin and its model")
async def version(request: Request) -> dict[str, Any]:
    engine = engine_of(request)
    return {
        "unspin": __version__,
        "model_id": engine.model_id,
        "model_version": engine.model_version,
    }
