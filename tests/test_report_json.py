"""JSON / JSON Lines round trips and the versioned JSON Schema."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import jsonschema
import pytest
from fixtures_reports import hostile, no_model, oped, report_article

from unspin.document import SCHEMA_VERSION, Analysis, Article, Paragraph, ParagraphLabels, Span
from unspin.errors import InputError
from unspin.report.jsonio import (
    dump_jsonl,
    dumps_analysis,
    dumps_jsonl,
    iter_jsonl,
    loads_analysis,
    loads_jsonl,
    schema,
)

FIXTURES = [oped, report_article, hostile, no_model]


def test_schema_is_valid_2020_12_and_versioned() -> None:
    s = schema()
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def _properties(node: dict[str, Any], root: dict[str, Any]) -> set[str]:
    if "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    return set(node.get("properties", {}))


def test_schema_matches_the_dataclasses() -> None:
    s = schema()
    defs = s["$defs"]
    serialised = {f.name for f in dataclasses.fields(Analysis)} - {"embedding"}  # kept in memory only
    assert _properties(s, s) == serialised | {"schema_version"}
    assert set(defs["article"]["properties"]) == {f.name for f in dataclasses.fields(Article)}
    assert set(defs["paragraph"]["properties"]) == {f.name for f in dataclasses.fields(Paragraph)}
    # "text" is written for readers of the JSON (the quote) and not read back
    assert set(defs["span"]["properties"]) == {f.name for f in dataclasses.fields(Span)} | {"text"}
    assert set(defs["paragraph_labels"]["properties"]) == {
        f.name for f in dataclasses.fields(ParagraphLabels)
    }


def test_every_field_is_documented() -> None:
    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            documented_by_target = set(node) == {"$ref"}
            if ("type" in node or "$ref" in node or "const" in node) and not documented_by_target:
                assert node.get("description"), f"no description at {path}"
            for key, value in node.items():
                walk(value, f"{path}/{key}")

    walk(schema(), "#")


@pytest.mark.parametrize("make", FIXTURES)
def test_round_trip_and_validates(make: Any) -> None:
    a = make()
    text = dumps_analysis(a)
    jsonschema.validate(json.loads(text), schema())
    assert loads_analysis(text) == a
    assert loads_analysis(text.encode("utf-8")) == a


def test_unicode_is_kept_readable() -> None:
    a = oped()
    a.article.title = "Café – «déjà vu» 🚢"
    assert "Café – «déjà vu» 🚢" in dumps_analysis(a)
    assert loads_analysis(dumps_analysis(a)).article.title == a.article.title


def _bad(mutate: Any) -> dict[str, Any]:
    data = oped().to_dict()
    mutate(data)
    return data


BAD_DOCUMENTS = {
    "score above 1": lambda d: d["spans"][0].update(score=1.5),
    "negative offset": lambda d: d["spans"][0].update(start=-1),
    "string offset": lambda d: d["spans"][0].update(start="3"),
    "bool offset": lambda d: d["spans"][0].update(end=True),
    "unknown field": lambda d: d.update(extra=1),
    "unknown span field": lambda d: d["spans"][0].update(colour="red"),
    "missing text": lambda d: d["article"].pop("text"),
    "null frames": lambda d: d.update(frames=None),
    "frame score as text": lambda d: d["frame_scores"].update(Political="high"),
    "empty technique": lambda d: d["spans"][0].update(technique=""),
    "paragraph line 0": lambda d: d["article"]["paragraphs"][0].update(line=0),
}


@pytest.mark.parametrize("name", sorted(BAD_DOCUMENTS))
def test_invalid_documents_are_refused(name: str) -> None:
    data = _bad(BAD_DOCUMENTS[name])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema())
    with pytest.raises(InputError, match="Invalid analysis at"):
        loads_analysis(json.dumps(data))


def test_error_names_the_place() -> None:
    data = _bad(lambda d: d["spans"][3].update(score=2))
    with pytest.raises(InputError, match=r"spans\[3\]\.score"):
        loads_analysis(json.dumps(data))


def test_offsets_outside_the_text_are_refused() -> None:
    data = _bad(lambda d: d["spans"][0].update(end=10_000))
    with pytest.raises(InputError, match="outside the text"):
        loads_analysis(json.dumps(data))
    data = _bad(lambda d: d["article"]["paragraphs"][0].update(start=50, end=10))
    with pytest.raises(InputError, match="outside the text"):
        loads_analysis(json.dumps(data))


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        (SCHEMA_VERSION, True),
        ("1.9", False),
        ("2.0", False),
        ("0.1", False),
        ("x", False),
        (None, False),
    ],
)
def test_schema_version_is_checked(version: str | None, ok: bool) -> None:
    data = oped().to_dict()
    if version is None:
        del data["schema_version"]
    else:
        data["schema_version"] = version
    if ok:
        assert loads_analysis(json.dumps(data)) == oped()
    else:
        with pytest.raises(InputError, match="version|schema_version"):
            loads_analysis(json.dumps(data))


def test_garbage_is_refused_clearly() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        loads_analysis("{nope")
    with pytest.raises(InputError, match="not an unspin analysis"):
        loads_analysis("[1, 2]")


def test_jsonl_round_trip_and_streaming() -> None:
    analyses = [f() for f in FIXTURES]
    text = dumps_jsonl(analyses)
    assert text.count("\n") == len(analyses)
    assert loads_jsonl(text) == analyses
    buf = io.StringIO()
    assert dump_jsonl(iter(analyses), buf) == len(analyses)
    assert list(iter_jsonl(io.StringIO(buf.getvalue() + "\n\n"))) == analyses


def test_jsonl_errors_give_the_line() -> None:
    lines = (
        dumps_jsonl([oped()])
        + "\n"
        + json.dumps({"schema_version": "9.0", "article": {"text": ""}})
        + "\n"
    )
    with pytest.raises(InputError, match="^Line 3: "):
        loads_jsonl(lines)
