"""The server under load and abuse, bounded: 5,000 requests at concurrency 32 against the real
`deepfit serve`, malformed and oversized ones mixed in: every good request answered correctly, no 5xx,
and the server's memory flat (within 10% between the first and the last thousand requests)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pandas as pd
import pytest
from reliability import record
from sklearn.datasets import load_digits

import deepfit
from deepfit import DeepClassifier

REQUESTS, CONCURRENCY = 5000, 32


def resident_kilobytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@pytest.mark.slow
def test_five_thousand_requests_with_abuse_mixed_in(tmp_path):
    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X, columns=[f"p{i}" for i in range(64)])
    model = DeepClassifier(random_state=0, max_epochs=5).fit(frame, y)
    model.save(tmp_path / "digits.deepfit")
    expected = deepfit.load(tmp_path / "digits.deepfit").predict(frame)
    rows = json.loads(frame.to_json(orient="records"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "deepfit", "serve", str(tmp_path / "digits.deepfit"),
                               "--port", str(port), "--max-body-mb", "0.0625"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.2)
        outcome = asyncio.run(_hammer(url, rows, expected, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert outcome["wrong"] == [] and outcome["server_errors"] == [], outcome
    assert outcome["good"] >= 0.6 * REQUESTS and outcome["refused"] >= 0.25 * REQUESTS
    first, last = outcome["memory"]
    record("abuse", requests=REQUESTS, concurrency=CONCURRENCY, good=outcome["good"], refused=outcome["refused"],
           server_errors=len(outcome["server_errors"]), memory_growth_percent=round(100 * (last / first - 1), 1))
    assert last <= first * 1.10, f"resident memory grew from {first} kB to {last} kB"


async def _hammer(url: str, rows: list, expected: np.ndarray, pid: int) -> dict:
    rng = np.random.default_rng(0)
    kinds = rng.choice(["good", "malformed", "schema", "values", "oversized"], REQUESTS,
                       p=[0.65, 0.1, 0.1, 0.1, 0.05])
    huge = json.dumps({"rows": rows[:1] * 400}).encode()  # about 110 KB, over the 64 KB limit
    outcome = {"good": 0, "refused": 0, "wrong": [], "server_errors": [], "memory": []}
    queue = asyncio.Queue()
    for index, kind in enumerate(kinds):
        queue.put_nowait((index, kind))
    done = 0

    async def worker(client):
        nonlocal done
        while not queue.empty():
            index, kind = queue.get_nowait()
            row = index % len(rows)
            body = {"good": json.dumps({"rows": [rows[row]]}).encode(), "malformed": b'{"rows": [{"p0": ',
                    "schema": json.dumps({"rows": [{"p0": 1.0}]}).encode(),
                    "values": json.dumps({"rows": [{**rows[row], "p3": "many"}]}).encode(), "oversized": huge}[kind]
            try:
                answer = await client.post("/predict", content=body, headers={"content-type": "application/json"})
            except httpx.TransportError as error:
                outcome["server_errors"].append(f"{kind}: {type(error).__name__}")
                continue
            if answer.status_code >= 500:
                outcome["server_errors"].append(f"{kind}: {answer.status_code}")
            elif kind == "good":
                label = answer.json()["predictions"][0]["label"] if answer.status_code == 200 else None
                if label != expected[row]:
                    outcome["wrong"].append((row, answer.status_code, label))
                outcome["good"] += 1
            else:
                expected_status = {"malformed": 400, "schema": 422, "values": 422, "oversized": 413}[kind]
                if answer.status_code != expected_status:
                    outcome["wrong"].append((kind, answer.status_code))
                outcome["refused"] += 1
            done += 1
            if done in (1000, REQUESTS - 1000):
                outcome["memory"].append(resident_kilobytes(pid))

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    if len(outcome["memory"]) < 2:
        outcome["memory"].append(resident_kilobytes(pid))
    return outcome
