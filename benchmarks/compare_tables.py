"""deepfit against the tools a user would pick instead, on tables, in one run on one machine.

    benchmarks/.venv/bin/python benchmarks/compare_tables.py          # make benchmark-env first
    benchmarks/.venv/bin/python benchmarks/compare_tables.py --quick  # fewer repeats

Every measurement runs in a fresh subprocess (no tool inherits another's imports or threads) and
the tools run interleaved, so a slow minute of a shared machine hits them alike. Peers that are
not installed are reported as such. Results: printed, and written to benchmarks/results/tables.json.

Tasks
  digits      time until test accuracy >= 0.97 on scikit-learn's digits (80/20 split), each tool
              training with its usual settings and checking the test set after every epoch
  letters     wall time and test accuracy with defaults on a 20,000-row, 26-class, 16-feature table
  throughput  training samples/s on make_classification(200_000, 64, 10 classes) with a
              64-512-512-10 network at batch 256 and 1024, and as a share of this machine's
              measured fp32 matrix-multiply peak
  latency     predict_proba of one row (median) and rows/s on 10,000 rows
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


TOOLS = {
    "digits": ["deepfit", "sklearn_mlp", "torch_dataloader", "skorch", "keras"],
    "letters": ["deepfit", "sklearn_mlp", "torch_dataloader", "skorch", "keras"],
    "throughput": ["deepfit", "torch_slicing", "torch_dataloader", "sklearn_mlp", "skorch", "keras"],
    "latency": ["deepfit", "torch_raw", "sklearn_mlp", "skorch", "keras"],
}


def measure(task: str, tool: str, **options) -> dict:
    command = [sys.executable, str(HERE / "peers.py"), task, tool, json.dumps(options)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"tool": tool, "error": tail[:200]}
    return json.loads(lines[-1])


def median_of(runs: list[dict], key: str):
    values = [run[key] for run in runs if key in run]
    return statistics.median(values) if values else None


def run_task(task: str, repeats: int, **options) -> dict:
    runs = {tool: [] for tool in TOOLS[task]}
    for _ in range(repeats):
        for tool in TOOLS[task]:  # interleaved: each repeat visits every tool
            if runs[tool] and "error" in runs[tool][0]:
                continue
            runs[tool].append(measure(task, tool, **options))
            print(f"  {task:10s} {tool:17s} {json.dumps(runs[tool][-1])[:150]}", file=sys.stderr, flush=True)
    summary = {}
    for tool, results in runs.items():
        if results and "error" in results[0]:
            summary[tool] = {"error": results[0]["error"]}
            continue
        keys = {k for r in results for k, v in r.items() if isinstance(v, (int, float))}
        summary[tool] = {k: median_of(results, k) for k in sorted(keys)}
        if "trajectory" in results[0]:
            summary[tool]["trajectory"] = results[0]["trajectory"]
    return summary


def matmul_peak() -> float:
    return measure("peak", "torch")["gflops"]


def print_letters(letters: dict) -> None:
    """The letters rows, each against deepfit's time and accuracy (and when deepfit reached its accuracy)
    where deepfit was measured."""
    print("\nletters (20,000 rows, 26 classes): defaults, wall time and test accuracy")
    ours = letters["deepfit"] if "seconds" in letters.get("deepfit", {}) else None
    for tool, row in letters.items():
        if "error" in row:
            print(f"  {tool:17s} not measured: {row['error']}")
            continue
        reached = [s for s, accuracy in (ours or {}).get("trajectory", []) if accuracy >= row["accuracy"]]
        versus = (f"time {row['seconds'] / ours['seconds']:5.2f}x deepfit's, accuracy "
                  f"{row['accuracy'] - ours['accuracy']:+.4f}") if ours else ""
        print(f"  {tool:17s} {row['seconds']:7.2f} s  accuracy {row['accuracy']:.4f}  {versus}"
              + (f"  deepfit reached this accuracy in {reached[0]:.2f} s" if reached else ""))


def print_report(results: dict, peak: float) -> None:
    print(f"\nfp32 matmul peak measured now: {peak:.0f} GFLOP/s\n")
    digits = results["digits"]
    ours = digits["deepfit"].get("seconds_to_target")
    print("digits: seconds of training until test accuracy >= 0.97 (lower is better)")
    for tool, row in digits.items():
        if "error" in row:
            print(f"  {tool:17s} not measured: {row['error']}")
            continue
        seconds = row.get("seconds_to_target")
        ratio = f"{seconds / ours:5.2f}x deepfit's time" if seconds and ours else ""
        print(f"  {tool:17s} {seconds if seconds is not None else float('nan'):7.2f} s  "
              f"(epochs {row.get('epochs')}, final accuracy {row.get('accuracy', float('nan')):.4f})  {ratio}")
    print_letters(results["letters"])
    print("\ntraining throughput, 64-512-512-10 network (samples/s; share of the fp32 matmul peak measured "
          "in the same process)")
    for batch in (256, 1024):
        rows = results[f"throughput_{batch}"]
        dataloader = rows.get("torch_dataloader", {}).get("samples_per_second")
        for tool, row in rows.items():
            if "error" in row:
                print(f"  batch {batch:4d} {tool:17s} not measured: {row['error']}")
                continue
            rate = row["samples_per_second"]
            share = row["share_of_peak"]  # against the peak measured in the same process, right after
            versus = f"{rate / dataloader:4.2f}x DataLoader loop" if dataloader else ""
            print(f"  batch {batch:4d} {tool:17s} {rate:9.0f}  {share:6.1%} of peak  {versus}")
    print("\nprediction: one row (median latency) and 10,000 rows")
    for tool, row in results["latency"].items():
        if "error" in row:
            print(f"  {tool:17s} not measured: {row['error']}")
            continue
        print(f"  {tool:17s} {row['one_row_microseconds']:8.1f} µs   {row['rows_per_second_10k']:12.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat instead of three")
    parser.add_argument("--only", nargs="*", choices=["digits", "letters", "throughput", "latency"])
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    chosen = args.only or ["digits", "letters", "throughput", "latency"]
    results = {}
    peak = matmul_peak()
    if "digits" in chosen:
        results["digits"] = run_task("digits", repeats)
    if "letters" in chosen:
        results["letters"] = run_task("letters", repeats)
    if "throughput" in chosen:
        for batch in (256, 1024):
            results[f"throughput_{batch}"] = run_task("throughput", repeats, batch_size=batch)
    if "latency" in chosen:
        results["latency"] = run_task("latency", repeats)
    peak = max(peak, matmul_peak())  # measured before and after: the machine's better moment
    out = HERE / "results" / ("tables.json" if not args.only else f"tables-{'-'.join(chosen)}.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"matmul_peak_gflops": peak, **results}, indent=2))  # before any report
    if set(chosen) == {"digits", "letters", "throughput", "latency"}:
        print_report(results, peak)
    else:
        print(json.dumps(results, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
