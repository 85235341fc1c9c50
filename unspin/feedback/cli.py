"""``unspin feedback``: judge detections from the shell, list the judgements, export them.
Thin: the store is :mod:`unspin.feedback.store`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..cli_common import handle_errors, settings_of
from ..document import Article
from ..ingest import load_source
from ..report.jsonio import dumps
from .export import DISPUTED_FILE, export
from .store import (
    VERDICTS,
    FeedbackError,
    FeedbackStore,
    article_id,
    quote,
    technique_name,
    text_hash,
)

F = TypeVar("F", bound=Callable[..., Any])
_SHOWN_PLACES = 5


def _db_option(func: F) -> F:
    return click.option(
        "--db", type=click.Path(dir_okay=False), default=None,
        help="The feedback store [default: UNSPIN_FEEDBACK_DB, else "
             "$XDG_DATA_HOME/unspin/feedback.sqlite or ~/.local/share/unspin/feedback.sqlite].",
    )(func)  # fmt: skip


def _store(db: str | None) -> FeedbackStore:
    path = db or settings_of().feedback_db
    if path is None:  # load_settings() always names one; a bare Settings() does not
        raise FeedbackError("No feedback store is set: give --db PATH or UNSPIN_FEEDBACK_DB.")
    return FeedbackStore(path)


@click.group("feedback")
def feedback() -> None:
    """Confirm, dispute or add detections; list and export the judgements.

    Judgements are kept in one SQLite file on this machine (nothing is sent anywhere),
    keyed by the article's exact text and the span's character offsets, so they outlive
    re-analysis and model upgrades. The web app's report pages write to the same file.

    \b
    Examples:
      unspin feedback add op-ed.txt --technique Name_Calling-Labeling --text "NATO puppet"
      unspin feedback add op-ed.txt --technique Loaded_Language --start 120 --end 128 --verdict dispute
      unspin feedback list --format json
      unspin feedback export judged/
    """


def _find(text: str, wanted: str, start: int | None, source: str) -> tuple[int, int]:
    """The offsets of ``wanted`` in ``text`` (the occurrence at ``start`` if given)."""
    places = []
    at = text.find(wanted)
    while at != -1:
        places.append(at)
        at = text.find(wanted, at + 1)
    if start is not None:
        places = [p for p in places if p == start]
    if not places:
        where = f" at {start}" if start is not None else ""
        raise FeedbackError(
            f"{quote(wanted)} does not occur{where} in {source}: the text must match exactly, "
            "case, punctuation and spacing included."
        )
    if len(places) > 1:
        shown = ", ".join(map(str, places[:_SHOWN_PLACES])) + (", ..." if len(places) > 5 else "")
        raise FeedbackError(
            f"{quote(wanted)} occurs {len(places)} times in {source} (at {shown}): "
            "give --start too, to say which."
        )
    return places[0], places[0] + len(wanted)


def _span_in(
    source: str, start: int | None, end: int | None, span: str | None
) -> tuple[Article, int, int]:
    """The one article of ``source`` and the span's offsets, from --start/--end or --text."""
    articles = load_source(source, settings=settings_of())
    if len(articles) != 1:
        raise FeedbackError(f"{source} holds {len(articles)} articles: judge one at a time.")
    found = articles[0]
    if span is not None:
        begin, stop = _find(found.text, span, start, source)
        if end is not None and end != stop:
            raise FeedbackError(f"--text ends at {stop}, not at --end {end}.")
        return found, begin, stop
    if start is None or end is None:
        raise FeedbackError("Say which span: --start and --end, or --text with its exact words.")
    return found, start, end


def _span_options(func: F) -> F:
    for option in reversed([
        click.option("--technique", "-t", required=True,
                     help="The technique, e.g. Loaded_Language or 'Loaded language'."),
        click.option("--start", type=click.IntRange(min=0), default=None,
                     help="First character of the span (code points from 0)."),
        click.option("--end", type=click.IntRange(min=1), default=None,
                     help="Character after the span's last."),
        click.option("--text", "span", default=None,
                     help="The span's exact text, instead of --start/--end (found in the article)."),
    ]):  # fmt: skip
        func = option(func)
    return func


@feedback.command("add")
@click.argument("article", metavar="ARTICLE_FILE")
@_span_options
@click.option(
    "--verdict",
    type=click.Choice(VERDICTS),
    default="confirm",
    show_default=True,
    help="confirm or dispute a detection; add: a technique unspin missed.",
)
@click.option(
    "--score",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="The score unspin showed, if you want it kept.",
)
@click.option("--note", default=None, help="A note kept with the judgement.")
@_db_option
@handle_errors
def add_command(
    article: str,
    technique: str,
    start: int | None,
    end: int | None,
    span: str | None,
    verdict: str,
    score: float | None,
    note: str | None,
    db: str | None,
) -> None:
    """Confirm, dispute or add a span of the article in ARTICLE_FILE.

    ARTICLE_FILE is read as unspin analyze reads it (.txt, SemEval, .html, a URL, or -), so
    the offsets are those of its analysis.

    A new verdict on the same article, technique and offsets replaces the earlier one.
    """
    technique = technique_name(technique)  # a typo is reported before the article is read
    found, start, end = _span_in(article, start, end, span)
    store = _store(db)
    stored = store.add(
        found.text, technique, start, end, verdict, span=span, score=score, note=note,
        title=found.title, url=found.url,
    )  # fmt: skip
    j = stored.judgement
    replaced = f" (replaces the earlier {stored.replaced})" if stored.replaced else ""
    click.echo(
        f"{j.verdict}\t{j.technique}\t{j.start}-{j.end}\t{quote(j.span)}\t"
        f"article {article_id(j.text_hash)}{replaced}"
    )
    click.echo(f"unspin: stored in {store.path}", err=True)


@feedback.command("remove")
@click.argument("article", metavar="ARTICLE_FILE")
@_span_options
@_db_option
@handle_errors
def remove_command(
    article: str, technique: str, start: int | None, end: int | None, span: str | None,
    db: str | None,
) -> None:  # fmt: skip
    """Take back a judgement of a span of the article in ARTICLE_FILE."""
    technique = technique_name(technique)
    found, start, end = _span_in(article, start, end, span)
    store = _store(db)
    removed = store.remove(text_hash(found.text), technique, start, end)
    if removed is None:
        raise FeedbackError(
            f"There is no judgement of {technique} at {start}-{end} of {article} in {store.path}."
        )
    click.echo(
        f"removed\t{removed.verdict}\t{removed.technique}\t{removed.start}-{removed.end}\t"
        f"{quote(removed.span)}\tarticle {article_id(removed.text_hash)}"
    )


@feedback.command("list")
@click.option(
    "-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--article",
    "article_hash",
    default=None,
    metavar="HASH",
    help="Only the judgements of the article with this text hash (sha256).",
)
@_db_option
@handle_errors
def list_command(fmt: str, article_hash: str | None, db: str | None) -> None:
    """List the judgements, each article's in reading order."""
    store = _store(db)
    items = store.judgements(article_hash)
    if fmt == "json":
        click.echo(dumps({"judgements": [j.to_dict() for j in items]}))
        return
    if not items:
        where = "" if store.path.exists() else " (the file does not exist yet)"
        click.echo(f"unspin: no judgements in {store.path}{where}", err=True)
        return
    for j in items:
        note = f"\t{' '.join(j.note.split())}" if j.note else ""
        click.echo(
            f"article{article_id(j.text_hash)}\t{j.verdict}\t{j.technique}\t{j.start}-{j.end}\t"
            f"{quote(j.span)}{note}"
        )


@feedback.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@_db_option
@handle_errors
def export_command(directory: Path, db: str | None) -> None:
    """Write the judged articles to DIRECTORY in the SemEval layout.

    \b
    article<ID>.txt                    the text, exactly as judged
    article<ID>-labels-subtask-3.txt   confirmed and added spans: ID, technique, start, end
    disputed.tsv                       disputed spans of every article, the same columns
    """
    store = _store(db)
    if not store.path.exists():
        raise FeedbackError(f"There is no feedback store at {store.path}: nothing to export.")
    done = export(store.articles(), directory)
    click.echo(
        f"unspin: wrote {_n(done.articles, 'article')}, {_n(done.spans, 'confirmed or added span')} "
        f"and {_n(done.disputed, 'disputed span')} ({DISPUTED_FILE}) to {directory}",
        err=True,
    )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
