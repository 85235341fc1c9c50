"""The benchmark article: exactly 800 words in paragraphs, from the shipped examples."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def article_800_words() -> str:
    paras: list[str] = []
    for name in ("op-ed.txt", "report.txt"):
        text = (ROOT / "examples" / name).read_text("utf-8")
        paras += [p for p in text.split("\n") if p.strip()]
    out: list[str] = []
    words = 0
    while words < 800:
        for p in paras:
            take = p.split()[: 800 - words]
            out.append(" ".join(take))
            words += len(take)
            if words >= 800:
                break
    return "\n\n".join(out)
