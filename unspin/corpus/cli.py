"""``unspin corpus``: the command group. Thin: the work lives in unspin.corpus."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ..cli_common import (
    EXIT_INTERRUPTED,
    allow_private_option,
    error,
    handle_errors,
    min_score_option,
    settings_of,
)
from ..errors import UnspinError
from .correction import load_quality
from .dashboard import write_dashboard
from .distributed import analyse_shards, result_name
from .query import Breakdown, Filters, breakdown
from .records import model_label
from .runner import Interrupted, add
from .sources import Columns, Metadata, count_inputs, load_outlet_map
from .store import open_store
from .tables import export, import_results
from .topics import assign_topics, load_rules

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
@allow_private_option()
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

    settings = settings_of().with_options(allow_private_urls=allow_private or None)
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
    except Interrupted as stop:
        kept = stop.result.analysed
        click.echo(f"unspin: stopped; {db} keeps the {kept:,} article{'' if kept == 1 else 's'} "
                   "analysed by this run; run the same command to go on.", err=True)
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

    try:
        model: str | None = model_label(settings_of().model_dir)
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


def _filters(outlet: tuple[str, ...], topic: tuple[str, ...], since: str | None,
             until: str | None, min_score: float | None) -> Filters:
    min_score = settings_of().min_score if min_score is None else min_score
    return Filters(outlets=tuple(outlet), topics=tuple(topic), since=since, until=until, min_score=min_score)


def _filter_options(func: Callable[..., object]) -> Callable[..., object]:
    func = click.option("--until", default=None, metavar="DATE",
                        help="Only articles published until DATE (YYYY, YYYY-MM or YYYY-MM-DD).")(func)
    func = click.option("--since", default=None, metavar="DATE",
                        help="Only articles published from DATE (YYYY, YYYY-MM or YYYY-MM-DD).")(func)
    func = click.option("--topic", multiple=True, help="Only articles of this topic (repeatable).")(func)
    func = click.option("--outlet", multiple=True, help="Only articles of this outlet (repeatable).")(func)
    return min_score_option()(func)


@corpus.command("topics")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML file of [topics.NAME] tables with keywords = [...] (see docs/corpus.md).")
@click.option("--clusters", type=click.IntRange(0, 200), default=8, show_default=True,
              help="Discovered topics: clusters of article embeddings (0: keep the stored ones).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the clustering.")
@handle_errors
def topics_command(db: Path, rules: Path | None, clusters: int, seed: int) -> None:
    """Assign topics: your keyword rules (--rules) and discovered clusters, each named by
    its most distinctive words. Run again after adding articles."""

    parsed = load_rules(rules) if rules else None
    with open_store(db) as store:
        result = assign_topics(store, rules=parsed, clusters=clusters, seed=seed)
    click.echo(result.summary())


@corpus.command("query")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--by", type=click.Choice(BY_CHOICES), default="outlet", show_default=True,
              help="What to compare.")
@click.option("--technique", default=None, help="One technique (any spelling, e.g. loaded_language) [default: all].")
@_filter_options
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]),
              default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (needed for parquet).")
@click.option("--resamples", type=click.IntRange(100, 100_000), default=1000, show_default=True,
              help="Bootstrap resamples for the intervals.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@handle_errors
def query_command(db: Path, by: str, technique: str | None, outlet: tuple[str, ...],
                  topic: tuple[str, ...], since: str | None, until: str | None, min_score: float | None,
                  fmt: str, output: Path | None, resamples: int, seed: int) -> None:
    """Detections per 1,000 words by outlet, topic, month, week or genre, each with a 95%
    interval, its ratio to the rest of the corpus and the rate corrected for the model's
    errors. "different": a permutation test, with the false discovery rate held at 5%
    across the table (months and weeks: the trend, as a change per year)."""

    if fmt == "parquet" and output is None:
        raise UnspinError("--format parquet needs -o FILE.")
    with open_store(db) as store:
        result = breakdown(store, by, technique=technique, filters=_filters(outlet, topic, since, until, min_score),
                           resamples=resamples, seed=seed, quality=load_quality(settings_of().model_dir))
    if fmt == "parquet":
        assert output is not None
        result.write_parquet(str(output))
        click.echo(f"unspin: wrote {output}", err=True)
        return
    if fmt == "table":
        text = _table(result)
    else:
        text = result.to_csv() if fmt == "csv" else result.to_json()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"unspin: wrote {output}", err=True)


def _table(result: Breakdown) -> str:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    def f(v: float | None, sign: bool = False) -> str:
        return "–" if v is None else (f"{v:+.2f}" if sign else f"{v:.2f}")

    summary = result.summary()
    periods = result.trend is not None
    table = Table(title=f"{result.measure}: detections per 1,000 words by {result.by} "
                        f"(95% intervals, {result.resamples} bootstrap resamples)")
    heads = ["", "articles", "per 1k words", "95% interval", "corrected*", "95% interval"]
    heads += [] if periods else ["× rest", "95% interval", "q", ""]
    for name in heads:
        table.add_column(name, justify="left" if name == "" else "right")
    rows = result.rows()
    for r in rows:
        cells = [str(r["group"]), str(r["articles"]), f(r["per_1k_words"]), f"{f(r['ci_low'])} to {f(r['ci_high'])}",
                 f(r["corrected_per_1k_words"]), f"{f(r['corrected_low'])} to {f(r['corrected_high'])}"]
        if not periods:
            q = r["q_value"]
            cells += [f(r["ratio"]), f"{f(r['ratio_low'])} to {f(r['ratio_high'])}",
                      "–" if q is None else f"{q:.3f}",
                      ("higher" if (r["ratio"] or 0) > 1 else "lower") if r["different"] else ""]
        table.add_row(*cells)
    buf = StringIO()
    Console(file=buf, width=max(100, 20 + max((len(str(r["group"])) for r in rows), default=0) + 110),
            no_color=True, highlight=False).print(table)
    notes = [r["finding"] for r in rows if r["different"]] if not periods else [result.trend_text() or ""]
    small = [f"{r['group']} ({r['articles']})" for r in rows if r["articles"] < summary["min_articles"]]
    if small and not periods:
        notes.append(f"Too few articles to compare (at least {summary['min_articles']}): {', '.join(small)}.")
    buf.write("".join(f"{n}\n" for n in notes if n))
    buf.write(f"Method: {summary['method']}.\n* Corrected: {summary['corrected']}.\n")
    return buf.getvalue()


@corpus.command("export")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet",
              show_default=True)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the tables (created if missing).")
@handle_errors
def export_command(db: Path, fmt: str, output: Path) -> None:
    """Write tidy tables: articles, spans, paragraphs, paragraph_labels and frames (one row
    per article, span, paragraph, label, frame score), ready for pandas, R, DuckDB."""

    with open_store(db) as store:
        counts = export(store, output, fmt, quality=load_quality(settings_of().model_dir))
    for name, n in counts.items():
        click.echo(f"unspin: wrote {output / f'{name}.{fmt}'} ({n} rows)", err=True)


@corpus.command("import")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@handle_errors
def import_command(db: Path, results: tuple[str, ...]) -> None:
    """Load results files (Parquet, written by unspin corpus shards) into DB; files already
    loaded are skipped article by article."""

    with open_store(db, create=True) as store:
        imported, skipped, failed = import_results(store, results)
    click.echo(f"imported {imported}, skipped {skipped} already there, {failed} failed", err=True)


@corpus.command("shards")
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the results (one Parquet file per shard).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="A Dask scheduler (tcp://host:8786) [default: a local cluster].")
@click.option("-j", "--workers", type=click.IntRange(1, 256), default=2, show_default=True,
              help="Worker processes of the local cluster.")
@_table_options
@handle_errors
def shards_command(shards: tuple[str, ...], output: Path, scheduler: str | None, workers: int,
                   text_column: str, url_column: str, title_column: str, outlet_column: str,
                   date_column: str, id_column: str) -> None:
    """Analyse shards (JSONL or Parquet files of articles) on a Dask cluster into Parquet
    results, then load them with unspin corpus import. Needs the corpus-distributed extra."""

    meta = Metadata(columns=Columns(text=text_column, url=url_column, title=title_column,
                                    outlet=outlet_column, date=date_column, id=id_column))
    try:
        result = analyse_shards(list(shards), output, scheduler=scheduler, workers=workers,
                                settings=settings_of(), meta=meta)
    except KeyboardInterrupt:
        distinct = set(shards)
        kept = sum((output / result_name(shard)).exists() for shard in distinct)
        click.echo(f"unspin: stopped; {output} keeps the results of {kept} of {len(distinct)} "
                   "shards (a shard is done whole or not at all); run the same command to go on.",
                   err=True)  # fmt: skip
        click.get_current_context().exit(EXIT_INTERRUPTED)
    click.echo(result.summary(), err=True)


@corpus.command("report")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The dashboard file (.html).")
@_filter_options
@click.option("--top", type=click.IntRange(0, 500), default=20, show_default=True,
              help="Most persuasive articles listed (each with its report beside the dashboard).")
@click.option("--resamples", type=click.IntRange(100, 100_000), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@handle_errors
def report_command(db: Path, output: Path, outlet: tuple[str, ...], topic: tuple[str, ...],
                   since: str | None, until: str | None, min_score: float | None, top: int, resamples: int,
                   seed: int) -> None:
    """Write a self-contained HTML dashboard: techniques by outlet, topic and over time,
    genre and frame mix, outlet comparisons and the most persuasive articles, every number
    with its bootstrap interval, and filters."""

    with open_store(db) as store:
        write_dashboard(store, output, filters=_filters(outlet, topic, since, until, min_score),
                        resamples=resamples, seed=seed, top=top, quality=load_quality(settings_of().model_dir))
    click.echo(f"unspin: wrote {output}", err=True)
