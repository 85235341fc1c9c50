"""Hand-built analyses for the report tests: invented texts, offsets found by search.

- ``oped()``: an opinion piece with many, nested and crossing spans (a Name_Calling span
  inside a Loaded_Language span, spans sharing a start, spans crossing each other).
- ``report_article()``: a news report with few, weak detections.
- ``hostile()``: markup and script in the text, in and around spans, and in every metadata
  field, plus an unknown technique name.
- ``no_model()``: what ``analyze`` returns when no model is installed.
"""

from __future__ import annotations

from unspin.analyze import NO_MODEL_NOTE
from unspin.document import Analysis, Article, Paragraph, ParagraphLabels, Span


def article(paragraphs: list[str], **meta: object) -> Article:
    text = "\n\n".join(paragraphs)
    paras, pos = [], 0
    for i, p in enumerate(paragraphs):
        paras.append(Paragraph(index=i, start=pos, end=pos + len(p), line=i + 2))
        pos += len(p) + 2
    return Article(text=text, paragraphs=paras, **meta)  # type: ignore[arg-type]


def span(a: Article, needle: str, technique: str, score: float, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = a.text.index(needle, start + 1)
    return Span(technique=technique, start=start, end=start + len(needle), score=score)


OPED = [
    "Once again, the spineless bureaucrats at Marlow Bay city hall have betrayed the people "
    "who pay their salaries. Their so-called harbour renewal plan is nothing but a reckless "
    "land grab dressed up as progress.",
    "Every true Marlovian knows what this harbour means to us. Our grandfathers built it with "
    "their bare hands, and we will not let a gang of consultants sell it off.",
    "Either we stop this plan now, or the harbour we love will be gone forever. The time for "
    "polite debate is over.",
    "Mayor Ellison lectures us about fiscal responsibility, yet she spent a fortune on her own "
    "office renovation. Can we really trust a mayor like that with our harbour?",
    "Save our harbour. Save our town. Vote no on Sunday!",
]


def oped() -> Analysis:
    a = article(
        OPED,
        id="oped-1",
        title="The harbour plan is a disgrace",
        outlet="Marlow Bay Courier",
        author="T. Gull",
        published="2024-05-02",
        url="https://courier.example/opinion/harbour",
        language="en",
    )
    spans = [
        span(a, "spineless bureaucrats", "Name_Calling-Labeling", 0.91),
        span(
            a,
            "spineless bureaucrats at Marlow Bay city hall have betrayed",
            "Loaded_Language",
            0.78,
        ),
        span(a, "so-called", "Doubt", 0.42),
        span(
            a,
            "Their so-called harbour renewal plan is nothing but",
            "Questioning_the_Reputation",
            0.35,
        ),
        span(
            a,
            "nothing but a reckless land grab dressed up as progress",
            "Exaggeration-Minimisation",
            0.57,
        ),
        span(a, "reckless land grab", "Loaded_Language", 0.86),
        span(a, "Every true Marlovian knows what this harbour means to us", "Flag_Waving", 0.93),
        span(a, "Our grandfathers built it with their bare hands", "Appeal_to_Values", 0.48),
        span(a, "a gang of consultants", "Name_Calling-Labeling", 0.74),
        span(
            a,
            "Either we stop this plan now, or the harbour we love will be gone forever",
            "False_Dilemma-No_Choice",
            0.89,
        ),
        span(a, "gone forever", "Exaggeration-Minimisation", 0.38),
        span(a, "The time for polite debate is over", "Appeal_to_Time", 0.81),
        span(
            a,
            "Mayor Ellison lectures us about fiscal responsibility, yet she spent a fortune on her own office renovation",
            "Appeal_to_Hypocrisy",
            0.84,
        ),
        span(a, "a fortune", "Loaded_Language", 0.33),
        span(a, "Can we really trust a mayor like that with our harbour?", "Doubt", 0.87),
        span(a, "Save our harbour. Save our town.", "Slogans", 0.9),
        span(a, "Save our", "Repetition", 0.62),
        span(a, "Save our", "Repetition", 0.6, nth=1),
        span(a, "Vote no on Sunday!", "Slogans", 0.7),
    ]
    return Analysis(
        article=a,
        spans=spans,
        paragraphs=[
            ParagraphLabels(
                0, {"Name_Calling-Labeling": 0.9, "Loaded_Language": 0.85, "Doubt": 0.4}
            ),
            ParagraphLabels(
                1, {"Flag_Waving": 0.92, "Appeal_to_Values": 0.5, "Name_Calling-Labeling": 0.7}
            ),
            ParagraphLabels(2, {"False_Dilemma-No_Choice": 0.88, "Appeal_to_Time": 0.8}),
            ParagraphLabels(3, {"Appeal_to_Hypocrisy": 0.83, "Doubt": 0.86}),
            ParagraphLabels(4, {"Slogans": 0.91, "Repetition": 0.6}),
        ],
        genre="opinion",
        genre_scores={"opinion": 0.92, "reporting": 0.06, "satire": 0.02},
        frames=["Political", "Cultural_identity"],
        frame_scores={
            "Political": 0.81,
            "Cultural_identity": 0.62,
            "Economic": 0.41,
            "Morality": 0.2,
        },
        model_id="fixture-model",
        model_version="0.0",
    )


REPORT = [
    "The Marlow Bay city council on Tuesday postponed a vote on the harbour renewal plan until "
    "next month, after residents asked for more time to study the proposal.",
    "The plan would convert two disused warehouses into housing and a public market. It is "
    "estimated to cost 42 million crowns, according to the council's budget office.",
    'Mayor Ellison said the delay was reasonable. "We want every resident to have a say," she '
    "told reporters.",
    "Opponents, who have gathered 3,000 signatures, call the plan a land grab. The council will "
    "publish a revised version on 12 May.",
    "Construction, if approved, would begin next year.",
]


def report_article() -> Analysis:
    a = article(
        REPORT,
        id="report-1",
        title="Council delays vote on harbour plan",
        outlet="Marlow Bay Gazette",
        published="2024-05-01",
        url="https://gazette.example/news/harbour-vote",
        language="en",
    )
    return Analysis(
        article=a,
        spans=[
            span(a, "land grab", "Loaded_Language", 0.64),
            span(a, "who have gathered 3,000 signatures", "Appeal_to_Popularity", 0.31),
            span(a, "We want every resident to have a say", "Appeal_to_Values", 0.22),
        ],
        paragraphs=[
            ParagraphLabels(0, {}),
            ParagraphLabels(1, {}),
            ParagraphLabels(2, {"Appeal_to_Values": 0.25}),
            ParagraphLabels(3, {"Loaded_Language": 0.6}),
            ParagraphLabels(4, {}),
        ],
        genre="reporting",
        genre_scores={"opinion": 0.1, "reporting": 0.88, "satire": 0.02},
        frames=["Economic", "Policy_prescription_and_evaluation"],
        frame_scores={
            "Economic": 0.7,
            "Policy_prescription_and_evaluation": 0.66,
            "Political": 0.45,
        },
        model_id="fixture-model",
        model_version="0.0",
    )


SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
ATTR = '" onmouseover="alert(1)'
PWN = "</mark></p><script>window.__pwned=1</script>"
HOSTILE = [
    f"Breaking: {SCRIPT} was found in the comments, officials said.",
    f"A reader posted {IMG} and called the editors {ATTR} idiots.",
    f"Ignore {PWN} and {{{{ 7*7 }}}} and ${{alert(1)}} and &lt;b&gt; and 'single' quotes.",
]
BAD_TECHNIQUE = '"><script>alert(2)</script>'


def hostile() -> Analysis:
    a = article(
        HOSTILE,
        id='x"><script>alert(3)</script>',
        title='<script>alert("title")</script> "quoted" & more',
        outlet=IMG,
        author=ATTR,
        published="<b>2024</b>",
        url="javascript:alert(1)",
        language='en" onload="alert(1)',
    )
    return Analysis(
        article=a,
        spans=[
            span(a, SCRIPT, "Loaded_Language", 0.9),
            span(a, f"posted {IMG} and", "Name_Calling-Labeling", 0.8),
            span(a, IMG, "Loaded_Language", 0.5),
            span(a, f"editors {ATTR} idiots", "Name_Calling-Labeling", 0.7),
            span(a, "</mark></p><script>window.__pwned", "Loaded_Language", 0.6),
            span(a, "{{ 7*7 }}", BAD_TECHNIQUE, 0.55),
        ],
        paragraphs=[
            ParagraphLabels(0, {"Loaded_Language": 0.9}),
            ParagraphLabels(2, {BAD_TECHNIQUE: 0.5}),
        ],
        genre="<i>satire</i>",
        genre_scores={"<i>satire</i>": 0.6},
        frames=["<svg onload=alert(1)>"],
        frame_scores={"<svg onload=alert(1)>": 0.5},
        model_id="<b>model</b>",
        notes=["<b>bold note</b> & <script>alert(4)</script>"],
    )


def no_model() -> Analysis:
    a = article(REPORT[:2], title="Council delays vote on harbour plan")
    return Analysis(article=a, notes=[NO_MODEL_NOTE])


class PageParser:
    """Collects from a rendered report what the tests check, with the stdlib HTML parser.

    ``marks``: one dict per highlight fragment (its attributes and its full text, nested
    fragments included); ``ptexts``: the text of each ``<p class="ptext">``; ``scripts``:
    attributes of every script element; ``tags``: every start tag with its attributes.
    """

    def __init__(self, html: str) -> None:
        from html.parser import HTMLParser

        self.marks: list[dict[str, str]] = []
        self.ptexts: list[str] = []
        self.scripts: list[dict[str, str]] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        outer = self
        stack: list[tuple[str, dict[str, str]]] = []

        class _P(HTMLParser):
            def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
                a = {k: v or "" for k, v in attrs}
                outer.tags.append((tag, a))
                if tag == "script":
                    outer.scripts.append(a)
                if tag == "mark" and "hl" in a.get("class", "").split():
                    a["#text"] = ""
                    outer.marks.append(a)
                    stack.append(("mark", a))
                elif tag == "p" and a.get("class") == "ptext":
                    a["#text"] = ""
                    outer.ptexts.append("")
                    stack.append(("p", a))

            def handle_endtag(self, tag: str) -> None:
                if tag in {"mark", "p"} and stack and stack[-1][0] == tag:
                    kind, a = stack.pop()
                    if kind == "p":
                        outer.ptexts[-1] = a["#text"]

            def handle_data(self, data: str) -> None:
                outer.text.append(data)
                for _, a in stack:
                    a["#text"] += data

        parser = _P(convert_charrefs=True)
        parser.feed(html)
        parser.close()


def assert_fragments_cover(
    text: str, start: int, end: int, pieces: list[tuple[int, int, str]]
) -> None:
    """The fragments of one span, as ``(from, to, rendered text)``, give back exactly
    ``text[start:end]``: only whitespace between paragraphs may be left out."""
    pieces = sorted(pieces)
    assert pieces[0][0] == start and pieces[-1][1] == end
    rebuilt = ""
    pos = start
    for a, b, shown in pieces:
        assert shown == text[a:b]
        assert a >= pos and not text[pos:a].strip(), "a gap other than whitespace"
        rebuilt += text[pos:a] + shown
        pos = b
    assert rebuilt == text[start:end]
