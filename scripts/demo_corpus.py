"""Write the invented demo corpus behind docs/corpus-dashboard.png.

Usage:
    python scripts/demo_corpus.py OUT_DIR
    unspin corpus add OUT_DIR/demo.db OUT_DIR/demo.jsonl
    unspin corpus topics OUT_DIR/demo.db --rules OUT_DIR/topics.toml --clusters 3
    python scripts/screenshots.py --dashboard OUT_DIR/demo.db

240 short articles from four invented outlets, January to June 2024, each made of three
paragraphs drawn (seeded) from the two invented examples in examples/: every outlet draws
from the op-ed with its own probability, so the outlets differ as a dashboard should show.
No real article is used, so the screenshot can be published.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
OUTLETS = {"Marvania Herald": 0.15, "River Post": 0.45, "Teluria Daily": 0.75, "The Compact Times": 0.35}
MONTHS = ("2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06")
PER_MONTH = 10  # articles per outlet and month
TOPICS = """[topics.water]
keywords = ["water", "river", "drought", "flow*"]
min_matches = 2

[topics.government]
keywords = ["government", "minister*", "parliament", "treaty"]
min_matches = 2
"""


def paragraphs(name: str) -> list[str]:
    lines = (EXAMPLES / name).read_text(encoding="utf-8").split("\n\n")
    return [p.strip() for p in lines[1:] if p.strip()]  # the first block is the title


def rows(seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    oped, report = paragraphs("op-ed.txt"), paragraphs("report.txt")
    out = []
    for outlet, lean in OUTLETS.items():
        for month in MONTHS:
            for i in range(PER_MONTH):
                body = [rng.choice(oped if rng.random() < lean else report) for _ in range(3)]
                out.append({
                    "id": f"{outlet.lower().replace(' ', '-')}-{month}-{i}",
                    "outlet": outlet,
                    "date": f"{month}-{rng.randint(1, 28):02d}",
                    "title": f"{outlet}: on the Osk River, {month} #{i + 1}",
                    "text": "\n\n".join(body),
                })
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "demo.jsonl", "w", encoding="utf-8") as f:
        for row in rows():
            f.write(json.dumps(row) + "\n")
    (args.out / "topics.toml").write_text(TOPICS, encoding="utf-8")
    print(args.out / "demo.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
