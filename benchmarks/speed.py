"""Speed of the shipped ONNX int8 path beside the fp32 torch path, on the same articles.

    python benchmarks/speed.py [--seconds 30] [--torch-weights runs/v1/best.pt]
    python benchmarks/speed.py --sizes      # long articles: peak RSS and seconds by size

For each path: cold start (a new process, from its start to the first analysis printed),
warm latency of a full analysis of an 800-word article (median of repeated runs),
throughput in articles/hour with one single-threaded worker process per core, and the
peak RSS of a worker. The torch path needs the ``train`` extra; without
``--torch-weights`` it runs the same architecture with the pretrained encoder weights,
which costs the same time.

``--sizes`` analyses one article of each size (1 KB, 800 words, 10 KB, 100 KB, 1 MB), each
in a new process, through ``unspin.analyze`` and the JSON writer, as ``unspin analyze``
does: its seconds (after a warm-up on a short article; under 50 KB the median of five),
seconds per 1,000 words, and the process's peak RSS; then 800 words and 100 KB interleaved
in one process, which compares their speed under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.articles import article_800_words, article_of_size  # noqa: E402
from unspin.ingest import from_text  # noqa: E402

MODEL_DIR = ROOT / "unspin" / "model" / "default"
DATA = ROOT.parent / "shared" / "data" / "semeval2023task3" / "data" / "en" / "train-articles-subtask-3"


def corpus(n: int) -> list[str]:
    """Real articles for throughput: the SemEval training articles when present."""
    if DATA.is_dir():
        texts = [p.read_text("utf-8") for p in sorted(DATA.glob("article*.txt"))[:n]]
        if texts:
            return texts
    return [article_800_words()] * n


# -- the two paths, as small programs run in fresh processes ------------------------------
ONNX_PROGRAM = """
import sys, json, time
t0 = float(sys.argv[1])
from unspin.ingest import from_text
from unspin.model.runtime import OnnxModel
import os
m = OnnxModel(sys.argv[2])
texts = json.load(open(sys.argv[3]))
r = m.analyze(from_text(texts[0]))
print(json.dumps({"first": time.time() - t0}), flush=True)
"""

TORCH_PROGRAM = """
import sys, json, time
t0 = float(sys.argv[1])
sys.path.insert(0, sys.argv[5])
from benchmarks.torch_path import TorchModel
from unspin.ingest import from_text
m = TorchModel(sys.argv[2], sys.argv[4] or None)
texts = json.load(open(sys.argv[3]))
r = m.analyze(from_text(texts[0]))
print(json.dumps({"first": time.time() - t0}), flush=True)
"""

WORKER_PROGRAM = """
import sys, json, time, resource, os
kind, model_dir, texts_file, weights, root, seconds = sys.argv[1:7]
sys.path.insert(0, root)
from unspin.ingest import from_text
if kind == "onnx":
    from unspin.model.runtime import OnnxModel
    m = OnnxModel(model_dir, threads=1)
else:
    import torch
    torch.set_num_threads(1)
    from benchmarks.torch_path import TorchModel
    m = TorchModel(model_dir, weights or None)
arts = [from_text(t) for t in json.load(open(texts_file))]
m.analyze(arts[0])
n, t0 = 0, time.time()
while time.time() - t0 < float(seconds):
    m.analyze(arts[n % len(arts)])
    n += 1
print(json.dumps({"n": n, "seconds": time.time() - t0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


SIZE_PROGRAM = """
import sys, json, time, resource, statistics
from unspin import analyze
from unspin.analyze import installed_model
from unspin.config import Settings
from unspin.report.jsonio import dumps_analysis
settings = Settings()
model = installed_model(settings)
analyze(open(sys.argv[2]).read(), model=model, settings=settings)  # warm-up: a short article
text = open(sys.argv[1]).read()
times = []
for _ in range(5 if len(text) < 50_000 else 1):  # short articles: the median of five
    t0 = time.perf_counter()
    out = dumps_analysis(analyze(text, model=model, settings=settings))
    times.append(time.perf_counter() - t0)
print(json.dumps({"seconds": statistics.median(times), "words": len(text.split()), "chars": len(text),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
PAIRED_PROGRAM = """
import sys, json, time, statistics
from unspin import analyze
from unspin.analyze import installed_model
from unspin.config import Settings
from benchmarks.articles import article_800_words, article_of_size
settings = Settings()
model = installed_model(settings)
short, long = article_800_words(), article_of_size(100_000)
analyze(short, model=model, settings=settings)
rates = {"800 words": [], "100 KB": []}
for _ in range(3):  # three rounds of three short, one long: the two see the same load
    for name, text in [("800 words", short)] * 3 + [("100 KB", long)]:
        t0 = time.perf_counter()
        analyze(text, model=model, settings=settings)
        rates[name].append((time.perf_counter() - t0) * 1000 / len(text.split()))
print(json.dumps({k: statistics.median(v) for k, v in rates.items()}))
"""
SIZES = [("1 KB", 1_000), ("800 words", 0), ("10 KB", 10_000), ("100 KB", 100_000), ("1 MB", 999_000)]


def by_size(env: dict[str, str]) -> None:
    """Peak RSS and seconds for one article of each size, each in a new process."""
    print("size        chars      words   seconds  s/1,000 words  peak RSS, MB")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.txt"
        warm.write_text(article_of_size(1_000))
        for name, chars in SIZES:
            path = Path(tmp) / "article.txt"
            path.write_text(article_of_size(chars) if chars else article_800_words())
            r = run_json([sys.executable, "-c", SIZE_PROGRAM, str(path), str(warm)], env)
            print(f"{name:<10}{r['chars']:>9,}{r['words']:>11,}{r['seconds']:>10.2f}"
                  f"{1000 * r['seconds'] / r['words']:>15.3f}{r['rss_mb']:>14.0f}", flush=True)
    # Each size ran in its own process, at its own moment: on a shared machine the load moves
    # seconds more than length does. Interleaved in one process, the two see the same load.
    r = run_json([sys.executable, "-c", PAIRED_PROGRAM], env)
    print("seconds per 1,000 words, interleaved in one process (medians): "
          + ", ".join(f"{k} {v:.3f}" for k, v in r.items()) + f" ({r['100 KB'] / r['800 words'] - 1:+.0%})")


def run_json(args: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_start(kind: str, texts_file: str, weights: str, env: dict[str, str]) -> float:
    times = []
    for _ in range(3):
        t0 = time.time()
        prog = ONNX_PROGRAM if kind == "onnx" else TORCH_PROGRAM
        run_json([sys.executable, "-c", prog, str(t0), str(MODEL_DIR), texts_file, weights, str(ROOT)], env)
        times.append(time.time() - t0)
    return statistics.median(times)


def cli_cold_start(path: str, env: dict[str, str]) -> float:
    times = []
    exe = Path(sys.executable).with_name("unspin")
    for _ in range(3):
        t0 = time.time()
        subprocess.run([str(exe), "analyze", path, "--format", "json"], capture_output=True, env=env, check=True)
        times.append(time.time() - t0)
    return statistics.median(times)


def warm_latency(kind: str, text: str, weights: str, repeats: int) -> float:
    if kind == "onnx":
        from unspin.model.runtime import OnnxModel

        model = OnnxModel(MODEL_DIR)
    else:
        from benchmarks.torch_path import TorchModel

        model = TorchModel(MODEL_DIR, weights or None)
    art = from_text(text)
    model.analyze(art)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.analyze(art)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def throughput(kind: str, texts_file: str, weights: str, seconds: float, env: dict[str, str]) -> tuple[float, float]:
    cores = os.cpu_count() or 1
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER_PROGRAM, kind, str(MODEL_DIR), texts_file, weights,
                          str(ROOT), str(seconds)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        for _ in range(cores)
    ]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    per_hour = sum(r["n"] / r["seconds"] for r in results) * 3600
    return per_hour, max(r["rss_mb"] for r in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each throughput run")
    ap.add_argument("--repeats", type=int, default=20, help="warm-latency repetitions")
    ap.add_argument("--torch-weights", default="", help="trained weights (best.pt) for the torch path")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--sizes", action="store_true", help="only the long-article table (RSS and seconds by size)")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if args.sizes:
        by_size(env)
        return
    text = article_800_words()
    texts = corpus(200)
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "first.json"
        first.write_text(json.dumps([text]))
        many = Path(tmp) / "many.json"
        many.write_text(json.dumps(texts))
        art = Path(tmp) / "article.txt"
        art.write_text(text)
        words = sum(len(t.split()) for t in texts) / len(texts)
        print(f"machine: {os.cpu_count()} cores; warm article: {len(text.split())} words; "
              f"throughput corpus: {len(texts)} articles, {words:.0f} words on average")
        kinds = ["onnx"] + ([] if args.skip_torch else ["torch"])
        rows = {}
        for kind in kinds:
            try:
                rows[kind] = {
                    "cold start, s": cold_start(kind, str(first), args.torch_weights, env),
                    "warm 800 words, s": warm_latency(kind, text, args.torch_weights, args.repeats),
                    **dict(zip(["articles/hour", "peak RSS, MB"],
                               throughput(kind, str(many), args.torch_weights, args.seconds, env), strict=True)),
                }
            except (ImportError, RuntimeError) as err:
                print(f"{kind}: skipped ({str(err).strip().splitlines()[-1]})")
        cli = cli_cold_start(str(art), env)
    name = {"onnx": "ONNX int8 (shipped)", "torch": "torch fp32"}
    print("\n" + "".ljust(22) + "".join(name[k].rjust(22) for k in rows))
    for metric in ["cold start, s", "warm 800 words, s", "articles/hour", "peak RSS, MB"]:
        print(metric.ljust(22) + "".join(
            (f"{rows[k][metric]:,.0f}" if metric == "articles/hour" else f"{rows[k][metric]:.3f}").rjust(22)
            for k in rows))
    print(f"\n`unspin analyze` CLI cold start (process start to JSON written): {cli:.3f} s")


if __name__ == "__main__":
    main()
