"""The web pages: paste, upload or link an article; see its report; compare articles;
follow a feed's progress. Forms post, then redirect to a result page with its own address
(post/redirect/get), so reloading a report never re-submits an article.

A form with a problem (empty text, not English, a blocked URL...) is shown again with the
message next to it and what the user typed kept.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..analyze import NO_MODEL_NOTE
from ..compare import MAX_ARTICLES, compare
from ..document import Analysis, Article
from ..errors import UnspinError
from ..report.html import render_analysis, render_comparison
from ..report.levels import for_readers
from . import bodies, inputs
from .engine import Engine, engine_of
from .errors import NotFoundError
from .jobs import MAX_JOB_ARTICLES, JobStore, job_dict, jobs_of, start_job
from .render import page
from .templating import render, static_files

router = APIRouter(include_in_schema=False)

COMPARE_SLOTS_SHOWN = 3  # slots on the page before "Add another article"


def _html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **context), status_code=status)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _model_context(request: Request) -> dict[str, Any]:
    engine = engine_of(request)
    model = " ".join(x for x in (engine.model_id, engine.model_version) if x)
    return {
        "model": model or None,
        "model_note": NO_MODEL_NOTE if engine.model is None and engine.started else None,
        "model_error": str(engine.model_error) if engine.model_error else None,
    }


def _home(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("error", None)
    context.setdefault("error_for", None)
    context.setdefault("text", "")
    context.setdefault("url", "")
    return _html(
        "home.html.j2",
        status,
        page_title="Analyse an article",
        max_articles=MAX_JOB_ARTICLES,
        **_model_context(request),
        **context,
    )


def _slug(title: str | None) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title or "").strip("-")[:60].strip("-").lower()
    return f"{slug or 'unspin'}-report.html"


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    return _home(request)


async def _posted(request: Request, max_files: int = 1) -> tuple[Engine, JobStore, FormData]:
    """The app's engine and job store, and the form the browser posted."""
    engine = engine_of(request)
    form = await bodies.read_form(request, engine.settings, max_files=max_files)
    return engine, jobs_of(request), form


@router.post("/analyze")
async def analyze_form(request: Request) -> Response:
    engine, store, form = await _posted(request)
    settings = engine.settings
    text = form.get("text")
    url = form.get("url")
    kept = {
        "text": text if isinstance(text, str) else "",
        "url": url if isinstance(url, str) else "",
    }
    field = "text"
    try:
        try:
            item = await bodies.form_input(form, settings)
        finally:
            await form.close()
        if item is None:
            raise bodies.MissingInputError(
                "There is nothing to analyse yet: paste an article, choose a file, or give "
                "the address of a web page or feed."
            )
        field = {inputs.URLInput: "url", inputs.FileInput: "file"}.get(type(item), "text")
        source = inputs.describe(item)
        if isinstance(item, inputs.URLInput):  # fetching is slow: follow it on a job page
            inputs.check_url(item.url)
            job = store.create("batch", [source], total=1)
            start_job(engine, store, job, [item])
            return _see_other(f"/jobs/{job.id}")
        loaded = item

        async def work() -> tuple[list[Article], Analysis | None]:
            articles = await engine.read_articles(loaded)
            if len(articles) > 1:  # an uploaded feed: analyse it on a job page
                return articles, None
            return articles, await engine.analyze(articles[0])

        articles, analysis = await engine.within(work())
        if analysis is None:
            job = store.create("batch", [source], total=1)
            start_job(engine, store, job, [inputs.LoadedInput(tuple(articles), source)])
            return _see_other(f"/jobs/{job.id}")
    except UnspinError as err:
        return _home(request, err.http_status, error=str(err), error_for=field, **kept)
    job = store.store("single", [source], [analysis])
    return _see_other(f"/reports/{job.id}/1")


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(job_id: str, request: Request) -> HTMLResponse:
    job = jobs_of(request).get(job_id)
    state = job_dict(job, analyses=False)
    return _html(
        "job.html.j2",
        page_title="Progress",
        job=state,
        single=len(job.sources) == 1 and job.kind == "batch",
        sources=job.sources,
    )


@router.get("/reports/{job_id}/{number}", response_class=HTMLResponse)
async def report(job_id: str, number: int, request: Request, download: bool = False,
                 possible: bool = False) -> Response:
    store = jobs_of(request)
    job = store.get(job_id)
    result = store.result(job_id, number - 1)
    if result.analysis is None:
        raise NotFoundError(f"Result {number} of this job is an error, not a report.")
    links = [("/", "\u2190 Analyse another article"), ("/compare", "Compare articles")]
    if job.kind == "batch" and len(job.results) > 1:
        links.insert(0, (f"/jobs/{job.id}", "\u2190 All results of this job"))
    settings = engine_of(request).settings
    possible = possible or settings.show_possible
    links.append(("?possible=0", "Show likely detections only") if possible
                 else ("?possible=1", "Show possible detections"))
    links.append((f"?download=1&possible={int(possible)}", "Download this report"))
    document = render_analysis(  # feedback controls on the page with a store to keep it
        for_readers(result.analysis, possible=possible),
        min_score=settings.min_score,
        feedback=settings.feedback_db is not None and not download,
    )
    return page(
        document, links=links, download=_slug(result.analysis.article.title) if download else None
    )


# ---------------------------------------------------------------------------- compare


def _compare_form(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    slots = context.pop("slots", None) or [
        {"text": "", "url": ""} for _ in range(COMPARE_SLOTS_SHOWN)
    ]
    return _html(
        "compare.html.j2",
        status,
        page_title="Compare articles",
        slots=slots,
        max_slots=MAX_ARTICLES,
        error=context.pop("error", None),
        **_model_context(request),
        **context,
    )


@router.get("/compare", response_class=HTMLResponse)
async def compare_page(request: Request) -> HTMLResponse:
    return _compare_form(request)


@router.post("/compare")
async def compare_form(request: Request) -> Response:
    engine, store, form = await _posted(request, max_files=MAX_ARTICLES)
    settings = engine.settings
    slots = []
    for i in range(MAX_ARTICLES):
        text, url = form.get(f"text_{i}"), form.get(f"url_{i}")
        if f"text_{i}" in form or f"url_{i}" in form or f"file_{i}" in form:
            slots.append(
                {
                    "text": text if isinstance(text, str) else "",
                    "url": url if isinstance(url, str) else "",
                }
            )
    try:
        items: list[inputs.Input] = []
        try:
            for i in range(MAX_ARTICLES):
                found = await bodies.form_input(
                    form, settings, suffix=f"_{i}", label=f"Article {len(items) + 1}: "
                )
                if found is not None:
                    items.append(found)
        finally:
            await form.close()
        if len(items) < 2:
            raise bodies.MissingInputError(
                "Give at least two articles to compare (paste them, choose files or give URLs)."
            )

        async def work() -> list[Any]:
            analyses = await engine.analyze_all(items)
            await engine.run_blocking(compare, analyses)  # fails now rather than on the page
            return analyses

        analyses = await engine.within(work(), "The comparison")
    except UnspinError as err:
        return _compare_form(request, err.http_status, error=str(err), slots=slots)
    job = store.store("compare", [inputs.describe(i) for i in items], analyses)
    return _see_other(f"/comparisons/{job.id}")


@router.get("/comparisons/{job_id}", response_class=HTMLResponse)
async def comparison(job_id: str, request: Request, download: bool = False,
                     possible: bool = False) -> Response:
    engine = engine_of(request)
    job = jobs_of(request).get(job_id)
    if job.kind != "compare":
        raise NotFoundError("No such comparison: the address is wrong or it has expired.")
    min_score = engine.settings.min_score
    possible = possible or engine.settings.show_possible
    shown = [for_readers(a, possible=possible) for a in job.analyses]
    result = await engine.run_blocking(lambda: compare(shown, min_score=min_score))
    links = [("/compare", "\u2190 Compare other articles"), ("/", "Analyse one article")]
    links.append(("?possible=0", "Count likely detections only") if possible
                 else ("?possible=1", "Count possible detections too"))
    links.append((f"?download=1&possible={int(possible)}", "Download this comparison"))
    document = render_comparison(result)
    return page(document, links=links, download="unspin-comparison.html" if download else None)


# ---------------------------------------------------------------------------- static


@router.get("/static/{name}")
async def static(name: str, request: Request) -> Response:
    """A file from a fixed in-memory list: the name is a key, never a path."""
    found = static_files().get(name)
    if found is None:
        raise NotFoundError(f"There is no static file {name[:100]}.")
    headers = {"etag": f'"{found.etag}"', "cache-control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == f'"{found.etag}"':
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


@router.get("/favicon.ico")
async def favicon() -> Response:
    icon = static_files()["icon.svg"]
    return Response(
        icon.body, media_type=icon.media_type, headers={"cache-control": "public, max-age=86400"}
    )
