"""The JSON API under ``/api``; the OpenAPI document at ``/openapi.json`` describes it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter, Query, Request, Response

from ..compare import Comparison, compare
from ..document import Analysis
from ..errors import UnspinError
from ..taxonomy import taxonomy_as_dict
from ..version import __version__
from . import bodies, inputs
from .engine import Engine
from .errors import with_prefix
from .jobs import Job, JobResult, JobStore, start_job
from .schemas import (
    AnalysisOut,
    AnalyzeIn,
    CompareIn,
    CompareOut,
    ErrorDetail,
    HealthOut,
    JobCreated,
    JobIn,
    JobOut,
    JobResultOut,
    TaxonomyOut,
    VersionOut,
    error_responses,
)

T = TypeVar("T")

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


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def jobs_of(request: Request) -> JobStore:
    store: JobStore = request.app.state.jobs
    return store


async def first_error(coroutines: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently; on the first failure cancel the rest and raise that error."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coroutines]
    except BaseExceptionGroup as errors:
        leaves = list(_leaves(errors))
        raise next((e for e in leaves if isinstance(e, UnspinError)), leaves[0]) from None
    return [t.result() for t in tasks]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


async def labelled(work: Awaitable[T], label: str) -> T:
    """``work``, with ``label`` ("Article 2: ") in front of a user-facing error."""
    try:
        return await work
    except UnspinError as err:
        raise with_prefix(err, label) from None


async def analyze_all(engine: Engine, items: Sequence[inputs.Input]) -> list[Analysis]:
    """Read, then analyse, several single-article inputs concurrently; an error names the
    article it is about ("Article 2: ...")."""
    articles = await first_error(
        [
            labelled(engine.load_one_article(item), f"Article {n}: ")
            for n, item in enumerate(items, 1)
        ]
    )
    return await first_error(
        [
            labelled(engine.analyze(article), f"Article {n}: ")
            for n, article in enumerate(articles, 1)
        ]
    )


def report_url(job: Job, result: JobResult) -> str | None:
    return f"/reports/{job.id}/{result.index + 1}" if result.analysis is not None else None


def job_dict(job: Job, *, since: int = 0, analyses: bool = True) -> dict[str, Any]:
    results = []
    for r in job.results[since:]:
        results.append(
            JobResultOut(
                index=r.index,
                source=r.source,
                title=r.analysis.article.title if r.analysis else None,
                genre=r.analysis.genre if r.analysis else None,
                detections=len(r.analysis.spans) if r.analysis else None,
                notes=list(r.analysis.notes) if r.analysis else [],
                report_url=report_url(job, r),
                analysis=(
                    AnalysisOut.model_validate(r.analysis.to_dict())
                    if analyses and r.analysis
                    else None
                ),
                error=ErrorDetail(code=r.error_code or "error", message=r.error or "")
                if r.error is not None
                else None,
            )
        )
    return JobOut(
        id=job.id,
        status=job.status,
        done=job.done,
        total=job.total,
        messages=list(job.messages),
        since=since,
        results=results,
    ).model_dump()


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
    summary="Compare 2 to 10 articles",
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
        analyses = await analyze_all(engine, items)
        comparison = await engine.run_blocking(lambda: compare(analyses, min_score=body.min_score))
        return analyses, comparison

    analyses, comparison = await engine.within(work(), "The comparison")
    return {
        "analyses": [a.to_dict() for a in analyses],
        "comparison": comparison.to_dict(),
        "summary": comparison.summary,
    }


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
