"""Writing analyses to stdout or a file in each output format, as they come.

A file is opened on first write, so a run in which every source fails leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from ..document import Analysis, Article
from ..errors import UnspinError
from .html import render_analyses, render_analysis
from .jsonio import dumps, dumps_analysis
from .levels import for_readers
from .terminal import print_analysis


class _Output:
    """Where the result goes: stdout, or a file opened on first write (so a run where every
    source fails leaves no empty file behind)."""

    def __init__(self, path: str | None) -> None:
        self.path = None if path in (None, "-") else path
        self._file: IO[str] | None = None

    @property
    def stream(self) -> IO[str]:
        if self.path is None:
            return sys.stdout
        if self._file is None:
            try:
                self._file = open(self.path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
            except OSError as exc:
                raise UnspinError(f"Cannot write {self.path}: {exc.strerror or exc}.") from None
        return self._file

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    @property
    def written(self) -> bool:
        """A file was opened and written to (not stdout)."""
        return self._file is not None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class Writer:
    """A sink for :func:`unspin.batch.analyze_sources` that holds nothing beforehand."""

    def __init__(self, output: _Output, min_score: float, possible: bool = False) -> None:
        self.output = output
        self.min_score = min_score
        self.possible = possible  # also show possible detections (reports: likely only)

    def has_input(self, source: str) -> bool:
        return False

    def has(self, article: Article) -> bool:
        return False

    def add(self, analysis: Analysis) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.output.close()

    def written(self) -> str | None:
        """What this writer wrote, for the user ("report.html"), or None for stdout."""
        return self.output.path if self.output.written else None


class TextWriter(Writer):
    def __init__(self, output: _Output, min_score: float, no_color: bool, possible: bool = False) -> None:
        super().__init__(output, min_score, possible)
        self.no_color = no_color
        self.render = print_analysis
        self._console: Console | None = None
        self.count = 0

    def _get_console(self) -> Console:
        if self._console is None:
            if self.output.path is None:
                self._console = Console(no_color=self.no_color or None, highlight=False)
            else:
                self._console = Console(
                    file=self.output.stream, force_terminal=False, no_color=True, width=100,
                    highlight=False,
                )  # fmt: skip
        return self._console

    def add(self, analysis: Analysis) -> None:
        console = self._get_console()
        if self.count:
            console.print()
        self.render(for_readers(analysis, possible=self.possible), console, min_score=self.min_score)
        self.count += 1


class JSONWriter(Writer):
    """One object for one analysis, a list for several (use jsonl to stream)."""

    def __init__(self, output: _Output, min_score: float) -> None:
        super().__init__(output, min_score)
        self.items: list[dict[str, Any]] = []

    def add(self, analysis: Analysis) -> None:
        self.items.append(analysis.to_dict())

    def close(self) -> None:
        if self.items:
            data: Any = self.items[0] if len(self.items) == 1 else self.items
            self.output.write(dumps(data) + "\n")
        super().close()


class JSONLWriter(Writer):
    def add(self, analysis: Analysis) -> None:
        self.output.write(dumps_analysis(analysis, indent=None) + "\n")


class HTMLWriter(Writer):
    """One page per article. Several articles: one file each when the output is a directory,
    else one page holding them all."""

    def __init__(self, output: _Output, min_score: float, possible: bool = False) -> None:
        super().__init__(output, min_score, possible)
        self.render = render_analysis
        self.analyses: list[Analysis] = []
        path = output.path
        self.directory = (
            Path(path) if path and (path.endswith(("/", os.sep)) or Path(path).is_dir()) else None
        )
        self.used: set[str] = set()
        self.files = 0

    def _file_name(self, analysis: Analysis, n: int) -> str:
        article = analysis.article
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", article.id or article.title or "")[:80].strip("-.")
        base = base or f"article-{n}"
        name, k = f"{base}.html", 2
        while name in self.used:
            name, k = f"{base}-{k}.html", k + 1
        self.used.add(name)
        return name

    def add(self, analysis: Analysis) -> None:
        analysis = for_readers(analysis, possible=self.possible)
        if self.directory is None:
            self.analyses.append(analysis)
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.directory / self._file_name(analysis, len(self.used) + 1)
            target.write_text(self.render(analysis, min_score=self.min_score), encoding="utf-8")
        except OSError as exc:
            raise UnspinError(f"Cannot write to {self.directory}: {exc.strerror or exc}.") from None
        self.files += 1

    def written(self) -> str | None:
        if self.directory is None:
            return super().written()
        return f"{self.files} report{'s' * (self.files != 1)} to {self.directory}" if self.files else None

    def close(self) -> None:
        if len(self.analyses) == 1:
            self.output.write(self.render(self.analyses[0], min_score=self.min_score))
        elif self.analyses:
            self.output.write(render_analyses(self.analyses, min_score=self.min_score))
        super().close()


def make_writer(fmt: str, output: str | None, min_score: float, no_color: bool,
                possible: bool = False) -> Writer:
    """A report writer; JSON and JSON Lines hold every detection with its level, the
    readable formats lead with likely ones (``possible``: show the others too)."""
    out = _Output(output)
    if fmt == "json":
        return JSONWriter(out, min_score)
    if fmt == "jsonl":
        return JSONLWriter(out, min_score)
    if fmt == "html":
        return HTMLWriter(out, min_score, possible)
    return TextWriter(out, min_score, no_color, possible)


