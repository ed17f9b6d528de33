"""The beginner's numbers: a neuron by hand, and the walkthrough example that prints them."""

import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO

from deepfit.models.neuron import binary_cross_entropy_of_weights, sigmoid, step, weighted_sum

POINTS = np.array([[2, 3], [1, 4], [-1, -3], [-4, -5]], dtype=float)
LABELS = np.array([1, 1, 0, 0])


def test_one_neuron_gives_the_textbook_numbers():
    z = weighted_sum([2, 3], [2, 3], bias=0.1)
    assert float(z) == 13.1
    assert int(step(z)) == 1
    assert float(sigmoid(z)) == 0.9999979547735586
    assert int(sigmoid(z) >= 0.5) == 1


def test_summed_cross_entropy_for_two_weight_choices():
    assert float(binary_cross_entropy_of_weights(POINTS, LABELS, [0, 0])) == 2.772588722239781
    assert float(binary_cross_entropy_of_weights(POINTS, LABELS, [1, -1])) == 7.802038737653159


def test_cross_entropy_matches_the_formula_written_out():
    weights = np.array([0.3, -0.2])
    p = 1 / (1 + np.exp(-(POINTS @ weights)))
    by_hand = -np.sum(LABELS * np.log(p) + (1 - LABELS) * np.log(1 - p))
    assert np.isclose(float(binary_cross_entropy_of_weights(POINTS, LABELS, weights)), by_hand, rtol=1e-12)


def test_step_is_one_at_zero_and_zero_below():
    assert step(torch.tensor([-0.1, 0.0, 0.1])).tolist() == [0, 1, 1]


@pytest.mark.slow
def test_walkthrough_prints_the_numbers_and_draws_the_boundary(tmp_path):
    png = tmp_path / "boundary.png"
    result = subprocess.run([sys.executable, str(REPO / "examples" / "perceptron_walkthrough.py"),
                             "--out", str(png)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in ("13.1", "step activation      = 1", "0.9999979547735586", "label (sigmoid >= 0.5) = 1",
                     "2.772588722239781", "7.802038737653159", "predictions [1, 1, 0, 0]"):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    accuracy = {name: float(re.search(rf"two moons, {name}: training accuracy ([0-9.]+)", out).group(1))
                for name in ("perceptron", "deep")}
    assert accuracy["deep"] > accuracy["perceptron"] + 0.1  # the curve fits what the line cannot
    for name in ("perceptron", "deep"):
        assert (tmp_path / f"boundary_moons_{name}.png").stat().st_size > 5000


def test_a_perceptrons_regions_are_split_by_a_line_and_a_deep_networks_by_a_curve():
    from sklearn.datasets import make_moons
    from sklearn.linear_model import LogisticRegression as LinearProbe

    from deepfit import DeepClassifier, Perceptron
    from deepfit.evaluation.plots import decision_regions

    X, y = make_moons(200, noise=0.15, random_state=0)
    straightness = {}
    for model in (Perceptron(random_state=0), DeepClassifier(random_state=0)):
        xs, ys, labels = decision_regions(model.fit(X, y), X, resolution=60)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        # How well one straight line reproduces the regions: all but grid-cell slivers for a line.
        straightness[type(model).__name__] = LinearProbe(C=1e4, max_iter=5000).fit(grid, labels.ravel()).score(
            grid, labels.ravel())
    assert straightness["Perceptron"] > 0.995 and straightness["DeepClassifier"] < 0.95
