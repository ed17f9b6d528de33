"""How long `deepfit.check_data` takes on a larger table and a larger picture set (2 cores here).

    .venv/bin/python benchmarks/check_speed.py

No peer is timed: cleanlab, the tool users would pick for mislabels, is not installed here.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits, make_classification

import deepfit


def timed(name: str, X, y) -> None:
    started = time.perf_counter()
    report = deepfit.check_data(X, y)
    found = ", ".join(f"{f.check} {len(f.items)}" for f in report.findings) or "nothing"
    print(f"{name:<40} {time.perf_counter() - started:6.1f} s   found: {found}")


def main() -> None:
    X, y = make_classification(50_000, 20, n_informative=10, n_classes=5, random_state=0)
    timed("table, 50,000 rows x 20 columns", pd.DataFrame(X), y)
    digits = load_digits()
    rng = np.random.default_rng(0)
    chosen = rng.integers(0, len(digits.target), 20_000)  # drawn with repeats: near copies by design
    pictures = (digits.images[chosen] * 16 + rng.normal(0, 8, (20_000, 8, 8))).clip(0, 255).astype(np.uint8)
    timed("pictures, 20,000 of 32x32", np.repeat(np.repeat(pictures, 4, 1), 4, 2), digits.target[chosen])


if __name__ == "__main__":
    main()
