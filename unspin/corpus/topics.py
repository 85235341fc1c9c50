"""Topics of a corpus, two kinds side by side:

* **rules**: user-defined, from keywords in a small TOML file (an article may have several);
* **clusters**: discovered, by k-means over the article embeddings that ``corpus add``
  keeps from the analysis's own encoder pass (one cluster per article), each named by the
  words most distinctive of its articles against the rest.

Rules file::

    [topics.immigration]
    keywords = ["immigra*", "asylum", "border", "refugee*"]   # * matches any ending
    min_matches = 2                                           # keyword hits needed (default 2)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .sources import read_toml
from .store import Store

__all__ = ["Rule", "TopicsResult", "assign_topics", "load_rules"]

_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]")
_POSSESSIVE = re.compile(r"['’]s$")
_NAME_SAMPLE = 400  # articles read per cluster to name it
_STOPWORDS = frozenset(["about", "above", "across", "after", "again", "against", "ago", "all", "almost", "along", "already", "also", "although", "always", "among", "and", "another", "any", "anyone", "anything", "are", "around", "asked", "back", "because", "become", "been", "before", "behind", "being", "below", "between", "both", "but", "call", "called", "came", "can", "cannot", "come", "comes", "could", "did", "does", "doing", "done", "down", "during", "each", "either", "else", "enough", "even", "ever", "every", "everyone", "everything", "far", "few", "find", "first", "for", "found", "from", "further", "gave", "get", "gets", "getting", "give", "given", "goes", "going", "gone", "got", "had", "has", "have", "having", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however", "including", "into", "its", "itself", "just", "keep", "kept", "know", "known", "last", "later", "least", "less", "let", "like", "likely", "made", "make", "makes", "making", "many", "may", "maybe", "might", "more", "most", "much", "must", "near", "need", "needs", "never", "new", "next", "nor", "not", "nothing", "now", "off", "often", "once", "one", "only", "onto", "other", "others", "our", "ours", "out", "over", "own", "part", "per", "perhaps", "please", "put", "quite", "rather", "really", "right", "said", "same", "saw", "say", "saying", "says", "see", "seen", "several", "she", "should", "show", "shows", "since", "some", "someone", "something", "soon", "still", "such", "take", "taken", "takes", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "therefore", "these", "they", "thing", "things", "think", "this", "those", "though", "three", "through", "thus", "time", "times", "today", "together", "told", "too", "took", "toward", "towards", "two", "under", "unless", "until", "upon", "use", "used", "using", "very", "want", "wanted", "wants", "was", "way", "ways", "week", "weeks", "well", "went", "were", "what", "whatever", "when", "where", "whether", "which", "while", "who", "whole", "whom", "whose", "why", "will", "with", "within", "without", "would", "year", "years", "yet", "you", "your", "yours", "yourself", "mr", "mrs", "ms", "dr", "according", "people", "news", "report", "reported", "reports", "story", "stories", "article"])


def _tokens(text: str) -> list[str]:
    """Informative words: no stop words, possessives folded ("trump's" -> "trump"), no
    contraction fragments ("wasn't", "they're"), at least three letters."""
    out = []
    for w in _WORD.findall(text.lower()):
        w = _POSSESSIVE.sub("", w)
        if "'" in w or "’" in w or len(w) < 3 or w in _STOPWORDS:
            continue
        out.append(w)
    return out


@dataclass(frozen=True)
class Rule:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    min_matches: int = 2

    def matches(self, text: str) -> bool:
        hits = 0
        for pattern in self.patterns:
            hits += len(pattern.findall(text))
            if hits >= self.min_matches:
                return True
        return False


def _keyword(word: str) -> re.Pattern[str]:
    stem = re.escape(word.strip().rstrip("*"))
    tail = r"\w*" if word.strip().endswith("*") else ""
    return re.compile(rf"\b{stem}{tail}\b", re.IGNORECASE)


def load_rules(path: str | Path) -> list[Rule]:
    """The ``[topics.NAME]`` tables of a TOML file, each with ``keywords`` (a list)."""
    data = read_toml(path, "the topic rules")
    topics = data.get("topics")
    if not isinstance(topics, dict) or not topics:
        raise InputError(f"{path} has no [topics.NAME] tables with keywords = [...].")
    rules = []
    for name, spec in topics.items():
        keywords = spec.get("keywords") if isinstance(spec, dict) else None
        if not isinstance(keywords, list) or not keywords or not all(
            isinstance(k, str) and k.strip("* ") for k in keywords
        ):
            raise InputError(f"Topic {name!r} in {path} needs keywords = [\"word\", ...].")
        min_matches = spec.get("min_matches", 2)
        if not isinstance(min_matches, int) or min_matches < 1:
            raise InputError(f"Topic {name!r} in {path}: min_matches must be a whole number >= 1.")
        rules.append(Rule(str(name), tuple(_keyword(k) for k in keywords), min_matches))
    return rules


@dataclass
class TopicsResult:
    rule_topics: dict[str, int]  # topic -> articles
    clusters: dict[str, int]

    def summary(self) -> str:
        parts = [f"{len(self.rule_topics)} rule topics", f"{len(self.clusters)} clusters"]
        return ", ".join(parts) + "".join(
            f"\n  {name}: {n} articles" for name, n in {**self.rule_topics, **self.clusters}.items()
        )


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, iterations: int = 50) -> np.ndarray:
    """Spherical k-means (cosine) with k-means++ seeding; a label per row."""
    rng = np.random.default_rng(seed)
    n = len(x)
    centers = [x[rng.integers(n)]]
    nearest = np.full(n, np.inf, dtype=np.float32)
    for _ in range(1, k):
        nearest = np.minimum(nearest, 1.0 - x @ centers[-1])
        p = np.clip(nearest, 0, None) ** 2
        total = float(p.sum())
        centers.append(x[rng.choice(n, p=p / total)] if total > 0 else x[rng.integers(n)])
    c = np.stack(centers)
    labels = np.zeros(n, dtype=np.int64)
    for i in range(iterations):
        new = np.argmax(x @ c.T, axis=1)
        if i and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = x[labels == j]
            if len(members):
                centre = members.sum(axis=0)
                c[j] = centre / (np.linalg.norm(centre) or 1.0)
    return labels


def _words(text: str) -> set[str]:
    return set(_tokens(text))


def _names(store: Store, ids: np.ndarray, labels: np.ndarray, k: int, seed: int) -> list[str]:
    """Each cluster's three most distinctive words: the z-score of the document-frequency
    log-odds against the other clusters (on a sample of each), which prefers words both
    distinctive and common in the cluster over rare ones found by chance."""
    rng = np.random.default_rng(seed)
    df: list[Counter[str]] = []
    sizes = []
    for j in range(k):
        members = ids[labels == j]
        sample = rng.choice(members, size=min(len(members), _NAME_SAMPLE), replace=False)
        counts: Counter[str] = Counter()
        for (text,) in store.rows(
            f"SELECT text FROM articles WHERE id IN ({','.join('?' * len(sample))})",
            [int(i) for i in sample],
        ):
            counts.update(_words(text))
        df.append(counts)
        sizes.append(len(sample))
    total = sum(df, Counter())
    all_n = sum(sizes)
    names = []
    for j in range(k):
        n_in, n_out = sizes[j], all_n - sizes[j]
        scored = []
        for word, c in df[j].items():
            if c < 3:
                continue
            rest = total[word] - c
            delta = np.log((c + 0.5) / (n_in - c + 0.5)) - np.log((rest + 0.5) / (n_out - rest + 0.5))
            score = delta / np.sqrt(1 / (c + 0.5) + 1 / (n_in - c + 0.5) + 1 / (rest + 0.5) + 1 / (n_out - rest + 0.5))
            scored.append((score, word))
        top = [w for _, w in sorted(scored, reverse=True)[:3]]
        names.append(f"{j + 1}: {', '.join(top) or 'misc'}")
    return names


def assign_topics(
    store: Store, *, rules: list[Rule] | None = None, clusters: int | None = 8, seed: int = 0
) -> TopicsResult:
    """Recompute the corpus's topics: rule topics when ``rules`` are given (else the stored
    ones are kept), and ``clusters`` discovered topics (0 or None: keep the stored ones)."""
    result = TopicsResult({}, {})
    if rules is not None:
        with store.transaction():
            store.db.execute("DELETE FROM topics WHERE kind = 'rule'")
            hits: dict[str, list[int]] = {r.name: [] for r in rules}
            for article_id, text in store.rows("SELECT id, text FROM articles"):
                for rule in rules:
                    if rule.matches(text):
                        hits[rule.name].append(article_id)
            for rule in rules:
                topic_id = store.db.execute(
                    "INSERT INTO topics (kind, name, words) VALUES ('rule', ?, ?)",
                    (rule.name, " ".join(p.pattern for p in rule.patterns)),
                ).lastrowid
                store.db.executemany(
                    "INSERT INTO article_topics (article_id, topic_id) VALUES (?, ?)",
                    [(a, topic_id) for a in hits[rule.name]],
                )
                result.rule_topics[rule.name] = len(hits[rule.name])
    if clusters:
        rows = store.rows("SELECT article_id, vector FROM embeddings ORDER BY article_id")
        if len(rows) < 2 * clusters:
            raise InputError(
                f"Only {len(rows)} articles have embeddings: too few for {clusters} clusters "
                "(use --clusters with a smaller number)."
            )
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        x = np.stack([np.frombuffer(r[1], dtype=np.float16) for r in rows]).astype(np.float32)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)
        labels = kmeans(x, clusters, seed=seed)
        names = _names(store, ids, labels, clusters, seed)
        with store.transaction():
            store.db.execute("DELETE FROM topics WHERE kind = 'cluster'")
            for j, name in enumerate(names):
                topic_id = store.db.execute(
                    "INSERT INTO topics (kind, name, words) VALUES ('cluster', ?, ?)",
                    (name, name.split(": ", 1)[1]),
                ).lastrowid
                members = ids[labels == j]
                store.db.executemany(
                    "INSERT INTO article_topics (article_id, topic_id) VALUES (?, ?)",
                    [(int(a), topic_id) for a in members],
                )
                result.clusters[name] = len(members)
    return result
