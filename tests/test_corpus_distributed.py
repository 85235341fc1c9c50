"""The distributed path on a local 2-worker Dask cluster: the same per-article analysis as
`corpus add`, over shards, into Parquet that `corpus import` loads to the same rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus_helpers import dump, example_rows, write_jsonl

from unspin.cli import cli
from unspin.corpus import add, open_store
from unspin.corpus.distributed import analyse_shards, result_name
from unspin.corpus.tables import import_results

pytest.importorskip("dask.distributed", reason="needs the corpus-distributed extra")
pa = pytest.importorskip("pyarrow", reason="needs the corpus extra")


def test_shards_on_a_local_cluster_import_to_what_corpus_add_stores(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    items = example_rows(16)
    first = write_jsonl(tmp_path / "part-1.jsonl", items[:8] + [{"text": ""}])
    second = tmp_path / "part-2.parquet"
    pq.write_table(pa.Table.from_pylist(items[8:]), second)

    out = tmp_path / "results"
    result = analyse_shards([str(first), str(second)], out, workers=2)
    assert (result.analysed, result.failed, len(result.written)) == (16, 1, 2)
    assert sorted(p.name for p in out.iterdir()) == sorted(result_name(s) for s in (first, second))
    again = analyse_shards([str(first), str(second)], out, workers=2)
    assert again.written == [] and len(again.kept) == 2, "finished shards are not sent again"

    imported = tmp_path / "imported.db"
    code = CliRunner().invoke(cli, ["corpus", "import", str(imported), *map(str, sorted(out.iterdir()))])
    assert code.exit_code == 0, code.output
    with open_store(imported) as store:
        assert import_results(store, sorted(out.iterdir())) == (0, 16, 1), "importing twice adds nothing"

    local = tmp_path / "local.db"
    add(local, [str(first), str(second)], workers=1)
    a, b = dump(imported), dump(local)
    for table in ("analyses", "spans", "paragraph_labels", "genre_scores", "frame_scores",
                  "embeddings", "paragraphs"):  # fmt: skip
        assert a[table] == b[table], table
    strip = lambda rows: [r[1:] for r in rows]  # noqa: E731 (ids aside, the same articles)
    assert strip(a["articles"]) == strip(b["articles"])
