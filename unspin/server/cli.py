"""``unspin serve``: the click command, imported only when it runs (it needs the extras).

An UnspinError (the port is taken) is printed on one line by ``unspin.cli.main``.
"""

from __future__ import annotations

import click

from ..cli_common import allow_private_option, settings_of
from .app import check_port
from .app import serve as run


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@allow_private_option(
    "Let the server fetch URLs on private, local or reserved networks (off by default: "
    "SSRF guard). Only for a server nobody else can reach."
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=None,
    help="Analyses run at once [default: UNSPIN_SERVER_WORKERS or 2].",
)  # fmt: skip
@click.option("--access-log", is_flag=True, help="Log every request.")
@click.option(
    "--corpus", type=click.Path(exists=True, dir_okay=False), default=None,
    help="A corpus database (unspin corpus add) to explore at /corpus.",
)  # fmt: skip
def serve(
    host: str, port: int, allow_private: bool, workers: int | None, access_log: bool,
    corpus: str | None,
) -> None:
    """Start the web app: paste, upload or link an article in a browser and read its report;
    programs use the JSON API (its description is at /openapi.json).

    \b
    Examples:
      unspin serve                 # then open http://127.0.0.1:8000/
      unspin serve --port 8080
      unspin serve --corpus news.db   # and open /corpus
    """
    settings = settings_of().with_options(
        allow_private_urls=allow_private or None, server_workers=workers
    )
    if host in ("0.0.0.0", "::"):
        click.echo(
            "unspin: warning: listening on every network interface: anyone who can reach "
            "this machine can use the server.",
            err=True,
        )
    check_port(host, port)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"unspin: serving on http://{shown}:{port}/ (Ctrl-C stops it)", err=True)
    run(host, port, settings=settings, access_log=access_log, corpus=corpus)
