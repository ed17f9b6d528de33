"""The numbers a classifier is judged by, as one JSON-safe dict (the CLI prints it, --json emits it)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def classification_metrics(y_true, y_pred, probabilities=None, classes=None) -> dict:
    """Accuracy, balanced accuracy, macro-F1, log-loss, per-class scores and the confusion matrix.

    `probabilities` has one column per entry of `classes` (the model's classes, in order); labels in
    `y_true` the model never saw count as errors and appear in the confusion matrix.

    >>> m = classification_metrics(["a", "b", "b"], ["a", "b", "a"])
    >>> round(m["accuracy"], 3), m["confusion_matrix"]["matrix"]
    (0.667, [[1, 0], [1, 1]])
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = _sorted_labels(np.concatenate([np.unique(y_true), np.unique(y_pred)]))
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    result = {
        "n_samples": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            str(_plain(label)): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)},
        "confusion_matrix": {
            "labels": [_plain(label) for label in labels],
            "matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }
    if probabilities is not None and classes is not None and set(np.unique(y_true)) <= set(classes):
        result["log_loss"] = float(skm.log_loss(y_true, np.clip(probabilities, 1e-15, 1), labels=classes))
    return result


def format_report(result: dict) -> str:
    """The metrics as a person reads them: headline numbers, a per-class table, the confusion matrix."""
    lines = [f"accuracy           {result['accuracy']:.4f}  ({result['n_samples']} rows)",
             f"balanced accuracy  {result['balanced_accuracy']:.4f}",
             f"macro F1           {result['macro_f1']:.4f}"]
    if "log_loss" in result:
        lines.append(f"log-loss           {result['log_loss']:.4f}")
    names = list(result["per_class"])
    width = max(8, *(len(name) for name in names))
    lines += ["", f"{'class':>{width}}  precision  recall  f1-score  support"]
    for name, row in result["per_class"].items():
        lines.append(f"{name:>{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  {row['f1']:8.3f}  "
                     f"{row['support']:7d}")
    matrix = result["confusion_matrix"]["matrix"]
    cell = max(5, width, *(len(str(v)) for row in matrix for v in row))
    lines += ["", "confusion matrix (rows: true label, columns: predicted)",
              " " * (width + 2) + "".join(f"{name:>{cell + 1}}" for name in names)]
    for name, row in zip(names, matrix):
        lines.append(f"{name:>{width}}  " + "".join(f"{value:>{cell + 1}}" for value in row))
    return "\n".join(lines)


def _sorted_labels(values: np.ndarray) -> np.ndarray:
    unique = list(dict.fromkeys(values.tolist()))
    try:
        return np.array(sorted(unique), dtype=values.dtype)
    except TypeError:
        return np.array(sorted(unique, key=str), dtype=object)


def _plain(value):
    """numpy scalars to the Python values JSON knows."""
    return value.item() if isinstance(value, np.generic) else value
