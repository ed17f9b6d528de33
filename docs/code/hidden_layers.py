"""Where a line is not enough: two interleaved half-moons, a perceptron against hidden layers."""
import os
from pathlib import Path

from sklearn.datasets import make_moons

from deepfit import DeepClassifier, Perceptron
from deepfit.evaluation.plots import plot_decision_regions

figures = Path(os.environ.get("FIGURES", "."))
X, y = make_moons(400, noise=0.15, random_state=0)
line = Perceptron(random_state=0).fit(X, y)
deep = DeepClassifier(hidden_layers=2, width=32, random_state=0).fit(X, y)
print(f"perceptron {line.score(X, y):.3f}, two hidden layers {deep.score(X, y):.3f}")
plot_decision_regions(line, X, y, figures / "moons_perceptron.png", title="a perceptron: one straight line")
plot_decision_regions(deep, X, y, figures / "moons_deep.png", title="two hidden layers: a curve")
