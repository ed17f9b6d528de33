"""The perceptron and logistic regression, by hand and then trained: the textbook's numbers.

Run:  python examples/perceptron_walkthrough.py [--out perceptron_boundary.png]

Then, where a straight line is not enough (two interleaved half-moons), the perceptron's regions
beside a deep network's curved ones: <out>_moons_perceptron.png and <out>_moons_deep.png.
"""

import argparse

import numpy as np

from pathlib import Path

from sklearn.datasets import make_moons

from deepfit import DeepClassifier, LogisticRegression, Perceptron
from deepfit.evaluation.plots import plot_decision_regions, plot_linear_boundary
from deepfit.models.neuron import binary_cross_entropy_of_weights, sigmoid, step, weighted_sum

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="perceptron_boundary.png", help="where to save the boundary plot")
args = parser.parse_args()

# One neuron: input [2, 3], weights [2, 3], bias 0.1.
z = weighted_sum([2, 3], [2, 3], bias=0.1)
print(f"weighted sum w·x + b = {float(z):.1f}")
print(f"step activation      = {int(step(z))}")
print(f"sigmoid activation   = {float(sigmoid(z))!r}")
print(f"label (sigmoid >= 0.5) = {int(sigmoid(z) >= 0.5)}")

# Four labelled points; how wrong are two choices of weights (bias 0)?
X = np.array([[2, 3], [1, 4], [-1, -3], [-4, -5]], dtype=float)
y = np.array([1, 1, 0, 0])
for weights in ([0, 0], [1, -1]):
    loss = binary_cross_entropy_of_weights(X, y, weights, bias=0.0)
    print(f"summed binary cross-entropy with weights {weights}: {float(loss)!r}")

# Let the perceptron learning rule find weights that separate the points.
perceptron = Perceptron(batch_size=1, standardize=False, random_state=0).fit(X, y)  # the rule exactly as by hand
w, b = perceptron.coef_[0], float(perceptron.intercept_[0])
print(f"perceptron learned w = {w.tolist()}, b = {b} in {perceptron.n_iter_} epoch(s); "
      f"predictions {perceptron.predict(X).tolist()} for labels {y.tolist()}")

# Logistic regression on the same points: probabilities instead of a hard step.
logistic = LogisticRegression(random_state=0).fit(X, y)
print(f"logistic regression P(label 1) = {np.round(logistic.predict_proba(X)[:, 1], 3).tolist()}")

path = plot_linear_boundary(X, y, w, b, args.out, title="perceptron decision boundary")
print(f"boundary plot written to {path}")

# Where a straight line is not enough: two interleaved half-moons.
moons_X, moons_y = make_moons(200, noise=0.15, random_state=0)
out = Path(args.out)
for name, model in (("perceptron", Perceptron(random_state=0)), ("deep", DeepClassifier(random_state=0))):
    model.fit(moons_X, moons_y)
    shape = "a straight line" if name == "perceptron" else "a curved boundary"
    regions = plot_decision_regions(model, moons_X, moons_y, out.with_name(f"{out.stem}_moons_{name}.png"),
                                    title=f"{name}: {shape}")
    print(f"two moons, {name}: training accuracy {model.score(moons_X, moons_y):.3f} with {shape}; "
          f"regions drawn to {regions}")
