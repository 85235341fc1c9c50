"""Load test of ``unspin serve``: many clients posting 800-word articles at once.

    python benchmarks/server_load.py [--clients 50] [--seconds 60] [--requests 500]
                                     [--workers N] [--fake-model]

Starts the server in a subprocess on 127.0.0.1 (a free port), waits for /api/health, then
runs ``--clients`` concurrent clients (asyncio + httpx) that each post the article to
``POST /api/analyze`` until ``--seconds`` have passed or ``--requests`` were sent, and
prints requests/s, latency percentiles and errors; then stops the server.

Goal: no errors at 50 concurrent clients and p95 latency <= 1.5 s on 2 cores with the real
model. Without an installed model the numbers measure the server alone (reading, checking,
JSON); ``--fake-model`` uses the phrase-matching stand-in model. Exit status 1 when any
request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never anything else: this is a local benchmark
SERVER = """
import sys
from unspin.config import load_settings
from unspin.server.app import create_app
import uvicorn

fake = sys.argv[2] == "fake"
model = "default"
if fake:
    from unspin.server.fake import PhraseModel
    model = PhraseModel()
app = create_app(load_settings(), model=model)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, server_header=False)
"""


def article_800_words() -> str:
    """Exactly 800 words in paragraphs, from the shipped examples (repeated as needed)."""
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int | None, fake: bool) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if workers:
        env["UNSPIN_SERVER_WORKERS"] = str(workers)
    return subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), "fake" if fake else "default"],
        cwd=ROOT,
        env=env,
    )


def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit("the server did not become healthy in time")


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


async def run_load(
    base: str, body: dict[str, str], clients: int, seconds: float, max_requests: int
) -> tuple[list[float], Counter[str], float]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    sent = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(120.0)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:

        async def worker() -> None:
            nonlocal sent
            while time.monotonic() < deadline and sent < max_requests:
                sent += 1
                started = time.perf_counter()
                try:
                    response = await client.post("/api/analyze", json=body)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                elapsed = time.perf_counter() - started
                if response.status_code == 200:
                    latencies.append(elapsed)
                else:
                    errors[f"HTTP {response.status_code}"] += 1

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return latencies, errors, time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None, help="UNSPIN_SERVER_WORKERS")
    parser.add_argument("--fake-model", action="store_true", help="use the stand-in model")
    parser.add_argument("--p95-goal", type=float, default=1.5)
    args = parser.parse_args()

    port = free_port()
    base = f"http://{HOST}:{port}"
    process = start_server(port, args.workers, args.fake_model)
    try:
        wait_healthy(base, process)
        version = httpx.get(base + "/api/version", timeout=5).json()
        text = article_800_words()
        warm = httpx.post(base + "/api/analyze", json={"text": text}, timeout=120)
        warm.raise_for_status()
        latencies, errors, elapsed = asyncio.run(
            run_load(base, {"text": text}, args.clients, args.seconds, args.requests)
        )
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()

    latencies.sort()
    done = len(latencies)
    failed = sum(errors.values())
    p95 = percentile(latencies, 0.95)
    model = " ".join(x for x in (version.get("model_id"), version.get("model_version")) if x)
    result = {
        "model": model or "none installed (server only)",
        "cpu_cores": os.cpu_count(),
        "clients": args.clients,
        "requests_ok": done,
        "errors": failed,
        "error_kinds": dict(errors),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(done / elapsed, 2) if elapsed else 0.0,
        "latency_p50_s": round(percentile(latencies, 0.50), 3),
        "latency_p95_s": round(p95, 3),
        "latency_p99_s": round(percentile(latencies, 0.99), 3),
        "latency_mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
        "goal": f"0 errors and p95 <= {args.p95_goal} s",
        "goal_met": failed == 0 and p95 <= args.p95_goal,
    }
    print(json.dumps(result, indent=2))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
