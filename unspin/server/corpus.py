"""The corpus page: questions across a corpus database (``unspin serve --corpus DB``), over
the same store, queries and dashboard as ``unspin corpus``.

The database is opened per request, read only in effect (queries and reports never write),
and the work runs in a thread so the server keeps answering. Article text reaches the page
only through autoescaping templates, or as the stored report, served like any other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, Response

from ..config import Settings
from ..corpus.correction import load_quality
from ..corpus.dashboard import build_dashboard
from ..corpus.query import BY, Breakdown, Filters, breakdown, measure_label
from ..corpus.store import Status, open_store
from ..errors import UnspinError
from ..report.html import render_analysis
from ..report.labels import technique_info
from ..taxonomy import TECHNIQUE_NAMES
from .engine import engine_of
from .errors import NotFoundError
from .render import page
from .schemas import error_responses
from .templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["corpus"])

RESAMPLES = 1000


class NoCorpusError(NotFoundError):
    """The server was started without a corpus database."""


def corpus_of(request: Request) -> Path:
    path: Path | None = getattr(request.app.state, "corpus", None)
    if path is None:
        raise NoCorpusError("No corpus is open: start the server with unspin serve --corpus DB.")
    return path


def _query(path: Path, by: str, technique: str | None, filters: Filters, settings: Settings) -> tuple[Status, Breakdown]:
    with open_store(path) as store:
        return store.status(None), breakdown(store, by, technique=technique, filters=filters, resamples=RESAMPLES,
                                             quality=load_quality(settings.model_dir))  # fmt: skip


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _filters(request: Request, outlet: Sequence[str] = (), topic: Sequence[str] = (),
             since: str | None = None, until: str | None = None) -> Filters:
    return Filters(outlets=tuple(o for o in outlet if o), topics=tuple(t for t in topic if t),
                   since=since or None, until=until or None,
                   min_score=engine_of(request).settings.min_score)  # fmt: skip


@router.get("/corpus", response_class=HTMLResponse)
async def corpus_page(
    request: Request,
    by: str = "outlet",
    technique: str = "",
    outlet: list[str] = Query(default=[]),  # noqa: B008 (FastAPI's way to declare it)
    topic: list[str] = Query(default=[]),  # noqa: B008
    since: str = "",
    until: str = "",
) -> HTMLResponse:
    path: Path | None = getattr(request.app.state, "corpus", None)
    context: dict[str, Any] = {
        "page_title": "Corpus", "nav": "corpus", "path": path, "by": by, "by_choices": BY,
        "technique": technique, "techniques": [(t, technique_info(t).label) for t in TECHNIQUE_NAMES],
        "since": since, "until": until, "outlet": ",".join(outlet), "error": None, "result": None,
        "status": None, "num": _num, "label": "",
    }  # fmt: skip
    status = 200
    if path is not None:
        try:
            context["status"], context["result"] = await asyncio.to_thread(
                _query, path, by, technique or None, _filters(request, outlet, topic, since, until),
                engine_of(request).settings,
            )
            context["label"] = measure_label(context["result"].technique)
        except UnspinError as err:
            context["error"], status = str(err), err.http_status
    return HTMLResponse(render("corpus.html.j2", **context), status_code=status)


@router.get("/corpus/dashboard", response_class=HTMLResponse)
async def corpus_dashboard(request: Request) -> Response:
    path, filters, settings = corpus_of(request), _filters(request), engine_of(request).settings

    def build() -> str:
        with open_store(path) as store:
            return build_dashboard(store, filters=filters, resamples=RESAMPLES, href=lambda i: f"/corpus/articles/{i}",
                                   quality=load_quality(settings.model_dir))

    return page(await asyncio.to_thread(build), links=[("/corpus", "Corpus"), ("/", "Analyse an article")])


@router.get("/corpus/articles/{article_id}", response_class=HTMLResponse)
async def corpus_article(article_id: int, request: Request) -> Response:
    path, min_score = corpus_of(request), engine_of(request).settings.min_score

    def report() -> str:
        with open_store(path) as store:
            return render_analysis(store.analysis(article_id), min_score=min_score)

    try:
        document = await asyncio.to_thread(report)
    except UnspinError as err:
        raise NotFoundError(f"No analysed article {article_id} in this corpus.") from err
    return page(document, links=[("/corpus/dashboard", "Corpus dashboard"), ("/corpus", "Corpus")])


@api_router.get("/corpus/query", responses=error_responses(400, 404, 422))
async def corpus_query(
    request: Request,
    by: str = "outlet",
    technique: str | None = None,
    outlet: list[str] = Query(default=[]),  # noqa: B008
    topic: list[str] = Query(default=[]),  # noqa: B008
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """Detections per 1,000 words by outlet, topic, month, week or genre, with 95% intervals,
    ratios to the rest with permutation tests (false discovery rate 5% across the table),
    rates corrected for the model's errors, and for months and weeks the trend (as
    ``unspin corpus query --format json``)."""
    path = corpus_of(request)
    _status, result = await asyncio.to_thread(_query, path, by, technique, _filters(request, outlet, topic, since, until),
                                              engine_of(request).settings)  # fmt: skip
    return {**result.summary(), "rows": result.rows()}
