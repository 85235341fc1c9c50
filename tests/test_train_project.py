"""Projecting native spans onto English translations, and reading the native offsets.

The parallel examples and their alignments are invented and written by hand; one test checks
the real native offsets when ../shared is present."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shared_dir

from unspin.train.data import LabeledArticle
from unspin.train.project import (
    attach,
    crlf_positions,
    grow_diag_final,
    load_native,
    native_reading,
    project,
    snap,
    words,
)

NATIVE = "Le président a déroulé le tapis rouge aux oligarques, hier."
ENGLISH = "The president rolled out the red carpet for the oligarchs yesterday."
# native words: 0 Le, 1 président, 2 a, 3 déroulé, 4 le, 5 tapis, 6 rouge, 7 aux, 8 oligarques, 9 ",", 10 hier, 11 "."
# English words: 0 The, 1 president, 2 rolled, 3 out, 4 the, 5 red, 6 carpet, 7 for, 8 the, 9 oligarchs,
#                10 yesterday, 11 "."
LINKS = {(0, 0), (1, 1), (2, 2), (3, 2), (3, 3), (4, 4), (5, 6), (6, 5), (7, 7), (7, 8), (8, 9), (10, 10), (11, 11)}


def _span(text: str, phrase: str) -> tuple[int, int]:
    s = text.index(phrase)
    return s, s + len(phrase)


def test_a_span_lands_on_the_english_words_it_aligns_to() -> None:
    p = project(NATIVE, ENGLISH, LINKS, *_span(NATIVE, "déroulé le tapis rouge"))
    assert p.reason == "kept"
    assert ENGLISH[p.start:p.end] == "rolled out the red carpet"  # crossed links: min..max
    p = project(NATIVE, ENGLISH, LINKS, *_span(NATIVE, "oligarques, hier."))
    assert ENGLISH[p.start:p.end] == "oligarchs yesterday."  # the full stop the span keeps


def test_untrustworthy_projections_are_dropped() -> None:
    sparse = {(0, 0), (1, 1)}  # only the first two words align
    p = project(NATIVE, ENGLISH, sparse, *_span(NATIVE, "déroulé le tapis rouge"))
    assert (p.start, p.reason) == (None, "too few words aligned")
    scattered = {(4, 0), (5, 10), (6, 9)}  # three words over the whole sentence
    p = project(NATIVE, ENGLISH, scattered, *_span(NATIVE, "le tapis rouge"))
    assert p.reason == "length mismatch"
    assert project(NATIVE, ENGLISH, LINKS, *_span(NATIVE, ", ")).reason == "no native words"


def test_grow_diag_final_keeps_agreement_and_grows_into_neighbours() -> None:
    fwd = {(0, 0), (1, 1), (2, 3)}
    rev = {(0, 0), (1, 1), (1, 2)}
    links = grow_diag_final(fwd, rev)
    assert {(0, 0), (1, 1)} <= links
    assert (1, 2) in links  # next to an agreed link, English word 2 unaligned
    assert (2, 3) in links  # final: both words still unaligned
    assert grow_diag_final(set(), set()) == set()


def test_words_carry_offsets_and_keep_hyphens_and_apostrophes() -> None:
    text = "L’Europe, pro-Kremlin!"
    assert [text[s:e] for s, e in words(text)] == ["L’Europe", ",", "pro-Kremlin", "!"]


def test_offsets_counted_with_crlf_line_breaks_are_read_back() -> None:
    text = "Titre\n\nUn mot ici.\nEt la fin du texte."
    # As counted on the CRLF file: every line break above a position adds one.
    crlf = text.replace("\n", "\r\n")
    spans = [(crlf.index("mot"), crlf.index("mot") + 3), (crlf.index("fin"), crlf.index("texte") + 5)]
    assert native_reading(text, spans) == "crlf"
    pos = crlf_positions(text)
    assert [text[pos[s]:pos[e]] for s, e in spans] == ["mot", "fin du texte"]
    lf = [(text.index("mot"), text.index("mot") + 3), (text.index("fin"), text.index("texte") + 5)]
    assert native_reading(text, lf) == "lf"  # a file counted in characters stays as it is
    assert native_reading(text, []) == "lf"


def test_snapping_widens_to_whole_words_and_strips_white_space() -> None:
    text = "Il a dit: une croisade pour la planète.\n\nFin"
    s, e = _span(text, "roisade pour la plan")
    assert text[slice(*snap(text, s, e))] == "croisade pour la planète"
    s, e = _span(text, "planète.\n\n")
    assert text[slice(*snap(text, s, e))] == "planète."
    assert snap(text, 39, 41) is None  # only white space


def test_native_files_are_read_per_file_and_projections_attach(tmp_path: Path) -> None:
    base = tmp_path / "native" / "fr"
    (base / "train-articles-subtask-3").mkdir(parents=True)
    (base / "train-labels-subtask-3-spans").mkdir(parents=True)
    text = "Titre\n\nLe président a déroulé le tapis rouge.\n"
    (base / "train-articles-subtask-3" / "article5.txt").write_text(text, encoding="utf-8")
    crlf = text.replace("\n", "\r\n")
    s = crlf.index("déroulé")
    (base / "train-labels-subtask-3-spans" / "article5-labels-subtask-3.txt").write_text(
        f"5\tLoaded_Language\t{s}\t{s + len('déroulé le tapis rou')}\n", encoding="utf-8")
    (base / "train-labels-subtask-3.txt").write_text("5\t1\t\n5\t3\tLoaded_Language\n", encoding="utf-8")
    [art] = load_native(tmp_path, "fr", "train")
    assert art.reading == "crlf"
    assert [text[s:e] for _, s, e in art.spans] == ["déroulé le tapis rouge"]
    assert art.drift == [(-2, 0, 2)] and art.paragraph_labels[3] == ["Loaded_Language"]

    records = tmp_path / "spans.jsonl"
    records.write_text(
        '{"id": "fr-5", "line": 3, "technique": "Loaded_Language", "start": 4, "end": 10, "reason": "kept"}\n'
        '{"id": "fr-5", "line": 3, "technique": "Doubt", "start": null, "end": null, "reason": "length mismatch"}\n',
        encoding="utf-8")
    english = LabeledArticle(id="fr-5", text="Title\nThe carpet.", lines=[(1, 0, 5), (3, 6, 17)],
                             paragraph_labels={3: ["Loaded_Language", "Doubt"]}, annotated=False, source="mt-fr")
    unknown = attach([english], records)
    assert [english.text[s:e] for _, s, e in english.spans] == ["carpet"]
    assert unknown == {"fr-5": {(3, "Doubt")}}


SHARED = shared_dir()


@pytest.mark.skipif(SHARED is None, reason="needs ../shared (the SemEval data)")
def test_real_native_spans_start_on_word_boundaries_once_read() -> None:
    assert SHARED is not None
    arts = load_native(SHARED / "data" / "semeval2023task3-multilingual", "ru", "dev")
    spans = [(a.text, s) for a in arts for _, s, _ in a.spans]
    assert len(spans) > 500
    assert {a.reading for a in arts} == {"lf", "crlf"}  # the files differ: read each its own way
    inside = sum(1 for text, s in spans if s > 0 and text[s - 1].isalnum() and text[s].isalnum())
    assert inside == 0


def test_the_token_head_experiment_masks_what_projection_does_not_know_and_decodes_words() -> None:
    import numpy as np

    from unspin.train.data import T_INDEX
    from unspin.train.token_refit import decode, targets

    art = LabeledArticle(id="fr-5", text="Title\nThe red carpet.", lines=[(1, 0, 5), (3, 6, 21)],
                         spans=[("Loaded_Language", 10, 20)], paragraph_labels={3: ["Loaded_Language", "Doubt"]},
                         annotated=False, source="mt-fr")
    offsets = np.array([[0, 5], [6, 9], [10, 13], [14, 17], [17, 20], [20, 21]])
    y, known = targets(art, offsets, {(3, "Doubt")})
    assert y[:, T_INDEX["Loaded_Language"]].tolist() == [0, 0, 1, 1, 1, 0]
    assert known[0].sum() == 0  # the unlabelled title
    assert known[1:, T_INDEX["Doubt"]].sum() == 0 and known[1:, T_INDEX["Slogans"]].all()
    probs = np.zeros((6, len(T_INDEX)), dtype=np.float32)
    probs[[2, 4], T_INDEX["Loaded_Language"]] = 0.9  # "red" and the second piece of "carpet"
    word_ids = np.array([0, 1, 2, 3, 3, 4])
    th = np.full(len(T_INDEX), 0.5)
    assert decode(probs, offsets, word_ids, th) == [("Loaded_Language", 10, 20)]
