"""The numbers `deepfit evaluate` reports, against scikit-learn's own and against what they mean."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from deepfit.evaluation.metrics import classification_metrics, expected_calibration_error


def test_calibration_error_is_small_for_honest_probabilities_and_large_for_overconfident_ones():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20_000)
    right = rng.random(20_000) < confidence  # right exactly as often as it claims
    y_true = np.where(right, 1, 0)
    honest = np.stack([1 - confidence, confidence], axis=1)
    assert expected_calibration_error(y_true, honest, np.array([0, 1])) < 0.02
    overconfident = np.stack([np.full(20_000, 0.01), np.full(20_000, 0.99)], axis=1)
    assert abs(expected_calibration_error(y_true, overconfident, np.array([0, 1])) - (0.99 - right.mean())) < 1e-9


def test_roc_auc_is_scikit_learns_for_two_classes_and_absent_for_more():
    rng = np.random.default_rng(1)
    y_true = rng.choice(["cat", "dog"], 300)
    scores = np.clip(0.5 + 0.3 * (y_true == "dog") + rng.normal(0, 0.25, 300), 0, 1)
    probabilities = np.stack([1 - scores, scores], axis=1)
    predicted = np.where(scores >= 0.5, "dog", "cat")
    result = classification_metrics(y_true, predicted, probabilities, np.array(["cat", "dog"]))
    assert result["roc_auc"] == roc_auc_score(y_true == "dog", scores)
    three = classification_metrics([0, 1, 2], [0, 1, 1], np.eye(3)[[0, 1, 1]], np.array([0, 1, 2]))
    assert "roc_auc" not in three and three["expected_calibration_error"] == round(1 / 3, 12)
