"""Load test of ``unspin serve``: many clients posting 800-word articles at once.

    python benchmarks/server_load.py [--clients 50] [--seconds 60] [--requests N]
                                     [--workers N] [--rate R]

Starts the server as ``unspin serve`` runs it (same protocol and limits) in a subprocess on
127.0.0.1 (a free port), waits for /api/health, then runs ``--clients`` concurrent clients
(asyncio + httpx) that each post the article to ``POST /api/analyze`` until ``--seconds``
have passed (or ``--requests`` were sent), and prints what happened: requests accepted and
their latency percentiles, the share refused with 503 (the server sheds load it cannot
serve within ``UNSPIN_SERVER_QUEUE_SECONDS``; a client then waits the ``Retry-After`` it was
given, as a well-behaved client does), errors (no answer, or a 4xx), 5xx other than that
503, and the server's memory before and after. With ``--rate R`` the load is open-loop
instead: R new requests a second, at most ``--clients`` in flight.

Goal: 0 errors, 0 other 5xx, and p95 latency of accepted requests <= 1.5 s on 2 cores with
the real model: the installed one (or ``UNSPIN_MODEL_DIR``); without a model the benchmark
refuses to run, since its numbers would not be the server's. Exit status 1 when the goal
is missed.
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
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.articles import article_800_words  # noqa: E402

HOST = "127.0.0.1"  # never anything else: this is a local benchmark
SERVER = """
import sys
from unspin.server.app import serve

serve("127.0.0.1", int(sys.argv[1]))  # settings from UNSPIN_* variables, the installed model
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if workers:
        env["UNSPIN_SERVER_WORKERS"] = str(workers)
    return subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=ROOT, env=env)


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


def memory_mb(pid: int) -> dict[str, float | None]:
    """The process's resident memory now and at its peak, from /proc (Linux)."""
    found: dict[str, float | None] = {"rss_mb": None, "peak_rss_mb": None}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                name = "rss_mb" if key == "VmRSS" else "peak_rss_mb"
                found[name] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return found


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # of accepted (200) requests
    shed: int = 0  # 503 with Retry-After: refused at once, by design
    server_errors: Counter[str] = field(default_factory=Counter)  # other 5xx
    errors: Counter[str] = field(default_factory=Counter)  # no answer, or a 4xx

    @property
    def answered(self) -> int:
        return len(self.latencies) + self.shed + sum(self.server_errors.values())


async def run_load(
    base: str, body: dict[str, str], clients: int, seconds: float, max_requests: int,
    rate: float | None = None,
) -> tuple[Tally, float]:
    tally = Tally()
    sent = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(120.0)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:

        async def one() -> float:
            """Send one request; the seconds the server asked us to wait before the next."""
            started = time.perf_counter()
            try:
                response = await client.post("/api/analyze", json=body)
            except httpx.HTTPError as exc:
                tally.errors[type(exc).__name__] += 1
                return 0.0
            status = response.status_code
            if status == 200:
                tally.latencies.append(time.perf_counter() - started)
            elif status == 503 and "retry-after" in response.headers:
                tally.shed += 1
                return float(response.headers["retry-after"])
            elif status >= 500:
                tally.server_errors[f"HTTP {status}"] += 1
            else:
                tally.errors[f"HTTP {status}"] += 1
            return 0.0

        async def worker() -> None:  # closed loop: the next request once this one is answered
            nonlocal sent
            while time.monotonic() < deadline and (not max_requests or sent < max_requests):
                sent += 1
                pause = await one()
                if pause:
                    await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))

        began = time.monotonic()
        if rate is None:
            await asyncio.gather(*(worker() for _ in range(clients)))
        else:  # open loop: arrivals at a fixed rate, at most `clients` in flight
            tasks: set[asyncio.Task[float]] = set()
            while time.monotonic() < deadline and (not max_requests or sent < max_requests):
                if len(tasks) < clients:
                    sent += 1
                    task = asyncio.create_task(one())
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                else:
                    tally.errors["client limit reached (arrival skipped)"] += 1
                await asyncio.sleep(1.0 / rate)
            await asyncio.gather(*tasks)
        return tally, time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--requests", type=int, default=0, help="stop after this many (0: no cap)")
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
        before = memory_mb(process.pid)
        tally, elapsed = asyncio.run(
            run_load(base, {"text": text}, args.clients, args.seconds, args.requests, args.rate)
        )
        after = memory_mb(process.pid)
        health = httpx.get(base + "/api/health", timeout=5).json()
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()

    latencies = sorted(tally.latencies)
    accepted = len(latencies)
    errors = sum(tally.errors.values())
    server_errors = sum(tally.server_errors.values())
    p95 = percentile(latencies, 0.95)
    model = " ".join(x for x in (version.get("model_id"), version.get("model_version")) if x)
    result = {
        "model": model,
        "cpu_cores": os.cpu_count(),
        "clients": args.clients,
        "mode": f"open loop, {args.rate} requests/s" if args.rate else "closed loop",
        "seconds": round(elapsed, 2),
        "answered": tally.answered,
        "accepted": accepted,
        "accepted_per_second": round(accepted / elapsed, 2) if elapsed else 0.0,
        "shed_503": tally.shed,
        "shed_share": round(tally.shed / tally.answered, 3) if tally.answered else 0.0,
        "errors": errors,
        "error_kinds": dict(tally.errors),
        "other_5xx": server_errors,
        "other_5xx_kinds": dict(tally.server_errors),
        "accepted_latency_p50_s": round(percentile(latencies, 0.50), 3),
        "accepted_latency_p95_s": round(p95, 3),
        "accepted_latency_p99_s": round(percentile(latencies, 0.99), 3),
        "accepted_latency_mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
        "server_memory_before": before,
        "server_memory_after": after,
        "server_after": {k: health.get(k) for k in ("analyses_running", "analyses_queued")},
        "goal": f"0 errors, 0 other 5xx and p95 of accepted <= {args.p95_goal} s",
        "goal_met": errors == 0 and server_errors == 0 and p95 <= args.p95_goal,
    }
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["goal_met"] else 1)


if __name__ == "__main__":
    main()
