"""What each layer learned: how far every hidden stage separates the classes, and a picture of it.

For the input and for each hidden stage, the examples' activations are projected to two dimensions
(principal components) and coloured by class; above each panel, the cross-validated accuracy of a
linear probe (logistic regression) on that layer's features: how well a straight-line classifier
separates the classes there. It grows from layer to layer as the network turns pixels into features
that the output layer can separate with straight lines.
"""

from __future__ import annotations

import warnings

import numpy as np

from deepfit.data import kinds
from deepfit.estimators.base import pool_rows
from deepfit.evaluation.plots import pyplot, save_figure


def linear_separation(features: np.ndarray, labels: np.ndarray, folds: int = 3) -> float:
    """Cross-validated accuracy of logistic regression on standardised `features` (a linear probe).

    >>> x = np.r_[np.zeros((6, 1)), np.ones((6, 1))] + np.arange(12)[:, None] * 0.01
    >>> linear_separation(x, np.r_[np.zeros(6), np.ones(6)])
    1.0
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    folds = int(min(folds, np.unique(labels, return_counts=True)[1].min()))
    if folds < 2:
        return float("nan")
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(probe, features, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=0))
    return float(scores.mean())


def layer_features(estimator, X) -> list[tuple[str, np.ndarray]]:
    """(name, activations) for the input and each hidden stage of a fitted DeepClassifier."""
    encoded, example_of_row = estimator._encoded_inputs(X)  # sound: a clip's windows are averaged
    named = [("input", pool_rows(encoded.reshape(len(encoded), -1), example_of_row).astype(np.float32))]
    convolutional = kinds.of(estimator).grid
    stage = "stage" if convolutional else "hidden layer"
    named += [(f"{stage} {i + 1}", features) for i, features in enumerate(estimator.stage_features(X))]
    if convolutional:  # what the output layer sees: the last stage averaged over the picture
        named.append(("features", estimator.transform(X)))
    return named


def plot_layer_projections(estimator, X, y, path, max_points: int = 2000) -> list[dict]:
    """Write a PNG with one 2-D projection per layer, coloured by class; returns each layer's separation."""
    from sklearn.decomposition import PCA

    y = np.asarray(y)
    rows = np.random.default_rng(0).permutation(len(y))[:max_points]
    named = layer_features(estimator, X[rows] if hasattr(X, "shape") else X.iloc[rows])
    y = y[rows]
    plt = pyplot()
    figure, axes = plt.subplots(1, len(named), figsize=(3.2 * len(named), 3.4), squeeze=False)
    results = []
    classes = np.unique(y)
    for axis, (name, features) in zip(axes[0], named):
        separation = linear_separation(features, y)
        results.append({"layer": name, "separation": round(separation, 4), "width": int(features.shape[1])})
        points = PCA(2, random_state=0).fit_transform(features.astype(np.float64)) if features.shape[1] > 2 \
            else np.column_stack([features, np.zeros((len(features), 2 - features.shape[1]))])
        for k, label in enumerate(classes):
            chosen = y == label
            axis.scatter(points[chosen, 0], points[chosen, 1], s=6, alpha=0.7, color=plt.cm.tab10(k % 10),
                         label=str(label))
        axis.set_title(f"{name} ({features.shape[1]} numbers)\nlinear probe accuracy {separation:.3f}", fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    if len(classes) <= 12:
        axes[0][-1].legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1.02, 0.5))
    save_figure(figure, path, dpi=110)
    return results
