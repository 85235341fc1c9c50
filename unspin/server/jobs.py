"""Progress for long work: a feed, several URLs, or any batch, as a job that clients poll.

Jobs live in memory only (a restart forgets them), are capped in number and in articles,
and expire ``ttl`` seconds after they finish, so a long-running server does not grow.
Pasted texts and comparisons from the web pages are stored as (already finished) jobs too,
which gives every result page its own address (post/redirect/get).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Request

from ..document import Analysis
from ..errors import TooLargeError, UnspinError
from . import inputs
from .engine import Engine
from .errors import NotFoundError, TooManyJobsError, error_code
from .schemas import AnalysisOut, ErrorDetail, JobOut, JobResultOut

log = logging.getLogger("unspin.server")

JobStatus = Literal["queued", "running", "done", "failed"]
JobKind = Literal["batch", "single", "compare"]
MAX_JOB_ITEMS = 20  # inputs per job (texts, files, URLs)
MAX_JOB_ARTICLES = 50  # analyses per job (a feed can hold many articles)
MAX_JOB_CHARS = 10_000_000  # article text kept per job: bounds memory with the job count
MAX_STORE_CHARS = 100_000_000  # all jobs: older finished jobs are forgotten beyond this
LOAD_TIMEOUT_FACTOR = 5  # a feed fetches each linked page: allow it more than one request


@dataclass
class JobResult:
    """One finished article of a job, or one input that failed."""

    index: int
    source: str
    analysis: Analysis | None = None
    error_code: str | None = None
    error: str | None = None


@dataclass
class Job:
    id: str
    kind: JobKind
    sources: list[str]
    created: float
    total: int
    status: JobStatus = "queued"
    done: int = 0
    results: list[JobResult] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    finished: float | None = None
    task: asyncio.Task[None] | None = None

    chars: int = 0  # article text held by the results

    def add(self, source: str, analysis: Analysis) -> JobResult:
        result = JobResult(index=len(self.results), source=source, analysis=analysis)
        self.results.append(result)
        self.chars += len(analysis.article.text)
        self.done += 1
        return result

    def fail(self, source: str, err: UnspinError) -> JobResult:
        result = JobResult(
            index=len(self.results), source=source, error_code=error_code(err), error=str(err)
        )
        self.results.append(result)
        self.done += 1
        return result

    def finish(self, status: JobStatus, now: float) -> None:
        self.status = status
        self.finished = now

    @property
    def analyses(self) -> list[Analysis]:
        return [r.analysis for r in self.results if r.analysis is not None]


class JobStore:
    """Jobs by id; ids are random (they address pages that show the user's text)."""

    def __init__(
        self,
        *,
        max_jobs: int = 200,
        max_chars: int = MAX_STORE_CHARS,
        max_running: int = 16,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_jobs = max_jobs
        self.max_chars = max_chars
        self.max_running = max_running
        self.ttl = ttl
        self.clock = clock
        self._jobs: dict[str, Job] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def _expired(self, job: Job, now: float) -> bool:
        return job.finished is not None and now - job.finished > self.ttl

    def purge(self) -> None:
        now = self.clock()
        for key in [k for k, j in self._jobs.items() if self._expired(j, now)]:
            del self._jobs[key]

    def create(self, kind: JobKind, sources: list[str], total: int, *, run: bool = True) -> Job:
        """A new job; ``run=False`` for results already computed (stored, never refused)."""
        self.purge()
        running = [j for j in self._jobs.values() if j.finished is None]
        if run and len(running) >= self.max_running:
            raise TooManyJobsError(
                f"{len(running)} jobs are still running, the most this server takes at "
                "once; wait for one to finish and try again."
            )
        self._forget_oldest(reserve=1)
        job = Job(
            id=secrets.token_urlsafe(16),
            kind=kind,
            sources=sources,
            created=self.clock(),
            total=total,
        )
        self._jobs[job.id] = job
        return job

    def _forget_oldest(self, reserve: int = 0) -> None:
        """Forget finished jobs, oldest first, while over the count or text budget."""
        finished = sorted(
            (j for j in self._jobs.values() if j.finished is not None),
            key=lambda j: j.finished or 0.0,
        )
        chars = sum(j.chars for j in self._jobs.values())
        for old in finished:
            if len(self._jobs) + reserve <= self.max_jobs and chars <= self.max_chars:
                break
            chars -= old.chars
            del self._jobs[old.id]

    def get(self, job_id: str) -> Job:
        self.purge()
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                "No such job: it may have expired (results are kept for "
                f"{self.ttl / 60:.0f} minutes, in memory only) or the address is wrong."
            )
        return job

    def result(self, job_id: str, index: int) -> JobResult:
        job = self.get(job_id)
        if not 0 <= index < len(job.results):
            raise NotFoundError(f"This job has no result number {index + 1}.")
        return job.results[index]

    def store(self, kind: JobKind, sources: list[str], analyses: list[Analysis]) -> Job:
        """Keep finished analyses (from a page) under a new id, for their result page."""
        job = self.create(kind, sources, total=len(analyses), run=False)
        for source, analysis in zip(sources, analyses, strict=True):
            job.add(source, analysis)
        job.finish("done", self.clock())
        self._forget_oldest()
        return job

    def analyses(self) -> list[Analysis]:
        """Every analysis held, newest job first (feedback finds an article by its text)."""
        jobs = sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)
        return [a for job in jobs for a in job.analyses]

    def cancel_all(self) -> None:
        for job in self._jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()


async def _run_input(engine: Engine, job: Job, item: inputs.Input) -> None:
    source = inputs.describe(item)
    seconds = engine.settings.server_request_timeout * LOAD_TIMEOUT_FACTOR
    try:
        articles = await engine.within_seconds(engine.read_articles(item), seconds, f"Reading {source}")
    except UnspinError as err:
        job.fail(source, err)
        return
    # This input counts 1 in job.total already; a feed may add articles up to the cap.
    room = 1 + max(0, MAX_JOB_ARTICLES - job.total)
    if len(articles) > room:
        job.messages.append(
            f"{source} holds {len(articles)} articles; only the first {room} are analysed "
            f"(a job analyses at most {MAX_JOB_ARTICLES})."
        )
        articles = articles[:room]
    job.total += len(articles) - 1
    for article in articles:
        name = article.url or article.title or source
        if job.chars + len(article.text) > MAX_JOB_CHARS:
            job.fail(
                name,
                TooLargeError(
                    f"Not analysed: this job already holds {job.chars:,} characters of text, "
                    f"the most one job keeps ({MAX_JOB_CHARS:,}); start another job for it."
                ),
            )
            continue
        try:
            job.add(name, await engine.within(engine.analyze(article, shed=False)))  # it waits
        except UnspinError as err:
            job.fail(name, err)


async def run_job(engine: Engine, store: JobStore, job: Job, items: list[inputs.Input]) -> None:
    """Work through a job's inputs concurrently (the engine's pools bound the load);
    results are appended as they finish."""
    job.status = "running"
    try:
        await asyncio.gather(*(_run_input(engine, job, item) for item in items))
    except asyncio.CancelledError:
        job.messages.append("The server stopped before this job finished.")
        job.finish("failed", store.clock())
        raise
    except Exception:  # a bug: keep what is done, say the rest failed
        log.exception("unspin: job %s failed", job.id)
        job.messages.append("An internal error stopped this job; the results so far are kept.")
        job.finish("failed", store.clock())
        return
    job.finish("done", store.clock())


def start_job(engine: Engine, store: JobStore, job: Job, items: list[inputs.Input]) -> None:
    """Run ``job`` in the background (the job keeps a reference to its task)."""
    job.task = asyncio.get_running_loop().create_task(run_job(engine, store, job, items))


def jobs_of(request: Request) -> JobStore:
    store: JobStore = request.app.state.jobs
    return store


def report_url(job: Job, result: JobResult) -> str | None:
    return f"/reports/{job.id}/{result.index + 1}" if result.analysis is not None else None


def job_dict(job: Job, *, since: int = 0, analyses: bool = True) -> dict[str, Any]:
    """The job as ``GET /api/jobs/{id}`` answers it (and its progress page shows it)."""
    results = []
    for r in job.results[since:]:
        a = r.analysis
        results.append(
            JobResultOut(
                index=r.index,
                source=r.source,
                title=a.article.title if a else None,
                genre=a.genre if a else None,
                detections=len(a.spans) if a else None,
                notes=list(a.notes) if a else [],
                report_url=report_url(job, r),
                analysis=AnalysisOut(a.to_dict()) if analyses and a else None,
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
