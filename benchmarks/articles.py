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


def article_of_size(chars: int) -> str:
    """Whole paragraphs of the shipped examples, over and over, to about ``chars``
    characters (a long article for the memory benchmark)."""
    paras: list[str] = []
    for name in ("op-ed.txt", "report.txt"):
        paras += [p for p in (ROOT / "examples" / name).read_text("utf-8").split("\n") if p.strip()]
    out: list[str] = []
    size, i = 0, 0
    while size + len(paras[i % len(paras)]) + 2 <= chars:
        out.append(paras[i % len(paras)])
        size += len(out[-1]) + 2
        i += 1
    return "\n\n".join(out)
