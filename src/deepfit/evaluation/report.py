"""Evaluate a fitted model on labelled data: the numbers, the plots a person looks at (training curves,
confusion matrix, reliability diagram) and the examples it got most confidently wrong.

>>> # evaluation = deepfit.evaluate(model, X_test, y_test)
>>> # evaluation.metrics["accuracy"], evaluation.mistakes(5), evaluation.write_report("report.html")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfit.evaluation.metrics import calibration_bins, classification_metrics

MISTAKES_SHOWN = 12
CALIBRATION_BINS = 15


@dataclass
class Evaluation:
    """What `evaluate` found. `metrics` is the dict `deepfit evaluate --json` prints."""

    metrics: dict
    classes: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    probabilities: np.ndarray | None
    inputs: object                     # the examples as given: a DataFrame, pictures, or Clips
    names: list[str]                   # what each example is called: its file, or its row
    history: list = field(default_factory=list)
    training: dict = field(default_factory=dict)
    encoder: object = None

    def mistakes(self, limit: int = MISTAKES_SHOWN) -> list[dict]:
        """The wrong predictions the model was surest of, surest first (fastai's top losses)."""
        wrong = np.flatnonzero(self.y_pred != self.y_true)
        if self.probabilities is None:
            order, confidence = wrong[:limit], np.full(len(self.y_true), np.nan)
        else:
            confidence = self.probabilities.max(axis=1)
            order = wrong[np.argsort(-confidence[wrong], kind="stable")][:limit]
        return [{"index": int(i), "name": self.names[i], "true": _plain(self.y_true[i]),
                 "predicted": _plain(self.y_pred[i]), "confidence": None if np.isnan(confidence[i])
                 else float(confidence[i]), "probability_of_true": self._probability_of_true(i)} for i in order]

    def calibration(self, bins: int = CALIBRATION_BINS) -> dict | None:
        """The reliability table (see `metrics.calibration_bins`), or None for a model without probabilities."""
        if self.probabilities is None or not set(np.unique(self.y_true)) <= set(self.classes):
            return None
        return calibration_bins(self.y_true, self.probabilities, self.classes, bins)

    # ------------------------------------------------------------------ plots
    def plot_history(self, path) -> Path:
        from deepfit.evaluation.report_plots import plot_history

        return plot_history(self.history, path)

    def plot_confusion(self, path) -> Path:
        from deepfit.evaluation.report_plots import plot_confusion

        return plot_confusion(self.metrics["confusion_matrix"], path)

    def plot_calibration(self, path) -> Path | None:
        from deepfit.evaluation.report_plots import plot_calibration

        table = self.calibration()
        return None if table is None else plot_calibration(table, self.metrics.get("expected_calibration_error"),
                                                           path)

    def write_report(self, path, title: str = "Evaluation") -> Path:
        """One self-contained HTML file (plots and examples embedded; opens offline), and beside it
        the same plots as PNG files named after it (report_training.png, report_confusion.png, ...)."""
        from deepfit.evaluation.report_html import write_report

        return write_report(self, Path(path), title)

    def _probability_of_true(self, i: int) -> float | None:
        if self.probabilities is None:
            return None
        where = np.flatnonzero(self.classes == self.y_true[i])
        return float(self.probabilities[i, where[0]]) if len(where) else 0.0


def evaluate(model, X, y, names=None) -> Evaluation:
    """Score `model` (a fitted estimator or a .deepfit path) on examples `X` with true labels `y`.

    `names` says what each example is called in the report (file paths, say); by default its row.
    """
    if isinstance(model, (str, Path)):
        from deepfit.modelfile import load

        model = load(model)
    classes = np.asarray(model.classes_)
    y_true = _as_model_labels(np.asarray(y), classes)
    if len(y_true) != len(X):
        from deepfit.errors import InvalidInputError

        raise InvalidInputError(f"X has {len(X)} examples but y has {len(y_true)} labels; give one label each.")
    if hasattr(model, "predict_proba"):
        probabilities = np.asarray(model.predict_proba(X), dtype=float)
        y_pred = classes[probabilities.argmax(axis=1)]
    else:
        probabilities, y_pred = None, np.asarray(model.predict(X))
    metrics = classification_metrics(y_true, y_pred, probabilities, classes)
    if names is None:
        index = getattr(X, "index", None)
        names = [f"row {label}" for label in index] if index is not None else [f"row {i}" for i in range(len(X))]
    return Evaluation(metrics, classes, y_true, y_pred, probabilities, X, [str(n) for n in names],
                      list(getattr(model, "history_", []) or []), dict(getattr(model, "training_summary_", {}) or {}),
                      getattr(model, "encoder_", None))


def _as_model_labels(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Read '3' as 3 when the model's classes are numbers, so a CSV's labels compare equal."""
    if classes.dtype.kind in "iuf" and labels.dtype.kind not in "iuf":
        try:
            return labels.astype(classes.dtype)
        except (TypeError, ValueError):
            return labels
    if classes.dtype.kind in "OU" and labels.dtype.kind not in "OU":
        return labels.astype(str).astype(object)  # vectorised, not a Python loop over rows
    return labels


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
