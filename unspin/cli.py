"""The ``unspin`` command. Kept thin: reading inputs, analysing and rendering live in the
library (unspin.ingest, unspin.analyze, unspin.report); this file wires them to a shell.

Every :class:`~unspin.errors.UnspinError` becomes one line ``unspin: error: <message>``
on stderr and the error's exit code; a bad source among several is reported and skipped,
and the others are still written. Ctrl-C exits with 130.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from .config import Settings, load_settings
from .errors import InputError, UnspinError
from .version import __version__

FORMATS = ("text", "json", "jsonl", "html")
_SUFFIX_FORMATS = {".json": "json", ".jsonl": "jsonl", ".html": "html", ".htm": "html"}
EXIT_INTERRUPTED = 130
EXIT_BUG = 1

# Commands with heavy or optional dependencies are imported only when run, so that
# `unspin analyze` starts fast and `unspin --help` works without the extras:
# name -> ("module:attr", the one-line help shown in `unspin --help`).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("unspin.train.cli:train_command",
              "Fine-tune, export and calibrate the model (needs the train extra)."),
    "serve": ("unspin.server.cli:serve", "Start the local web app and JSON API (server extra)."),
    "corpus": ("unspin.corpus.cli:corpus",
               "Analyse many articles into a database; compare outlets, topics and months."),
}

F = TypeVar("F", bound=Callable[..., Any])


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def error(message: object) -> None:
    click.echo(f"unspin: error: {_one_line(message)}", err=True)


def _debug() -> bool:
    return os.environ.get("UNSPIN_DEBUG", "").lower() in {"1", "true", "yes", "on"}


def _bug_message(exc: BaseException) -> str:
    return (
        f"unexpected {type(exc).__name__}: {exc}. This is a bug in unspin; please report it "
        "(set UNSPIN_DEBUG=1 to see the traceback)."
    )


def handle_errors(func: F) -> F:
    """Turn UnspinError, Ctrl-C and unexpected exceptions into one line and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except UnspinError as err:
            error(err)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("unspin: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # handled in main(): the reader of our output went away
            raise
        except Exception as exc:
            if _debug():
                raise
            error(_bug_message(exc))
            ctx.exit(EXIT_BUG)

    return cast(F, wrapper)


class _WarningHandler(logging.Handler):
    """unspin's library warnings (a skipped feed entry, ...) as ``unspin: warning:`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"unspin: warning: {_one_line(record.getMessage())}", err=True)


def _setup_logging() -> None:
    logger = logging.getLogger("unspin")
    if not any(isinstance(h, _WarningHandler) for h in logger.handlers):
        logger.addHandler(_WarningHandler(logging.WARNING))
    logger.setLevel(logging.DEBUG if _debug() else logging.WARNING)
    logger.propagate = False


class LazyGroup(click.Group):
    """A group whose :data:`LAZY_COMMANDS` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module_name, _, attr = LAZY_COMMANDS[cmd_name][0].partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise click.ClickException(
                    f"'unspin {cmd_name}' needs packages that are not installed ({exc.name}); "
                    "install unspin with its extras, e.g. pip install 'unspin[server,train]'."
                ) from None
            command = getattr(module, attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, but lazy commands are listed from the table, without importing."""
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, LAZY_COMMANDS[name][1]))
            elif (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="unspin")
def cli() -> None:
    """Show how a news article tries to persuade its reader: which persuasion techniques
    it uses and where, paragraph by paragraph, its genre and its frames."""
    _setup_logging()


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr for several inputs, only when stderr is a terminal."""
    if total < 2 or not sys.stderr.isatty():
        yield lambda _label: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("Analysing", total=total)

        def advance(label: str) -> None:
            progress.update(task, advance=1, description=label[-40:])

        yield advance


# ---------------------------------------------------------------------------- commands


def _with_source(item: str, err: BaseException) -> str:
    message = _one_line(err)
    return message if item in message else f"{item}: {message}"


@cli.command("analyze")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
    help="Output format [default: from -o's extension, else text].",
)  # fmt: skip
@click.option(
    "-o", "--output", type=click.Path(allow_dash=True), default=None,
    help="Write to this file instead of stdout (for html: a directory gives one file per article).",
)  # fmt: skip
@click.option(
    "--min-score", type=click.FloatRange(0.0, 1.0), default=None,
    help="Hide detections scored below this (0-1) [default: UNSPIN_MIN_SCORE or 0].",
)  # fmt: skip
@click.option("--no-color", is_flag=True, help="No colours in text output (also: NO_COLOR=1).")
@click.option(
    "--allow-private", is_flag=True,
    help="Allow URLs on private, local or reserved networks (off by default: SSRF guard).",
)  # fmt: skip
@click.option(
    "--restart", is_flag=True,
    help="jsonl to a file: empty it and start over, instead of skipping what it already holds.",
)  # fmt: skip
@handle_errors
def analyze_command(
    sources: tuple[str, ...],
    fmt: str | None,
    output: str | None,
    min_score: float | None,
    no_color: bool,
    allow_private: bool,
    restart: bool,
) -> None:
    """Analyse articles: files (.txt, SemEval layout, .html, RSS/Atom), directories, glob
    patterns, http(s) URLs, or - for standard input.

    JSON Lines written to a file (-o FILE) resume: an interrupted run, started again, skips
    the articles already in FILE (--restart starts over).

    \b
    Examples:
      unspin analyze examples/op-ed.txt
      unspin analyze https://example.com/news/story.html -o story.html
      unspin analyze articles/ --format jsonl -o results.jsonl
      pbpaste | unspin analyze -
    """
    from .analyze import analyze
    from .ingest import expand, load_one
    from .model import load_default
    from .report.writers import make_writer

    ctx = click.get_current_context()
    settings: Settings = load_settings(allow_private_urls=True if allow_private else None)
    threshold = settings.min_score if min_score is None else min_score
    if fmt is None:
        fmt = _SUFFIX_FORMATS.get(Path(output).suffix.lower(), "text") if output else "text"
    exit_code = 0

    def failed(item: str, err: UnspinError) -> None:
        nonlocal exit_code
        error(_with_source(item, err))
        exit_code = exit_code or err.exit_code

    items: list[str] = []
    for source in sources:
        try:
            items.extend(expand(source))
        except UnspinError as err:
            failed(source, err)
    if "-" in items and sys.stdin.isatty():
        click.echo("unspin: reading an article from standard input; end it with Ctrl-D.", err=True)

    if fmt == "jsonl" and output not in (None, "-") and not os.path.isdir(output):
        from .batch import analyze_to_jsonl

        def batch_failed(item: str, err: Exception) -> None:
            nonlocal exit_code
            if isinstance(err, UnspinError):
                return failed(item, err)
            if _debug():
                raise err
            error(_with_source(item, Exception(_bug_message(err))))
            exit_code = exit_code or EXIT_BUG

        try:
            with _progress(len(items)) as advance:
                result = analyze_to_jsonl(
                    items, output, resume=not restart, settings=settings, progress=advance,
                    on_error=batch_failed,
                )  # fmt: skip
        except KeyboardInterrupt:
            click.echo(f"unspin: {output} holds the analyses so far; run again to resume.", err=True)
            raise
        for note in result.notes:
            click.echo(f"unspin: note: {_one_line(note)}", err=True)
        click.echo(result.summary(), err=True)
        ctx.exit(exit_code)

    model = load_default() if items else None
    writer = make_writer(fmt, output, threshold, no_color)
    notes_shown: set[str] = set()
    try:
        with _progress(len(items)) as advance:
            for item in items:
                try:
                    articles = load_one(item, settings=settings)
                except UnspinError as err:
                    failed(item, err)
                    articles = []
                for article in articles:
                    try:
                        analysis = analyze(article, model=model)
                    except UnspinError as err:
                        failed(item, err)
                        continue
                    except Exception as exc:
                        if _debug():
                            raise
                        error(_with_source(item, Exception(_bug_message(exc))))
                        exit_code = exit_code or EXIT_BUG
                        continue
                    writer.add(analysis)
                    if fmt != "text":
                        for note in analysis.notes:
                            if note not in notes_shown:
                                notes_shown.add(note)
                                click.echo(f"unspin: note: {_one_line(note)}", err=True)
                advance(item)
    finally:
        writer.close()
    ctx.exit(exit_code)


@cli.command("compare")
@click.argument("sources", nargs=-1, required=True, metavar="A B [C...]")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json", "html"]), default=None,
              help="Output format [default: from -o's extension, else text].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write to this file instead of stdout.")
@click.option("--min-score", type=click.FloatRange(0.0, 1.0), default=None,
              help="Count only detections scored at least this (0-1).")
@click.option("--no-color", is_flag=True, help="No colours in text output (also: NO_COLOR=1).")
@click.option("--allow-private", is_flag=True,
              help="Allow URLs on private, local or reserved networks (off by default: SSRF guard).")
@handle_errors
def compare_command(sources: tuple[str, ...], fmt: str | None, output: str | None,
                    min_score: float | None, no_color: bool, allow_private: bool) -> None:
    """Compare how two or more articles persuade: profiles side by side, the techniques one
    uses and the others avoid, the strongest evidence, genre and frames, and a summary.

    \b
    Examples:
      unspin compare examples/op-ed.txt examples/report.txt
      unspin compare a.txt https://example.com/story.html -o comparison.html
    """
    from .analyze import analyze
    from .compare import compare
    from .ingest import iter_load
    from .model import load_default

    settings = load_settings(allow_private_urls=True if allow_private else None)
    threshold = settings.min_score if min_score is None else min_score
    if fmt is None:
        fmt = _SUFFIX_FORMATS.get(Path(output).suffix.lower(), "text") if output else "text"
    articles = [a for source in sources for a in iter_load(source, settings=settings)]
    if not 2 <= len(articles) <= 10:
        raise InputError(f"compare needs 2 to 10 articles; these sources hold {len(articles)}.")
    model = load_default()
    comparison = compare([analyze(a, model=model) for a in articles], min_score=threshold)
    for note in sorted({n for a in comparison.analyses for n in a.notes}):
        click.echo(f"unspin: note: {_one_line(note)}", err=True)
    if fmt == "html":
        from .report.html import render_comparison

        text = render_comparison(comparison, min_score=threshold)
    elif fmt == "json":
        data = {"comparison": comparison.to_dict(), "summary": comparison.summary,
                "analyses": [a.to_dict() for a in comparison.analyses]}
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        from rich.console import Console

        from .report.terminal import print_comparison

        to_file = output not in (None, "-")
        console = Console(record=to_file, file=io.StringIO() if to_file else None,
                          no_color=no_color or to_file or None, width=100 if to_file else None,
                          highlight=False)
        print_comparison(comparison, console, min_score=threshold)
        if not to_file:
            return
        text = console.export_text()
    if output in (None, "-"):
        click.echo(text, nl=False)
    else:
        tmp = Path(output).with_name(Path(output).name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)  # a reader never sees a half-written report
        click.echo(f"unspin: wrote {output}", err=True)


@cli.command("predict")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--task", type=click.Choice(["st1", "st2", "st3", "spans"]), required=True,
              help="st1: genre; st2: frames; st3: paragraph techniques; spans: technique spans.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="st3 only: write exactly this template's rows, in its order.")
@handle_errors
def predict_command(directory: Path, task: str, output: Path, template: Path | None) -> None:
    """Predictions for a directory of SemEval articles (article<ID>.txt), in the official formats.

    Offsets in `spans` are characters of each file exactly as on disk. An interrupted run
    resumes where it stopped when started again.
    """
    from .predict import article_files, write_predictions

    total = len(article_files(directory))
    with _progress(total) as tick:
        rows = write_predictions(directory, task, output, template=template,
                                 progress=lambda done, _n: tick(f"article {done}/{total}"))
    click.echo(f"wrote {rows} rows for {total} articles to {output}", err=True)


@cli.command("version")
@handle_errors
def version_command() -> None:
    """Print unspin's version and the installed model's."""
    from .model import load_default

    click.echo(f"unspin {__version__}")
    model = load_default()
    if model is None:
        click.echo("model: no model installed (analyses have no detections)")
    else:
        click.echo(f"model: {model.id} {model.version}")


# More commands (predict, compare, serve, train) are added here or in LAZY_COMMANDS above.


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        code = cli.main(args=argv, prog_name="unspin", standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C outside a command, or at a prompt
        click.echo("unspin: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UnspinError as err:
        error(err)
        sys.exit(err.exit_code)
    except BrokenPipeError:  # `unspin analyze ... | head`: the reader went away
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_BUG)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
