"""Training throughput (samples/s) of `deepfit train` on N processes against one process.

    .venv/bin/python benchmarks/distributed_scaling.py                      # 1 and 2 processes (CPU here)
    .venv/bin/python benchmarks/distributed_scaling.py --processes 1 2 4 8  # on a machine with 8 GPUs

Each run is the real command line (`deepfit train DATA --devices N`); samples/s counts the training
rows of every epoch over the seconds training took (from metrics.json: start-up, reading and the
test split not included; the wall time with them is printed too). The same effective batch is used
for every N (deepfit's rule: N processes take the steps one would), and once more at 4x the batch,
the lever for throughput on more devices.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

RESULTS = Path(__file__).parent / "results" / "distributed.json"


def table(folder: Path, rows: int) -> Path:
    X, y = make_classification(rows, 64, n_informative=24, n_classes=10, random_state=0)
    path = folder / "table.csv"
    pd.DataFrame(X.astype(np.float32), columns=[f"x{i}" for i in range(64)]).assign(label=y).to_csv(path, index=False)
    return path


def pictures(folder: Path, count: int) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    root = folder / "pictures"
    for index in range(count):
        label = index % 4
        pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        pixels[label * 8:(label + 1) * 8] //= 4  # a darker band where the class is
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / str(label) / f"{index}.png")
    return root


def run(data: Path, out: Path, processes: int, options: list[str]) -> dict:
    command = [sys.executable, "-m", "deepfit", "train", str(data), "--out", str(out), "--quiet", "--overwrite",
               *options, *(["--devices", str(processes)] if processes > 1 else [])]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    training = json.loads((out / "metrics.json").read_text())["training"]
    return {"processes": processes, "seconds": training["seconds"], "wall_seconds": round(wall, 1),
            "samples_per_second": round(training["n_train"] * training["epochs"] / training["seconds"]),
            "batch_size": training["batch_size"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--pictures", type=int, default=2_000)
    arguments = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        jobs = [("table", table(folder, arguments.rows), ["--max-epochs", "3"], [512, 2048]),
                ("pictures", pictures(folder, arguments.pictures), ["--max-epochs", "2", "--augment", "none"], [128, 512])]
        for name, data, options, batches in jobs:
            for batch in batches:
                baseline = None
                for processes in arguments.processes:
                    row = run(data, folder / f"{name}-{processes}", processes, [*options, "--batch-size", str(batch)])
                    baseline = baseline or row["samples_per_second"]
                    row.update(data=name, ratio=round(row["samples_per_second"] / baseline, 2))
                    results.append(row)
                    print(f"{name:<9} batch {batch:>5}  {processes} process(es): {row['samples_per_second']:>8} "
                          f"samples/s  x{row['ratio']:.2f}   (training {row['seconds']:.1f} s, "
                          f"wall {row['wall_seconds']:.1f} s)", flush=True)
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    RESULTS.write_text(json.dumps({"device": device, "results": results}, indent=1) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
