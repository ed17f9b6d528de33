"""What the suite benchmarks share: one model's splits run in a subprocess with a time budget, and the
summary of its accuracies (compare_tables_suite.py, compare_picture_suite.py).

A worker prints one JSON line per split (``{"seed", "accuracy", "seconds"}``); a fit that runs past its
budget ends that model on that set, and the entry says so instead of dropping it.
"""

from __future__ import annotations

import json
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTUP_SECONDS = 30.0  # a worker's imports and data loading, on top of the first fit's budget


def run_worker(command: list[str], n_splits: int, budget: float, single_blas_thread: bool = False) -> dict:
    """Runs `command` (a worker) until it has printed `n_splits` results; a fit past `budget` seconds ends it."""
    env = dict(os.environ)
    if single_blas_thread:
        env["OPENBLAS_NUM_THREADS"] = "1"  # two BLAS threads fighting over two cores slow scikit-learn 25x
    errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed below) a file, not a pipe: a chatty peer cannot stall
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    splits, deadline, timed_out = [], time.monotonic() + budget + STARTUP_SECONDS, False
    while len(splits) < n_splits:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            timed_out = True
            break
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("{"):
            splits.append(json.loads(line))
            deadline = time.monotonic() + budget
    if timed_out:
        process.kill()
    process.wait()
    entry = {"splits": splits, "budget_seconds": budget}
    if timed_out:
        entry["ran_out_of_budget"] = f"a fit took over {budget:.0f} s after {len(splits)} of {n_splits} splits"
    elif len(splits) < n_splits:
        errors.seek(0)
        entry["error"] = (errors.read().strip().splitlines() or ["no output"])[-1][:300]
    errors.close()
    return entry


def summarise(entry: dict) -> dict | None:
    """Mean and standard deviation of the accuracies, mean fit seconds, number of splits; None without any."""
    accuracies = [s["accuracy"] for s in entry.get("splits", [])]
    if not accuracies:
        return None
    return {"mean": statistics.mean(accuracies), "sd": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
            "seconds": statistics.mean(s["seconds"] for s in entry["splits"]), "n": len(accuracies)}


def cell(entry: dict | None) -> str:
    """One table cell: "mean ±sd, seconds" with the number of splits when fewer than 5, or why there is none."""
    summary = summarise(entry) if entry else None
    if summary is None:
        return "out of budget" if entry and "ran_out_of_budget" in entry else "-"
    note = f" ({summary['n']} split{'s' * (summary['n'] > 1)})" if summary["n"] < 5 else ""
    note += "*" if "ran_out_of_budget" in entry else ""
    return f"{summary['mean']:.4f} ±{summary['sd']:.3f}, {summary['seconds']:.1f} s{note}"


def ablation_report(results: dict, unit: str) -> str:
    """Each variant of deepfit ("deepfit[...]") against the defaults on the same sets and seeds: mean
    accuracy, its change, mean fit time; `unit` names the sets in the last column ("tables", "sets")."""
    lines = [f"| deepfit | mean accuracy | change | mean fit time | {unit} |", "|---|---|---|---|---|"]
    default = results.get("deepfit", {})
    for variant in [m for m in results if m.startswith("deepfit[")]:
        pairs = []
        for name, entry in results[variant].items():
            seeds = {s["seed"]: s for s in default.get(name, {}).get("splits", [])}
            pairs += [(s, seeds[s["seed"]]) for s in entry.get("splits", []) if s["seed"] in seeds]
        if not pairs:
            continue
        ours = statistics.mean(p[0]["accuracy"] for p in pairs)
        base = statistics.mean(p[1]["accuracy"] for p in pairs)
        lines.append(f"| {variant[8:-1]} | {ours:.4f} | {100 * (ours - base):+.2f} points | "
                     f"{statistics.mean(p[0]['seconds'] for p in pairs):.1f} s "
                     f"(defaults {statistics.mean(p[1]['seconds'] for p in pairs):.1f} s) | {len(results[variant])} |")
    return "\n".join(lines)


def variants_report(results: dict, names: list[str]) -> str:
    """A results file that holds variants only (a --train-rows file: no peers, no plain defaults): each
    variant's cell on each set it ran, sets in `names`' order."""
    variants = [m for m in results if m.startswith("deepfit[")]
    ran = [name for name in names if any(name in results[v] for v in variants)]
    lines = ["| variant | " + " | ".join(ran) + " |", "|---" * (len(ran) + 1) + "|"]
    for variant in variants:
        lines.append(f"| {variant[8:-1]} | " + " | ".join(cell(results[variant].get(name)) for name in ran) + " |")
    return "\n".join(lines)


def planned_runs(args, ablation: dict) -> list[tuple[str, dict]]:
    """(model name, DeepClassifier parameters) to run: the ablation's variants, one --set variant, the
    --models, or none (--report-only)."""
    if args.ablation:
        return [(f"deepfit[{label}]", params) for label, params in ablation.items()]
    if args.set:
        return [("deepfit[" + ",".join(args.set) + "]",
                 {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)})]
    return [] if args.report_only else [(model, {}) for model in args.models]


def record(results: dict, path: Path, name: str, model: str, entry: dict) -> None:
    """Keep one model's entry for one set in `results`, say it on stderr, and write the results file (after
    every run, so a stopped benchmark keeps what it measured)."""
    results.setdefault(model, {})[name] = entry
    summary = summarise(entry)
    shown = f"{summary['mean']:.4f} ±{summary['sd']:.3f} {summary['seconds']:.2f} s" if summary else ""
    print(f"{name:16s} {model:40s} {shown} {entry.get('ran_out_of_budget', entry.get('error', ''))}",
          file=sys.stderr, flush=True)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
