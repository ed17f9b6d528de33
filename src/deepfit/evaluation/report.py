"""Evaluate a fitted model on labelled data: the numbers, the plots a person looks at (training curves,
confusion matrix, reliability diagram) and the examples it got most confidently wrong.

>>> # evaluation = deepfit.evaluate(model, X_test, y_test)
>>> # evaluation.metrics["accuracy"], evaluation.mistakes(5), evaluation.write_report("report.html")
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfit.data import kinds
from deepfit.errors import DataWarning, InvalidInputError, nearest
from deepfit.evaluation.attribution import heaviest, occlusion
from deepfit.evaluation.metrics import calibration_bins, classification_metrics
from deepfit.evaluation.report_html import write_report
from deepfit.evaluation.report_plots import plot_calibration, plot_confusion, plot_history
from deepfit.json_values import plain

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
    margins: np.ndarray | None = None  # distance from the boundary, for a model without probabilities
    weights: dict = field(default_factory=dict)  # index -> [((start, end), weight), ...] of a mistake's parts

    def mistakes(self, limit: int = MISTAKES_SHOWN) -> list[dict]:
        """The wrong predictions the model was surest of, surest first (fastai's top losses). A model
        without probabilities (the perceptron) is ranked by its margin, the distance from its boundary.
        A wrong text names the words that weighed most towards its wrong answer (``weighed``)."""
        wrong = np.flatnonzero(self.y_pred != self.y_true)
        sureness = self.probabilities.max(axis=1) if self.probabilities is not None else self.margins
        order = wrong if sureness is None else wrong[np.argsort(-sureness[wrong], kind="stable")]
        return [{"index": int(i), "name": self.names[i], "true": plain(self.y_true[i]),
                 "predicted": plain(self.y_pred[i]),
                 "confidence": None if self.probabilities is None else float(sureness[i]),
                 "margin": None if self.margins is None or self.probabilities is not None else float(self.margins[i]),
                 "probability_of_true": self._probability_of_true(i),
                 **({"weighed": heaviest(self.inputs[i], self.weights[i])} if i in self.weights else {})}
                for i in order[:limit]]

    def calibration(self, bins: int = CALIBRATION_BINS) -> dict | None:
        """The reliability table (see `metrics.calibration_bins`), or None for a model without probabilities."""
        if self.probabilities is None or not set(np.unique(self.y_true)) <= set(self.classes):
            return None
        return calibration_bins(self.y_true, self.probabilities, self.classes, bins)

    # ------------------------------------------------------------------ plots
    def plot_history(self, path) -> Path:
        return plot_history(self.history, path)

    def plot_confusion(self, path) -> Path:
        return plot_confusion(self.metrics["confusion_matrix"], path)

    def plot_calibration(self, path) -> Path | None:
        table = self.calibration()
        return None if table is None else plot_calibration(table, self.metrics.get("expected_calibration_error"),
                                                           path)

    def write_report(self, path, title: str = "Evaluation") -> Path:
        """One self-contained HTML file (plots and examples embedded; opens offline), and beside it
        the same plots as PNG files named after it (report_training.png, report_confusion.png, ...)."""
        return write_report(self, Path(path), title)

    def _probability_of_true(self, i: int) -> float | None:
        if self.probabilities is None:
            return None
        where = np.flatnonzero(self.classes == self.y_true[i])
        return float(self.probabilities[i, where[0]]) if len(where) else 0.0


def evaluate(model, X, y, names=None) -> Evaluation:
    """Score `model` (a fitted estimator or a .deepfit path) on examples `X` with true labels `y`.

    `names` says what each example is called in the report (file paths, say); by default its row,
    counted from 1 as in a spreadsheet.
    """
    if isinstance(model, (str, Path)):
        from deepfit.estimators import load

        model = load(model)
    classes = np.asarray(model.classes_)
    y_true = _as_model_labels(np.asarray(y), classes)
    if len(y_true) != len(X):
        raise InvalidInputError(f"X has {len(X)} examples but y has {len(y_true)} labels; give one label each.")
    _check_labels(y_true, classes)
    if hasattr(model, "predict_with_proba"):  # deepfit's: both from one pass of the network
        y_pred, probabilities = model.predict_with_proba(X)
    else:
        y_pred = model.predict(X)
        probabilities = model.predict_proba(X) if hasattr(model, "predict_proba") else None
    y_pred = np.asarray(y_pred)  # the model's own decision (a threshold other than 0.5 included)
    probabilities = None if probabilities is None else np.asarray(probabilities, dtype=float)
    margins = None
    if probabilities is None and hasattr(model, "decision_function"):
        scores = np.asarray(model.decision_function(X), dtype=float)
        margins = np.abs(scores) if scores.ndim == 1 else scores.max(axis=1)
    metrics = classification_metrics(y_true, y_pred, probabilities, classes)
    names = [f"row {i}" for i in range(1, len(y_true) + 1)] if names is None else [str(n) for n in names]
    if len(names) != len(y_true):
        raise InvalidInputError(f"got {len(names)} names for {len(y_true)} examples; give one name each.")
    evaluation = Evaluation(metrics, classes, y_true, y_pred, probabilities, X, names,
                            list(getattr(model, "history_", []) or []),
                            dict(getattr(model, "training_summary_", {}) or {}), getattr(model, "encoder_", None),
                            margins)
    evaluation.weights = _weigh_mistakes(model, evaluation)
    return evaluation


def _weigh_mistakes(model, evaluation: Evaluation) -> dict:
    """For the mistakes the report shows, the weight of each of their parts (a text's words) towards
    the wrong answer, by occlusion; empty where the kind has no parts or the model no probabilities."""
    if evaluation.probabilities is None or not hasattr(model, "encoder_") or not kinds.of(model).parts_named:
        return {}
    kind = kinds.of(model)
    shown = [m["index"] for m in evaluation.mistakes(kind.mistakes_shown)]
    predicted = [int(np.flatnonzero(evaluation.classes == evaluation.y_pred[i])[0]) for i in shown]
    return dict(zip(shown, occlusion(model, kind, [evaluation.inputs[i] for i in shown], predicted)))


def _check_labels(y_true: np.ndarray, classes: np.ndarray) -> None:
    """Labels the model never saw: refused when no label is one of its classes (every score would be
    0: a typo, or another spelling such as the census test file's '>50K.'), else a warning; each
    named with the class it looks like."""
    known = {str(c) for c in classes}
    found, counts = np.unique(y_true.astype(str), return_counts=True)
    unknown = [(str(label), int(count)) for label, count in zip(found, counts) if label not in known]
    if not unknown:
        return
    named = ", ".join(f"{label!r} ({count} rows" + (f", like {like!r}" if (like := nearest(label, known)) else "") + ")"
                      for label, count in unknown[:5])
    message = (f"labels the model was not trained on: {named}. The model's classes are "
               f"{', '.join(map(repr, sorted(known)[:10]))}; relabel the test data to match them.")
    if len(unknown) == len(found):
        raise InvalidInputError(f"none of the test labels is one of the model's classes, so every score would be "
                                f"0. The {message}")
    warnings.warn(f"{message[0].upper()}{message[1:]} Rows with them count as wrong.", DataWarning, stacklevel=3)


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
