"""Plots a learner looks at; written to PNG files with matplotlib's file-only backend."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from deepfit.atomic import write_atomically
from deepfit.errors import InvalidInputError


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: works without a screen
    matplotlib.rcParams["text.parse_math"] = False  # a class named "$5-$10" is text, not a formula
    import matplotlib.pyplot as plt

    return plt


def plain_numbers(axis) -> None:
    """Tick labels of a log-scaled `axis` as plain numbers (0.01, 0.1, 1): with formulas off (above),
    matplotlib's own labels would show as their source, ``$\\mathdefault{10^{0}}$``."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def plot_linear_boundary(X, y, weights, bias: float, path, title: str = "decision boundary") -> Path:
    """Two-feature points coloured by label, and the line w1·x1 + w2·x2 + b = 0 between them."""
    plt = pyplot()
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    w1, w2 = float(weights[0]), float(weights[1])
    figure, axes = plt.subplots(figsize=(5, 5))
    for label, marker in zip(np.unique(y), "o^sDv"):
        chosen = y == label
        axes.scatter(X[chosen, 0], X[chosen, 1], marker=marker, s=60, label=f"label {label}")
    low, high = X.min(axis=0) - 1, X.max(axis=0) + 1
    if abs(w2) > 1e-12:
        xs = np.linspace(low[0], high[0], 100)
        equation = f"{w1:.2f}·x1 {_signed(w2)}·x2 {_signed(bias)} = 0"
        axes.plot(xs, -(w1 * xs + bias) / w2, "k-", label=equation)
    else:
        axes.axvline(-bias / w1 if abs(w1) > 1e-12 else 0.0, color="k", label="boundary")
    axes.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), xlabel="x1", ylabel="x2", title=title)
    axes.legend(loc="best", fontsize=8)
    return save_figure(figure, path)


def decision_regions(estimator, X, resolution: int = 200, margin: float = 0.1):
    """(xs, ys, labels): the class a fitted two-feature estimator predicts at every point of a grid
    covering `X` (plus `margin` of its range on each side) -- the regions its boundary separates."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise InvalidInputError(f"decision regions are drawn for two features; got {X.shape[-1]} columns. "
                                "Pick two columns, or project the data to two dimensions first.")
    low, high = X.min(axis=0), X.max(axis=0)
    pad = (high - low) * margin + 1e-9
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    return xs, ys, estimator.predict(grid).reshape(resolution, resolution)


def plot_decision_regions(estimator, X, y, path, title: str = "decision regions") -> Path:
    """The regions a fitted two-feature classifier assigns to each class, the boundary between them
    (straight for a perceptron or logistic regression, curved for a deep network) and the points."""
    plt = pyplot()
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    xs, ys, labels = decision_regions(estimator, X)
    classes = np.asarray(estimator.classes_)  # sorted, as every deepfit and scikit-learn classifier keeps them
    index = np.searchsorted(classes, labels)
    figure, axes = plt.subplots(figsize=(5.5, 5))
    colours = plt.get_cmap("tab10")
    axes.contourf(xs, ys, index, levels=np.arange(len(classes) + 1) - 0.5, colors=[colours(i) for i in
                  range(len(classes))], alpha=0.25)
    axes.contour(xs, ys, index, levels=np.arange(len(classes)) + 0.5, colors="k", linewidths=1.2)
    for i, label in enumerate(classes):
        chosen = y == label
        axes.scatter(X[chosen, 0], X[chosen, 1], s=18, color=colours(i), edgecolors="k", linewidths=0.4,
                     label=f"{label}")
    axes.set(xlabel="x1", ylabel="x2", title=title)
    axes.legend(loc="best", fontsize=8, title="class")
    return save_figure(figure, path)


def save_figure(figure, path, dpi: int = 100) -> Path:
    """Lay out, write `figure` as a PNG atomically (a failed write leaves any earlier file) and close it."""
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    pyplot().close(figure)
    return write_atomically(Path(path), buffer.getvalue())


def _signed(value: float) -> str:
    return f"+ {value:.2f}" if value >= 0 else f"- {-value:.2f}"
