"""Inline SVG charts: well-formed, accessible, escaped, proportional."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from unspin.report.charts import Bar, Series, density_chart, grouped_bar_chart, hbar_chart

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert(1)</script>" onload="x'


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML, so labels cannot have broken out
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.find(SVG + "title") is not None
    return root


def test_hbar_chart() -> None:
    svg = hbar_chart(
        [
            Bar("Loaded language", 6.0, symbol="W", key="Loaded_Language"),
            Bar(EVIL, 3.0, symbol="A"),
        ],
        title="Per 1,000 words",
        live="technique",
    )
    root = _parse(svg)
    assert "<script" not in svg and root.get("data-live") == "technique"
    fills = [
        float(r.get("width", 0)) for r in root.iter(SVG + "rect") if r.get("class") == "c-fill"
    ]
    assert fills[0] > 0 and abs(fills[1] - fills[0] / 2) < 0.01
    labels = ["".join(t.itertext()) for t in root.iter(SVG + "text") if t.get("class") == "c-label"]
    assert labels == ["W Loaded language", f"A {EVIL}"]
    assert "Loaded language 6.0" in (root.get("aria-label") or "")
    assert root.find(SVG + "title").text == "Per 1,000 words"  # type: ignore[union-attr]


def test_hbar_fixed_scale_and_empty() -> None:
    root = _parse(hbar_chart([Bar("Half", 0.5, text="50%")], title="Share", max_value=1.0))
    fill = next(r for r in root.iter(SVG + "rect") if r.get("class") == "c-fill")
    track = next(r for r in root.iter(SVG + "rect") if r.get("class") == "c-track")
    assert abs(float(fill.get("width", 0)) * 2 - float(track.get("width", 0))) < 0.01
    empty = _parse(hbar_chart([], title="Nothing", empty="No data here."))
    assert "No data here." in "".join(empty.itertext())


def test_grouped_bar_chart_tags_series() -> None:
    series = [Series("op-ed", "1", [6.1, 0.0]), Series(EVIL, "2", [0.0, 2.0], doc=1)]
    root = _parse(
        grouped_bar_chart([("Name calling", "NC", "A"), ("Slogans", "SL", "C")], series, title="T")
    )
    tags = [t.text for t in root.iter(SVG + "text") if t.get("class") == "c-tag"]
    assert tags == ["1", "2", "1", "2"]
    assert sum(1 for g in root.iter(SVG + "g") if g.get("class") == "bar") == 4


def test_density_chart() -> None:
    one = _parse(density_chart([Series("x", "", [0, 2, 4, 1])], title="Density"))
    assert one.find(f".//{SVG}polygon") is not None  # area for a single article
    assert len(list(one.iter(SVG + "circle"))) == 4
    two = _parse(
        density_chart([Series("a", "1", [1, 2]), Series(EVIL, "2", [0, 0], dash="7 4")], title="D")
    )
    assert two.find(f".//{SVG}polygon") is None
    assert [p.get("stroke-dasharray") for p in two.iter(SVG + "polyline")] == [None, "7 4"]
    zero = _parse(density_chart([Series("z", "", [0.0, 0.0])], title="Z"))
    assert zero is not None
