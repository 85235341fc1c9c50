"""``unspin corpus``: the command group. Thin: the work lives in unspin.corpus."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ..cli import EXIT_INTERRUPTED, error, handle_errors
from ..config import load_settings
from ..errors import UnspinError

BY_CHOICES = ("outlet", "topic", "month", "week", "genre")


@click.group("corpus")
def corpus() -> None:
    """Analyse a corpus into a database and ask it questions: which outlets and topics use
    which techniques, and how that changes over time, with confidence intervals.

    \b
    Typical use:
      unspin corpus add news.db articles/ feeds.urls --outlet-map outlets.toml
      unspin corpus topics news.db --rules topics.toml
      unspin corpus query news.db --by outlet --technique Loaded_Language
      unspin corpus report news.db -o dashboard.html
    """


@contextmanager
def _progress_bar(total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """A bar with rate and ETA on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total, rate="")

        def advance(n: int) -> None:
            speed = bar.tasks[0].speed
            rate = f"{speed * 3600:,.0f} articles/h" if speed else ""
            bar.update(task, advance=n, rate=rate)

        yield advance


def _table_options(func: Callable[..., object]) -> Callable[..., object]:
    for name, default in reversed(
        [("text", "text"), ("url", "url"), ("title", "title"), ("outlet", "outlet"),
         ("date", "date"), ("id", "id")]
    ):  # fmt: skip
        func = click.option(
            f"--{name}-column", f"{name}_column", default=default, show_default=True,
            help=f"Tables (JSONL/CSV/Parquet): the column holding the article's {name}.",
        )(func)  # fmt: skip
    return func


@corpus.command("add")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("sources", nargs=-1, metavar="[SOURCE...]")
@click.option("-j", "--workers", type=click.IntRange(1, 256), default=None,
              help="Worker processes [default: one per core].")
@_table_options
@click.option("--outlet", default=None, help="Outlet of articles that name none and have no URL.")
@click.option("--outlet-map", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='TOML file with an [outlets] table: "domain or name" = "Outlet".')
@click.option("--allow-private", is_flag=True,
              help="Allow URLs on private, local or reserved networks (off by default: SSRF guard).")
@handle_errors
def add_command(db: Path, sources: tuple[str, ...], workers: int | None, text_column: str,
                url_column: str, title_column: str, outlet_column: str, date_column: str,
                id_column: str, outlet: str | None, outlet_map: Path | None,
                allow_private: bool) -> None:
    """Analyse articles into the corpus database DB (created if missing).

    SOURCES: files, folders, globs, URLs and feeds (as for unspin analyze), tables of
    articles (.jsonl, .csv, .tsv, .parquet; one row per article) and URL lists (.urls, or a
    .txt of URLs only). Stop it at any time and run the same command again: it goes on
    where it stopped, and nothing is analysed twice. With a newer model, only articles it
    has not analysed are analysed again; with no SOURCES, those stored articles are.
    """
    from .runner import add
    from .sources import Columns, Metadata, count_inputs, load_outlet_map

    settings = load_settings(allow_private_urls=True if allow_private else None)
    meta = Metadata(
        columns=Columns(text=text_column, url=url_column, title=title_column,
                        outlet=outlet_column, date=date_column, id=id_column),
        outlet=outlet,
        outlet_map=load_outlet_map(outlet_map) if outlet_map else {},
    )  # fmt: skip
    total = count_inputs(sources, settings) if sources else None
    try:
        with _progress_bar(total, "Analysing") as advance:
            result = add(db, sources, settings=settings, meta=meta, workers=workers,
                         progress=advance)
    except KeyboardInterrupt:
        click.echo(f"unspin: {db} keeps every article finished; run the same command to go on.",
                   err=True)
        click.get_current_context().exit(EXIT_INTERRUPTED)
    for source, message in result.errors[:20]:
        error(message if source in message else f"{source}: {message}")
    if len(result.errors) > 20:
        error(f"... and {len(result.errors) - 20} more (see unspin corpus status {db}).")
    click.echo(result.summary(), err=True)
    click.get_current_context().exit(2 if result.failed and not result.analysed and not result.skipped else 0)


@corpus.command("status")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def status_command(db: Path, as_json: bool) -> None:
    """What DB holds: articles done by the current model, stale (another model, or not yet
    analysed), failed inputs, outlets, dates and topics."""
    from .records import model_label
    from .store import open_store

    try:
        model: str | None = model_label(load_settings().model_dir)
    except UnspinError:  # no model: everything counts as stale
        model = None
    with open_store(db) as store:
        status = store.status(model)
    if as_json:
        click.echo(json.dumps(status.to_dict(), indent=2, ensure_ascii=False))
        return
    lines = [
        f"{status.path}: {status.articles} articles, {status.outlets} outlets",
        f"  done:   {status.done} analysed by {status.model or 'the current model'}",
        f"  stale:  {status.stale} (another model, or not analysed: run unspin corpus add {db})",
        f"  failed: {status.failed}",
        f"  dates:  {status.first_date or '-'} to {status.last_date or '-'} ({status.undated} undated)",
        f"  topics: {status.topics}",
    ]
    for model_name, count in status.by_model.items():
        if model_name != status.model:
            lines.append(f"  analysed by {model_name}: {count}")
    for item, message in status.errors:
        lines.append(f"  error: {message if item in message else f'{item}: {message}'}")
    click.echo("\n".join(lines))
