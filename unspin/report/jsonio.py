"""Analyses as JSON and JSON Lines, validated against ``schema.json`` on the way in.

The serialised data model is defined once, by the JSON Schemas in this folder:
``schema.json`` (an analysis: ``Analysis.to_dict()``) and ``comparison.schema.json``
(``Comparison.to_dict()``); the server's API documents its responses with them. Every JSON
unspin writes goes through :func:`dumps`, and every analysis it reads through
:func:`check_version`.

Reading checks the schema version first (a file from an incompatible unspin is refused with
a clear message rather than misread), then the schema, then what a schema cannot say: that
every offset lies inside the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib.resources import files
from typing import IO, Any

from ..compare import Comparison
from ..document import SCHEMA_VERSION, Analysis
from ..errors import InputError
from .summary import summarize

__all__ = [
    "check_version",
    "comparison_document",
    "comparison_schema",
    "dump_jsonl",
    "dumps",
    "dumps_analysis",
    "dumps_jsonl",
    "from_data",
    "iter_jsonl",
    "loads_analysis",
    "loads_jsonl",
    "schema",
    "validate",
]


@lru_cache(maxsize=2)
def _schema_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((files("unspin.report") / name).read_text(encoding="utf-8"))
    return data


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``Analysis.to_dict()``."""
    return _schema_file("schema.json")


def comparison_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``Comparison.to_dict()``."""
    return _schema_file("comparison.schema.json")


def comparison_document(c: Comparison) -> dict[str, Any]:
    """What the CLI writes as JSON and the API answers: every analysis, the numbers
    (``comparison.schema.json``) and the summary."""
    return {
        "analyses": [a.to_dict() for a in c.analyses],
        "comparison": c.to_dict(),
        "summary": summarize(c),
    }


def dumps(data: Any, *, indent: int | None = 2) -> str:
    """JSON text as unspin writes it: UTF-8 text kept as is (not \\u-escaped); one line
    when ``indent`` is None."""
    return json.dumps(data, ensure_ascii=False, indent=indent)


def dumps_analysis(analysis: Analysis, *, indent: int | None = 2) -> str:
    """One analysis as JSON."""
    return dumps(analysis.to_dict(), indent=indent)


def loads_analysis(text: str | bytes) -> Analysis:
    """Parse, check and load one analysis; raises ``InputError`` saying what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"This is not valid JSON: {err}.") from None
    return from_data(data)


def from_data(data: Any) -> Analysis:
    validate(data)
    return Analysis.from_dict(data)


def dumps_jsonl(analyses: Iterable[Analysis]) -> str:
    return "".join(dumps_analysis(a, indent=None) + "\n" for a in analyses)


def dump_jsonl(analyses: Iterable[Analysis], fp: IO[str]) -> int:
    """Write one analysis per line as they come (streams); returns how many were written."""
    n = 0
    for a in analyses:
        fp.write(dumps_analysis(a, indent=None) + "\n")
        n += 1
    return n


def iter_jsonl(lines: Iterable[str]) -> Iterator[Analysis]:
    """Read analyses lazily from JSON Lines; blank lines are skipped, errors give the line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield loads_analysis(line)
        except InputError as err:
            raise InputError(f"Line {number}: {err}") from None


def loads_jsonl(text: str) -> list[Analysis]:
    return list(iter_jsonl(text.splitlines()))


def check_version(data: Any) -> None:
    """InputError unless ``data`` is an analysis in a format version this unspin reads."""
    if not isinstance(data, dict) or "article" not in data:
        raise InputError('This JSON is not an unspin analysis (no "article").')
    version = data.get("schema_version")
    if not isinstance(version, str):
        raise InputError("This JSON has no schema_version: it was not written by unspin.")
    if _version(version) is None or not _compatible(version, SCHEMA_VERSION):
        raise InputError(
            f"This analysis uses format version {version}, but this unspin reads version "
            f"{SCHEMA_VERSION}: analyse the article again, or use a matching unspin."
        )


def _version(text: str) -> tuple[int, int] | None:
    major, _, minor = text.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return None


def _compatible(theirs: str, ours: str) -> bool:
    """Same major version, and not written by a newer minor version (it may add fields)."""
    a, b = _version(theirs), _version(ours)
    return a is not None and b is not None and a[0] == b[0] and a[1] <= b[1]


def _where(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def validate(data: Any) -> None:
    """Raise ``InputError`` unless ``data`` is a valid analysis of this schema version."""
    check_version(data)
    errors = _schema_errors(data)
    if errors:
        where, message = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise InputError(f"Invalid analysis at {where}: {message}{more}.")
    text = data["article"]["text"]
    n = len(text)
    for kind, items in (
        ("article.paragraphs", data["article"].get("paragraphs", [])),
        ("spans", data.get("spans", [])),
    ):
        for i, item in enumerate(items):
            if not item["start"] <= item["end"] <= n:
                raise InputError(
                    f"Invalid analysis at {kind}[{i}]: offsets {item['start']}..{item['end']} "
                    f"lie outside the text ({n} characters)."
                )


def _schema_errors(data: Any) -> list[tuple[str, str]]:
    import jsonschema  # slow to import (50 ms): only when an analysis is read back

    validator = jsonschema.Draft202012Validator(schema())
    found = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [(_where(e.absolute_path), e.message) for e in found]
