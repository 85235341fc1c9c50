"""The ``unspin`` command. Kept thin: reading inputs, analysing and rendering live in the
library (unspin.ingest, unspin.analyze, unspin.report); this file wires them to a shell.

Every :class:`~unspin.errors.UnspinError` becomes one line ``unspin: error: <message>``
on stderr and the error's exit code; a bad source among several is reported and skipped,
and the others are still written. Ctrl-C exits with 130.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, TaskID

from .analyze import analyze_with, installed_model
from .batch import ResultsFile, analyze_sources
from .calibrate import calibrate, check_output, from_feedback, read_semeval, write_model
from .cli_common import (
    EXIT_BUG,
    EXIT_INTERRUPTED,
    allow_private_option,
    bug_message,
    error,
    handle_errors,
    min_score_option,
    one_line,
    settings_of,
    setup_logging,
)
from .compare import MAX_ARTICLES, compare
from .config import load_settings
from .document import Article
from .errors import InputError, UnspinError
from .feedback import judgements
from .ingest import Item, iter_items
from .model.runtime import OnnxModel
from .predict import article_files, write_predictions
from .report.html import render_comparison
from .report.jsonio import comparison_document, dumps
from .report.levels import for_readers
from .report.terminal import print_comparison
from .report.writers import Writer, make_writer
from .version import __version__

FORMATS = ("text", "json", "jsonl", "html")
_SUFFIX_FORMATS = {
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".html": "html", ".htm": "html",
    ".txt": "text", ".text": "text",
}  # fmt: skip

# Commands with heavy or optional dependencies are imported only when run, so that
# `unspin analyze` starts fast and `unspin --help` works without the extras:
# name -> ("module:attr", the one-line help shown in `unspin --help`).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("unspin.train.cli:train_command",
              "Fine-tune, export and calibrate the model (needs the train extra)."),
    "serve": ("unspin.server.cli:serve", "Start the local web app and JSON API (server extra)."),
    "corpus": ("unspin.corpus.cli:corpus",
               "Analyse many articles into a database; compare outlets, topics and months."),
    "feedback": ("unspin.feedback.cli:feedback",
                 "Confirm, dispute or add detections (kept on this machine); list, export."),
}

# The extra that installs a missing module (pyproject.toml), so the hint names only that one.
EXTRA_OF_MODULE = {
    "fastapi": "server", "uvicorn": "server", "starlette": "server", "multipart": "server",
    "python_multipart": "server", "torch": "train", "transformers": "train", "onnx": "train",
    "safetensors": "train", "tqdm": "train", "sklearn": "train", "pyarrow": "corpus",
    "dask": "corpus-distributed", "distributed": "corpus-distributed",
}  # fmt: skip


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
                extra = EXTRA_OF_MODULE.get((exc.name or "").partition(".")[0])
                raise click.ClickException(
                    f"'unspin {cmd_name}' needs packages that are not installed ({exc.name}): "
                    + (f"pip install 'unspin[{extra}]'." if extra else "reinstall unspin.")
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
@click.option("--model", "model_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Use the model in this folder, e.g. one unspin calibrate wrote [UNSPIN_MODEL_DIR].")
@click.pass_context
def cli(ctx: click.Context, model_dir: str | None) -> None:
    """Show how a news article tries to persuade its reader: which persuasion techniques
    it uses and where, paragraph by paragraph, its genre and its frames."""
    # the one read of UNSPIN_* variables; commands refine it
    ctx.obj = load_settings().with_options(model_dir=model_dir)
    setup_logging(ctx, ctx.obj.debug)


class _Progress:
    """A progress bar on stderr over a run's inputs, when there are several and stderr is
    a terminal; shown from the first input on, when their number is known."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, item: Item) -> None:
        self.advance(item.source, item.total)

    def advance(self, label: str, total: int) -> None:
        if self._bar is None and total >= 2 and sys.stderr.isatty():
            self._bar = Progress(console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("Analysing", total=total)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, description=label[-40:])

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


class _Failures:
    """Each failed input or article as one error line; the run's exit code."""

    def __init__(self, debug: bool) -> None:
        self.debug = debug
        self.exit_code = 0

    def __call__(self, item: str, err: Exception) -> None:
        if not isinstance(err, UnspinError):
            if self.debug:
                raise err
            err = UnspinError(bug_message(err))
            err.exit_code = EXIT_BUG
        message = one_line(err)
        error(message if item in message else f"{item}: {message}")
        self.exit_code = self.exit_code or err.exit_code


def _format_for(output: str | None, fmt: str | None, formats: tuple[str, ...] = FORMATS) -> str:
    """The format to write: ``fmt``, else the one -o's extension names, else text. An
    extension that no format of this command writes (``.pdf``), or that names another
    format than ``fmt``, is refused rather than written with the wrong content."""
    if output is None or output == "-" or os.path.isdir(output) or output.endswith(("/", os.sep)):
        return fmt or "text"
    suffix = Path(output).suffix.lower()
    named = _SUFFIX_FORMATS.get(suffix)
    if suffix and named not in formats:
        kinds = ", ".join(s for s, f in _SUFFIX_FORMATS.items() if f in formats)
        raise InputError(
            f"unspin cannot write {suffix} files: name the output {kinds} (or - for stdout)."
        )
    if fmt is not None and named is not None and named != fmt:
        raise InputError(f"{output} names a {named} file, but --format {fmt} was asked: use one.")
    return fmt or named or "text"


# ---------------------------------------------------------------------------- commands


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
@min_score_option()
@click.option("--no-color", is_flag=True, help="No colours in text output (also: NO_COLOR=1).")
@click.option("--possible", is_flag=True, default=None,
              help="Reports also show possible detections, not only likely ones [UNSPIN_SHOW_POSSIBLE].")
@allow_private_option()
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
    possible: bool | None,
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
    ctx = click.get_current_context()
    settings = settings_of(ctx).with_options(allow_private_urls=allow_private or None, min_score=min_score,
                                             show_possible=possible or None)
    fmt = _format_for(output, fmt)
    if "-" in sources and sys.stdin.isatty():
        click.echo("unspin: reading an article from standard input; end it with Ctrl-D.", err=True)
    results = None  # JSON Lines to a file: a batch that resumes
    if fmt == "jsonl" and output is not None and output != "-" and not os.path.isdir(output):
        results = Path(output)
    sink: ResultsFile | Writer = (
        ResultsFile(results, resume=not restart)
        if results is not None
        else make_writer(fmt, output, settings.min_score, no_color, settings.show_possible)
    )
    failures = _Failures(settings.debug)
    try:
        with contextlib.closing(sink), _Progress() as progress:
            result = analyze_sources(
                sources, sink, settings=settings, progress=progress, on_error=failures
            )
    except KeyboardInterrupt:
        if isinstance(sink, ResultsFile):
            kept = sink.added
            click.echo(f"unspin: stopped; {results} keeps the {kept:,} analys{'i' if kept == 1 else 'e'}s "
                       "written by this run; run the same command to go on.", err=True)
        raise
    if fmt != "text":  # a text report shows its notes itself
        for note in result.notes:
            click.echo(f"unspin: note: {one_line(note)}", err=True)
    if results is not None:
        result.output = results
        click.echo(result.summary(), err=True)
    elif isinstance(sink, Writer) and (written := sink.written()):
        click.echo(f"unspin: wrote {written}", err=True)
    ctx.exit(failures.exit_code)


@cli.command("compare")
@click.argument("sources", nargs=-1, required=True, metavar="A B [C...]")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json", "html"]), default=None,
              help="Output format [default: from -o's extension, else text].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write to this file instead of stdout.")
@min_score_option()
@click.option("--no-color", is_flag=True, help="No colours in text output (also: NO_COLOR=1).")
@click.option("--possible", is_flag=True, default=None,
              help="Count possible detections too, not only likely ones [UNSPIN_SHOW_POSSIBLE].")
@allow_private_option()
@handle_errors
def compare_command(sources: tuple[str, ...], fmt: str | None, output: str | None,
                    min_score: float | None, no_color: bool, possible: bool | None,
                    allow_private: bool) -> None:
    """Compare how two or more articles persuade: profiles side by side, the techniques one
    uses and the others avoid, the strongest evidence, genre and frames, and a summary.

    \b
    Examples:
      unspin compare examples/op-ed.txt examples/report.txt
      unspin compare a.txt https://example.com/story.html -o comparison.html
    """
    settings = settings_of().with_options(allow_private_urls=allow_private or None, min_score=min_score,
                                          show_possible=possible or None)
    fmt = _format_for(output, fmt, ("text", "json", "html"))
    articles: list[Article] = []
    for item in iter_items(sources, settings):
        if item.error is not None:
            raise item.error
        articles.extend(item.articles)
    if not 2 <= len(articles) <= MAX_ARTICLES:
        raise InputError(
            f"compare needs 2 to {MAX_ARTICLES} articles; these sources hold {len(articles)}."
        )
    model = installed_model(settings)
    comparison = compare([for_readers(analyze_with(model, a, settings), possible=settings.show_possible)
                          for a in articles], min_score=settings.min_score)
    for note in sorted({n for a in comparison.analyses for n in a.notes}):
        click.echo(f"unspin: note: {one_line(note)}", err=True)
    if fmt == "html":
        text = render_comparison(comparison)
    elif fmt == "json":
        text = dumps(comparison_document(comparison)) + "\n"
    else:
        to_file = output not in (None, "-")
        console = Console(record=to_file, file=io.StringIO() if to_file else None,
                          no_color=no_color or to_file or None, width=100 if to_file else None,
                          highlight=False)
        print_comparison(comparison, console)
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
    total = len(article_files(directory))
    with _Progress() as bar:
        rows = write_predictions(
            directory, task, output, template=template, model=installed_model(settings_of()),
            progress=lambda done, n: bar.advance(f"article {done}/{n}", n),
        )  # fmt: skip
    click.echo(f"wrote {rows} rows for {total} articles to {output}", err=True)


@cli.command("version")
@handle_errors
def version_command() -> None:
    """Print unspin's version and the installed model's."""
    click.echo(f"unspin {__version__}")
    model = installed_model(settings_of())
    if model is None:
        click.echo("model: no model installed (analyses have no detections)")
    else:
        click.echo(f"model: {model.id} {model.version}")
        made = model.meta.provenance if isinstance(model, OnnxModel) else None
        if made:
            click.echo(f"calibrated from {made['base_model']} on {made['articles']} articles "
                       f"({made['source']}, {made['calibrated']})")


@cli.command("calibrate")
@click.argument("articles_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.argument("spans_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--feedback", "feedback_db", is_flag=False, flag_value="", default=None, metavar="[DB]",
              help="Learn from reader feedback instead (the store UNSPIN_FEEDBACK_DB names, or DB).")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The folder to write the calibrated model to (then: UNSPIN_MODEL_DIR=FOLDER).")
@handle_errors
def calibrate_command(articles_dir: Path | None, spans_dir: Path | None, feedback_db: str | None,
                      out_dir: Path) -> None:
    """Fit the model to your own labels: ARTICLES_DIR of article<ID>.txt files and SPANS_DIR of
    article<ID>-labels-subtask-3.txt files (id, technique, start, end), in the SemEval layout,
    or the judgements readers gave (--feedback). Thresholds and confidences are refitted and
    cross-validated on those articles; the encoder is not retrained. Takes about a second per
    article.

    \b
    Examples:
      unspin calibrate articles/ labels/ -o ~/models/newsroom
      unspin calibrate --feedback -o ~/models/newsroom
      UNSPIN_MODEL_DIR=~/models/newsroom unspin analyze story.txt
    """
    settings = settings_of()
    if (feedback_db is None) == (articles_dir is None or spans_dir is None):
        raise InputError("Give ARTICLES_DIR and SPANS_DIR, or --feedback (see unspin calibrate --help).")
    model = installed_model(settings)
    if not isinstance(model, OnnxModel):
        raise InputError("No model is installed to calibrate.")
    check_output(model, out_dir)
    if feedback_db is not None:
        db = feedback_db or settings.feedback_db
        if not db:
            raise InputError("No feedback store is set: give --feedback DB or UNSPIN_FEEDBACK_DB.")
        labelled, source = from_feedback(judgements(db)), f"reader feedback in {db}"
    else:
        assert articles_dir is not None and spans_dir is not None
        labelled = read_semeval(articles_dir, spans_dir, settings=settings,
                                problems=lambda m: click.echo(f"unspin: {m}", err=True))
        source = f"{articles_dir} + {spans_dir}"
    with _Progress() as progress:  # a bar on a terminal; elsewhere (a log file) nothing
        outcome = calibrate(model, labelled, progress=lambda _i, n: progress.advance("Calibrating", n))
    write_model(model, outcome, out_dir, source=source)
    for note in outcome.notes:
        click.echo(note, err=True)
    click.echo(
        f"Calibrated on {outcome.articles} articles ({outcome.paragraphs:,} paragraphs, "
        f"{outcome.judgements:,} paragraph-technique judgements): out-of-fold score "
        f"{outcome.base_f1:.3f} (base) -> {outcome.calibrated_f1:.3f} (paragraph micro-F1, averaged "
        f"with span F1 where spans are annotated); thresholds scaled by {outcome.scale:.2f}, then "
        f"moved {outcome.shrink:.0%} of the way to each technique's optimum on these labels.\n"
        f"Wrote {out_dir}. Use it with UNSPIN_MODEL_DIR={out_dir} (or unspin --model {out_dir} ...)."
    )


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
