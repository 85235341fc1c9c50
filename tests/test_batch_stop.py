"""`unspin analyze -o results.jsonl` stopped by SIGTERM (`kill PID`), as a real process:
it ends at once, says how many analyses it kept, and run again it ends with the same file
as a run never stopped. Uses the shipped examples only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from corpus_helpers import example_rows, stop_budget


def _analyze(folder: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNSPIN_")}
    return subprocess.Popen(
        [sys.executable, "-m", "unspin.cli", "analyze", str(folder), "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_sigterm_stops_a_batch_at_once_and_a_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for k, row in enumerate(example_rows(40)):
        (folder / f"story{k:02d}.txt").write_text(row["text"], "utf-8")
    clean, stopped = tmp_path / "clean.jsonl", tmp_path / "stopped.jsonl"
    assert _analyze(folder, clean).wait(timeout=600) == 0

    proc = _analyze(folder, stopped)
    deadline = time.monotonic() + 300
    while _lines(stopped) < 3:
        assert proc.poll() is None, "it finished before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    budget = stop_budget()
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert time.monotonic() - sent < budget
    kept = _lines(stopped)
    assert 3 <= kept < 40
    assert f"keeps the {kept:,} analyses written by this run".encode() in err, err.decode()

    proc = _analyze(folder, stopped)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()
    assert f"skipped {kept}".encode() in err, err.decode()
    assert stopped.read_bytes() == clean.read_bytes()
