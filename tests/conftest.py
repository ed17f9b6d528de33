"""Tiny seeded data sets made in the tests, and helpers to run the real `deepfit` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split

from deepfit.training.callbacks import Callback

REPO = Path(__file__).resolve().parents[1]


class Crash(Callback):
    """Stops the process's training at a given optimizer step, as a crash would."""

    def __init__(self, step: int):
        self.step = step

    def on_batch_begin(self, state) -> None:
        if state.step == self.step:
            raise KeyboardInterrupt


@pytest.fixture(scope="session")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)


@pytest.fixture
def blobs():
    """Three well-separated classes, 150 rows, 4 features."""
    X, y = make_classification(150, 4, n_informative=3, n_redundant=0, n_classes=3, n_clusters_per_class=1,
                               class_sep=2.5, random_state=0)
    return X, y


def mixed_table(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical columns with gaps; the label depends on both kinds."""
    rng = np.random.default_rng(seed)
    size = rng.normal(10, 3, rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    weight = rng.normal(50, 10, rows)
    label = np.where((size > 10) ^ (colour == "red"), "keep", "drop")
    frame = pd.DataFrame({"size": size.round(2), "colour": colour, "weight": weight.round(1), "label": label})
    frame.loc[rng.choice(rows, 10, replace=False), "weight"] = np.nan
    frame.loc[rng.choice(rows, 5, replace=False), "colour"] = None
    return frame


@pytest.fixture(scope="session")
def digits_csv(tmp_path_factory) -> Path:
    """scikit-learn's digits as a CSV: 64 pixel columns and a label column."""
    X, y = load_digits(return_X_y=True)
    path = tmp_path_factory.mktemp("digits-csv") / "digits.csv"
    pd.DataFrame(X, columns=[f"p{i}" for i in range(64)]).assign(label=y).to_csv(path, index=False)
    return path


@pytest.fixture
def mixed_csv(tmp_path) -> Path:
    path = tmp_path / "animals.csv"
    mixed_table().to_csv(path, index=False)
    return path


def run_cli(*args, cwd=None, timeout=300, report: bool = False) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess, as a user would. `train` runs without its report
    (about a second each, over some 70 runs) unless `report`: tests/test_runs.py checks the report."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    extra = ["--no-report"] if args[:1] == ("train",) and not report and "--report" not in args else []
    return subprocess.run([sys.executable, "-m", "deepfit", *map(str, args), *extra], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


def write_digit_pictures(root: Path, *, digits=range(10), per_class: int = 20, size: int = 16, suffix: str = ".png",
                         colour: bool = False, offset: int = 0) -> Path:
    """scikit-learn's digits as picture files, one sub-folder per class (the ImageFolder layout)."""
    from PIL import Image

    images, labels = load_digits(return_X_y=False).images, load_digits().target
    for digit in digits:
        folder = root / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        for k, index in enumerate(np.flatnonzero(labels == digit)[offset:offset + per_class]):
            picture = Image.fromarray((images[index] * 255 / 16).round().astype(np.uint8), mode="L")
            picture = picture.resize((size, size), Image.Resampling.BILINEAR)
            if colour:
                picture = picture.convert("RGB")
            picture.save(folder / f"{digit}_{k}{suffix}")
    return root


@pytest.fixture(autouse=True)
def _private_decoded_cache(tmp_path_factory, monkeypatch):
    """Decoded-picture caches go to a folder of the test session, never the user's ~/.cache."""
    monkeypatch.setenv("DEEPFIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session's page tests (see tests/browser.py)."""
    from browser import start_chromium

    driver = start_chromium()
    yield driver
    driver.quit()
