"""The numbers a classifier is judged by, as one JSON-safe dict (the CLI prints it, --json emits it)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from deepfit.json_values import plain


def classification_metrics(y_true, y_pred, probabilities=None, classes=None) -> dict:
    """Accuracy, balanced accuracy, macro-F1; with probabilities log-loss, expected calibration error
    and (two classes) ROC AUC; per-class scores and the confusion matrix.

    `probabilities` has one column per entry of `classes` (the model's classes, in order); labels in
    `y_true` the model never saw count as errors and appear in the confusion matrix.

    >>> m = classification_metrics(["a", "b", "b"], ["a", "b", "a"])
    >>> round(m["accuracy"], 3), m["confusion_matrix"]["matrix"]
    (0.667, [[1, 0], [1, 1]])
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    known = [] if classes is None else [np.asarray(classes)]  # every class, even one absent from this split
    labels = _sorted_labels(np.concatenate([np.unique(y_true), np.unique(y_pred), *known]))
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    result = {
        "n_samples": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        # scikit-learn's balanced accuracy: the mean recall of the classes present (its own call warns when one is)
        "balanced_accuracy": float(np.mean(recall[support > 0])) if support.any() else 0.0,
        "macro_f1": float(skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            str(plain(label)): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)},
        "confusion_matrix": {
            "labels": [plain(label) for label in labels],
            "matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }
    if probabilities is not None and classes is not None and set(np.unique(y_true)) <= set(classes):
        probabilities = np.asarray(probabilities, dtype=float)
        result["log_loss"] = float(skm.log_loss(y_true, np.clip(probabilities, 1e-15, 1), labels=classes))
        result["expected_calibration_error"] = expected_calibration_error(y_true, probabilities, classes)
        if len(classes) == 2 and len(np.unique(y_true)) == 2:
            result["roc_auc"] = float(skm.roc_auc_score(y_true == classes[1], probabilities[:, 1]))
    return result


def expected_calibration_error(y_true, probabilities, classes, bins: int = 15) -> float:
    """How far confidence is from accuracy: examples binned by the probability of their predicted class,
    the gap between each bin's mean confidence and its accuracy, weighted by the bin's size.

    >>> classes = np.array([0, 1])
    >>> expected_calibration_error([1, 1, 1, 0], np.array([[0.25, 0.75]] * 4), classes)  # 75% sure, 75% right
    0.0
    >>> expected_calibration_error([0, 0, 0, 0], np.array([[0.01, 0.99]] * 4), classes)  # sure, and wrong
    0.99
    """
    table = calibration_bins(y_true, probabilities, classes, bins)
    count = np.asarray(table["count"], dtype=float)
    gaps = np.abs(np.nan_to_num(np.array(table["confidence"], dtype=float))
                  - np.nan_to_num(np.array(table["accuracy"], dtype=float)))
    return float(round((count * gaps).sum() / max(1.0, count.sum()), 12))


def calibration_bins(y_true, probabilities, classes, bins: int = 15) -> dict:
    """The reliability table: examples binned by their top probability; per bin the count, the mean
    confidence and the accuracy (None for an empty bin). A calibrated model has confidence = accuracy.

    >>> calibration_bins([1, 0], np.array([[0.2, 0.8], [0.3, 0.7]]), np.array([0, 1]), bins=2)["accuracy"]
    [None, 0.5]
    """
    probabilities = np.asarray(probabilities, dtype=float)
    confidence = probabilities.max(axis=1)
    correct = np.asarray(classes)[probabilities.argmax(axis=1)] == np.asarray(y_true)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    sums = np.bincount(which, confidence, bins), np.bincount(which, correct.astype(float), bins)
    mean = [[float(s / c) if c else None for s, c in zip(total, counts)] for total in sums]
    return {"edges": np.linspace(0, 1, bins + 1).round(6).tolist(), "count": counts.tolist(),
            "confidence": mean[0], "accuracy": mean[1]}


def format_report(result: dict) -> str:
    """The metrics as a person reads them: headline numbers, a per-class table, the confusion matrix."""
    lines = [f"accuracy           {result['accuracy']:.4f}  ({result['n_samples']} rows)",
             f"balanced accuracy  {result['balanced_accuracy']:.4f}",
             f"macro F1           {result['macro_f1']:.4f}"]
    if "log_loss" in result:
        lines.append(f"log-loss           {result['log_loss']:.4f}")
        lines.append(f"calibration error  {result['expected_calibration_error']:.4f}  (expected, 15 bins)")
    if "roc_auc" in result:
        lines.append(f"ROC AUC            {result['roc_auc']:.4f}")
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
