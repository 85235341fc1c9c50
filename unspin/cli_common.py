"""What every command shares: one-line errors and exit codes, the warnings of the library
as ``unspin: warning:`` lines, and the settings the ``unspin`` group reads once.

Every :class:`~unspin.errors.UnspinError` becomes one line ``unspin: error: <message>``
on stderr and the error's exit code; Ctrl-C exits with 130; any other exception is a bug,
reported in one line (with ``UNSPIN_DEBUG=1``, as its traceback).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from .config import Settings, load_settings
from .errors import UnspinError

EXIT_INTERRUPTED = 130
EXIT_BUG = 1

F = TypeVar("F", bound=Callable[..., Any])


def one_line(message: object) -> str:
    return " ".join(str(message).split())


def error(message: object) -> None:
    click.echo(f"unspin: error: {one_line(message)}", err=True)


def settings_of(ctx: click.Context | None = None) -> Settings:
    """The settings the ``unspin`` group read from the environment, once, for every command
    (a command run on its own, as in some tests, reads them itself)."""
    ctx = ctx or click.get_current_context(silent=True)
    found = ctx.find_object(Settings) if ctx is not None else None
    return found if found is not None else load_settings()


def allow_private_option(
    help: str = "Allow URLs on private, local or reserved networks (off by default: SSRF guard).",
) -> Callable[[F], F]:
    """``--allow-private``: lets the one fetcher reach private networks (the SSRF guard off)."""
    return click.option("--allow-private", is_flag=True, help=help)


def min_score_option() -> Callable[[F], F]:
    """``--min-score``: ``Settings.min_score`` for one command."""
    return click.option(
        "--min-score", type=click.FloatRange(0.0, 1.0), default=None,
        help="Hide detections scored below this (0-1): they are neither shown nor counted "
             "[default: UNSPIN_MIN_SCORE or 0].",
    )  # fmt: skip


def bug_message(exc: BaseException) -> str:
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
            if settings_of(ctx).debug:
                raise
            error(bug_message(exc))
            ctx.exit(EXIT_BUG)

    return cast(F, wrapper)


class _WarningHandler(logging.Handler):
    """unspin's library warnings (a skipped feed entry, ...) as ``unspin: warning:`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"unspin: warning: {one_line(record.getMessage())}", err=True)


def setup_logging(ctx: click.Context, debug: bool) -> None:
    """Show the library's warnings (debug lines too with ``debug``) while ``ctx`` runs; put
    the logger back as it was afterwards, so that a command run in-process leaves no trace."""
    logger = logging.getLogger("unspin")
    level, propagate = logger.level, logger.propagate
    handler = _WarningHandler(logging.WARNING)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate

    ctx.call_on_close(restore)
