"""deepfit against the pipelines a user would write instead, on pictures, in one run on one machine.

    benchmarks/.venv/bin/python benchmarks/compare_images.py          # make benchmark-env first
    benchmarks/.venv/bin/python benchmarks/compare_images.py --quick  # fewer pictures, epochs, repeats
    benchmarks/.venv/bin/python benchmarks/compare_images.py --only digits

Every measurement runs in a fresh subprocess (benchmarks/peers_images.py: no tool inherits another's
imports or threads) and the tools run interleaved, so a slow minute of a shared machine hits them
alike; each result records the machine's load average before and after. Peers that are not
installed are reported as such. Results: printed, and written to benchmarks/results/images.json
(images-TASK.json with --only).

Tools (the same residual CNN, deepfit's `cnn_architecture`, in all three)
  deepfit           DeepClassifier: the training set as one tensor, augmentation in batches on the device
  torch_dataloader  a torchvision-style pipeline without torchvision: a Dataset that crops, flips and
                    normalises each picture in Python/NumPy, DataLoader(shuffle=True, num_workers=0), AdamW
  keras             Keras 3 on the torch backend, RandomTranslation/RandomFlip layers in the model, AdamW

Tasks
  throughput  training pictures/s on 8,000 random 32x32x3 uint8 pictures, 10 classes, batch 128,
              shift + flip augmentation, 2 epochs timed after a warm-up epoch (--quick: 2,048 pictures)
  digits      seconds of training until test accuracy >= 0.985 on scikit-learn's digits as 8x8 pictures
              (80/20 stratified split, random_state=0), each tool checking the test set after every
              epoch: deepfit with all its defaults; the peers with AdamW at 1e-3, their usual batch
              (64 for the DataLoader, Keras's 32), a 1-pixel shift and no flip (as deepfit picks), at
              most 100 epochs (--quick: 40)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TASKS = ["throughput", "digits"]
TOOLS = ["deepfit", "torch_dataloader", "keras"]
OPTIONS = {  # per task: (full run, --quick)
    "throughput": ({"pictures": 8000, "timed_epochs": 2}, {"pictures": 2048, "timed_epochs": 2}),
    "digits": ({"max_epochs": 100}, {"max_epochs": 40}),
}


def measure(task: str, tool: str, options: dict) -> dict:
    command = [sys.executable, str(HERE / "peers_images.py"), task, tool, json.dumps(options)]
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=3600, env=env)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "error": "timed out after 3600 s"}
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"tool": tool, "error": tail[:200]}
    return json.loads(lines[-1])


def summarise(results: list[dict]) -> dict:
    """Medians of the numbers over the repeats (a target never reached counts as missing); lists and
    text from the first run."""
    if "error" in results[0]:
        return {"error": results[0]["error"]}
    summary = {}
    for key, first in results[0].items():
        if key == "tool":
            continue
        if isinstance(first, (int, float)) or first is None:
            values = [run[key] for run in results if isinstance(run.get(key), (int, float))]
            summary[key] = statistics.median(values) if values else None
        else:
            summary[key] = first
    summary["repeats"] = len(results)
    return summary


def run_task(task: str, repeats: int, options: dict) -> dict:
    runs = {tool: [] for tool in TOOLS}
    for _ in range(repeats):
        for tool in TOOLS:  # interleaved: each repeat visits every tool
            if runs[tool] and "error" in runs[tool][0]:
                continue
            runs[tool].append(measure(task, tool, options))
            print(f"  {task:10s} {tool:17s} {json.dumps(runs[tool][-1])[:160]}", file=sys.stderr, flush=True)
    return {tool: summarise(results) for tool, results in runs.items()}


def load(row: dict) -> str:
    return f"load {row['load_before']:.1f}->{row['load_after']:.1f}" if row.get("load_before") is not None else ""


def print_report(results: dict) -> None:
    busy = sorted({f"{task}/{tool}" for task, rows in results.items() for tool, row in rows.items()
                   if max(row.get("load_before") or 0, row.get("load_after") or 0) > (os.cpu_count() or 1) + 0.5})
    if busy:  # each measurement itself keeps about torch's thread count busy; more means other work
        print(f"\nnote: the machine was busy beyond this benchmark's own threads (1-minute load average above "
              f"{os.cpu_count()} cores) during {', '.join(busy)}: those timings are not reliable")
    if "throughput" in results:
        rows = results["throughput"]
        ours = rows["deepfit"].get("pictures_per_second")
        first = next((row for row in rows.values() if "pictures" in row), {})
        print(f"\nthroughput: training pictures/s, {first.get('pictures')} random 32x32x3 uint8 pictures, batch 128, "
              f"shift+flip, over the epochs after a warm-up epoch (higher is better)")
        for tool, row in rows.items():
            if "error" in row:
                print(f"  {tool:17s} not measured: {row['error']}")
                continue
            rate = row["pictures_per_second"]
            versus = f"deepfit/this {ours / rate:5.2f}" if ours and tool != "deepfit" else ""
            print(f"  {tool:17s} {rate:8.1f} pictures/s  {versus:18s} {row.get('parameters'):,} parameters; "
                  f"augmentation: {row.get('augmentation')}  ({load(row)})")
    if "digits" in results:
        rows = results["digits"]
        ours = rows["deepfit"].get("seconds_to_target")
        print("\ndigits (8x8 pictures): seconds of training until test accuracy >= 0.985 (lower is better)")
        for tool, row in rows.items():
            if "error" in row:
                print(f"  {tool:17s} not measured: {row['error']}")
                continue
            seconds = row.get("seconds_to_target")
            shown = f"{seconds:7.2f} s" if seconds is not None else f"not reached in {row['seconds']:.1f} s"
            versus = f"{seconds / ours:5.2f}x deepfit's time" if seconds and ours and tool != "deepfit" else ""
            print(f"  {tool:17s} {shown:>24s}  epochs {row['epochs']:g} of at most {row.get('max_epochs')}, "
                  f"batch {row.get('batch_size')}, final accuracy {row['accuracy']:.4f}  {versus}  ({load(row)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one repeat instead of three, 2,048 pictures for throughput, at most 40 epochs for digits")
    parser.add_argument("--only", nargs="*", choices=TASKS)
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    chosen = args.only or TASKS
    results, settings = {}, {}
    for task in chosen:
        settings[task] = OPTIONS[task][args.quick]
        results[task] = run_task(task, repeats, settings[task])
    print_report(results)
    out = HERE / "results" / ("images.json" if not args.only else f"images-{'-'.join(chosen)}.json")
    out.parent.mkdir(exist_ok=True)
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    out.write_text(json.dumps({"quick": args.quick, "repeats": repeats, "settings": settings, "machine": machine,
                               **results}, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
