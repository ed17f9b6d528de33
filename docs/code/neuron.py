"""A neuron by hand, then the perceptron learning its weights."""
import os
from pathlib import Path

import numpy as np

from deepfit import Perceptron
from deepfit.evaluation.plots import plot_linear_boundary
from deepfit.models.neuron import step, weighted_sum

figures = Path(os.environ.get("FIGURES", "."))

# One neuron: inputs [2, 3], weights [2, 3], bias 0.1. Weighted sum, then the step.
z = weighted_sum([2, 3], [2, 3], bias=0.1)
print(f"weighted sum w·x + b = {float(z):.1f}, step = {int(step(z))}")

# Four labelled points; the perceptron rule moves the line until every point is on its side.
X = np.array([[2, 3], [1, 4], [-1, -3], [-4, -5]], dtype=float)
y = np.array([1, 1, 0, 0])
perceptron = Perceptron(batch_size=1, standardize=False, random_state=0).fit(X, y)
w, b = perceptron.coef_[0], float(perceptron.intercept_[0])
print(f"learned w = {w.tolist()}, b = {b}; predictions {perceptron.predict(X).tolist()} for labels {y.tolist()}")
plot_linear_boundary(X, y, w, b, figures / "neuron_boundary.png", title="the perceptron's line")
