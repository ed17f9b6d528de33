"""`deepfit compare`: deep vs shallow learning curves on the user's own data, in the API and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import mixed_table, run_cli

from deepfit.evaluation.compare import compare


@pytest.mark.slow
def test_every_model_is_scored_on_the_same_held_out_rows_at_growing_sizes():
    frame = mixed_table(rows=240)
    result = compare(frame.drop(columns=["label"]), frame["label"].to_numpy(), fractions=(0.25, 1.0), seed=0)
    models = {"deepfit", "logistic regression", "gradient boosting", "k-nearest neighbours"}
    assert {r["model"] for r in result.rows} == models and len(result.rows) == 8
    sizes = sorted({r["n_train"] for r in result.rows})
    assert sizes == [48, 192] and result.n_test == 48
    at_full = {r["model"]: r["accuracy"] for r in result.rows if r["fraction"] == 1.0}
    # The label is an XOR of a number and a category: no straight line separates it.
    assert at_full["deepfit"] > at_full["logistic regression"] + 0.1
    advice = result.advice()
    assert "logistic regression" in advice and "Held-out rows: 48" in advice


@pytest.mark.slow
def test_the_command_prints_json_and_draws_the_curves(tmp_path):
    path = tmp_path / "animals.csv"
    mixed_table(rows=200).to_csv(path, index=False)
    result = run_cli("compare", path, "--fractions", "0.5,1", "--json", "--plot", tmp_path / "curves.png")
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)
    assert len(table["rows"]) == 8 and {"fraction", "model", "accuracy", "fit_seconds"} <= set(table["rows"][0])
    assert np.all([0 <= r["accuracy"] <= 1 for r in table["rows"]]) and table["advice"].startswith(("Use", "deepfit"))
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    bad = run_cli("compare", path, "--fractions", "half")
    assert bad.returncode == 2 and "--fractions" in bad.stderr and "Traceback" not in bad.stderr
