"""Load test of ``unspin serve``: many clients posting 800-word articles at once.

    python benchmarks/server_load.py [--clients 50] [--seconds 60] [--requests 500]
                                     [--workers N] [--rate R]

Starts the server in a subprocess on 127.0.0.1 (a free port), waits for /api/health, then
runs ``--clients`` concurrent clients (asyncio + httpx) that each post the article to
``POST /api/analyze`` until ``--seconds`` have passed or ``--requests`` were sent, and
prints requests/s, latency percentiles and errors; then stops the server. With ``--rate R``
the load is open-loop instead: R new requests a second, at most ``--clients`` in flight,
which measures latency at a given load rather than at saturation.

Goal: no errors at 50 concurrent clients and p95 latency <= 1.5 s on 2 cores with the real
model: the installed one (or ``UNSPIN_MODEL_DIR``); without a model the benchmark refuses
to run, since its numbers would not be the server's. Exit status 1 when any request failed.
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
sys.path.insert(0, str(ROOT))
from benchmarks.articles import article_800_words  # noqa: E402

HOST = "127.0.0.1"  # never anything else: this is a local benchmark
SERVER = """
import sys
from unspin.server.app import create_app
import uvicorn

app = create_app()  # settings from UNSPIN_* variables, the installed model
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, server_header=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if workers:
        env["UNSPIN_SERVER_WORKERS"] = str(workers)
    return subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
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
    base: str, body: dict[str, str], clients: int, seconds: float, max_requests: int,
    rate: float | None = None,
) -> tuple[list[float], Counter[str], float]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    sent = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(120.0)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:

        async def one() -> None:
            started = time.perf_counter()
            try:
                response = await client.post("/api/analyze", json=body)
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                return
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors[f"HTTP {response.status_code}"] += 1

        async def worker() -> None:  # closed loop: the next request once this one is answered
            nonlocal sent
            while time.monotonic() < deadline and sent < max_requests:
                sent += 1
                await one()

        began = time.monotonic()
        if rate is None:
            await asyncio.gather(*(worker() for _ in range(clients)))
        else:  # open loop: arrivals at a fixed rate, at most `clients` in flight
            tasks: set[asyncio.Task[None]] = set()
            while time.monotonic() < deadline and sent < max_requests:
                if len(tasks) < clients:
                    sent += 1
                    task = asyncio.create_task(one())
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                else:
                    errors["client limit reached (arrival skipped)"] += 1
                await asyncio.sleep(1.0 / rate)
            await asyncio.gather(*tasks)
        return latencies, errors, time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None, help="UNSPIN_SERVER_WORKERS")
    parser.add_argument("--p95-goal", type=float, default=1.5)
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: new requests per second (default: closed loop, each "
                             "client sends its next request when the last one is answered)")
    args = parser.parse_args()

    port = free_port()
    base = f"http://{HOST}:{port}"
    process = start_server(port, args.workers)
    try:
        wait_healthy(base, process)
        version = httpx.get(base + "/api/version", timeout=5).json()
        if not version.get("model_id"):
            raise SystemExit("no model is installed: the load test measures the real model")
        text = article_800_words()
        warm = httpx.post(base + "/api/analyze", json={"text": text}, timeout=120)
        warm.raise_for_status()
        latencies, errors, elapsed = asyncio.run(
            run_load(base, {"text": text}, args.clients, args.seconds, args.requests, args.rate)
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
        "model": model,
        "cpu_cores": os.cpu_count(),
        "clients": args.clients,
        "mode": f"open loop, {args.rate} requests/s" if args.rate else "closed loop",
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
