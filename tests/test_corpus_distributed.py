"""The distributed path on a local 2-worker Dask cluster: the same per-article analysis as
`corpus add`, over shards, into Parquet that `corpus import` loads to the same rows; stopped
with Ctrl-C, it ends quietly, keeps whole shards and goes on where it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus_helpers import default_sigint, dump, example_rows, gone_within, write_jsonl

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


def _shards(tmp_path: Path, out: Path) -> subprocess.Popen[bytes]:
    shards = sorted(str(p) for p in tmp_path.glob("shard-*.jsonl"))
    return subprocess.Popen(
        [sys.executable, "-m", "unspin.cli", "corpus", "shards", *shards, "-o", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=default_sigint,
    )  # fmt: skip


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_ctrl_c_ends_shards_quietly_keeps_whole_shards_and_the_same_command_goes_on(tmp_path: Path) -> None:
    rows = example_rows(600)
    for i in range(8):  # 2 workers: Ctrl-C after the first leaves some never started
        write_jsonl(tmp_path / f"shard-{i}.jsonl", rows[i::8])
    out = tmp_path / "results"
    proc = _shards(tmp_path, out)
    deadline = time.monotonic() + 300
    while not list(out.glob("*.parquet")):  # Ctrl-C once a shard is done
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal sends Ctrl-C: to the whole group
    _, err = proc.communicate(timeout=60)
    message = err.decode()
    kept = len(list(out.glob("*.parquet")))
    assert proc.returncode == 130, message
    assert all(line.startswith("unspin: ") for line in message.splitlines()), message  # quiet
    assert f"keeps the results of {kept} of 8 shards" in message, message
    assert 0 < kept < 8, "stopped before the last shard"
    gone_within(proc.pid, 15)

    again = _shards(tmp_path, out)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err.decode()
    assert f"{8 - kept} shards analysed ({75 * (8 - kept)} articles, 0 failed" in err.decode()
    assert f"{kept} already done" in err.decode()
    assert len(list(out.glob("*.parquet"))) == 8
