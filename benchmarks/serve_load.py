"""Load on `deepfit serve`: a bounded number of one-row requests at several concurrencies against the
real command on loopback, with request batching on (the default) and off (--max-batch 1).

    .venv/bin/python benchmarks/serve_load.py [--requests 2000] [--concurrency 1 8 32]

Reports p50/p99 latency, requests per second and errors (zero expected); results in
benchmarks/results/serve.json. Single-row latency of `predict_proba` in the Python API against
scikit-learn's MLPClassifier and Keras is `benchmarks/compare_tables.py --only latency`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from sklearn.datasets import load_digits

from deepfit import DeepClassifier

RESULTS = Path(__file__).parent / "results" / "serve.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model: Path, max_batch: int):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "deepfit", "serve", str(model), "--port", str(port),
                                "--max-batch", str(max_batch)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


async def load(url: str, rows: list, requests: int, concurrency: int) -> dict:
    latencies, errors = [], 0
    queue = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(rows[i % len(rows)])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def worker():
            nonlocal errors
            while not queue.empty():
                row = queue.get_nowait()
                started = time.perf_counter()
                try:
                    answer = await client.post("/predict", json={"rows": [row]})
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    milliseconds = np.array(latencies) * 1000
    return {"concurrency": concurrency, "requests": requests, "p50_ms": round(float(np.percentile(milliseconds, 50)), 2),
            "p99_ms": round(float(np.percentile(milliseconds, 99)), 2),
            "requests_per_second": round(requests / elapsed, 1), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    columns = [f"pixel{i}" for i in range(64)]
    import pandas as pd

    frame = pd.DataFrame(X, columns=columns)
    model = DeepClassifier(random_state=0).fit(frame, y)
    rows = json.loads(frame.iloc[:500].to_json(orient="records"))
    results = {"cpu_count": os.cpu_count(), "model": "digits DeepClassifier (64 columns, 10 classes)", "runs": []}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "digits.deepfit"
        model.save(path)
        for max_batch, label in [(256, "batching on"), (1, "batching off (--max-batch 1)")]:
            process, url = start_server(path, max_batch)
            try:
                asyncio.run(load(url, rows, 50, 4))  # warm-up
                for concurrency in args.concurrency:
                    row = asyncio.run(load(url, rows, args.requests, concurrency))
                    row["server"] = label
                    row["batches_so_far"] = httpx.get(f"{url}/health").json()["batches"]
                    results["runs"].append(row)
                    print(f"{label:<30} concurrency {concurrency:>3}: p50 {row['p50_ms']:7.2f} ms  p99 "
                          f"{row['p99_ms']:7.2f} ms  {row['requests_per_second']:8.1f} requests/s  errors "
                          f"{row['errors']}", flush=True)
            finally:
                process.terminate()
                process.wait(timeout=20)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
