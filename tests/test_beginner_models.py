"""Perceptron and LogisticRegression: real, trainable, and checked against scikit-learn."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_blobs
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from deepfit import LogisticRegression, Perceptron

POINTS = np.array([[2, 3], [1, 4], [-1, -3], [-4, -5]], dtype=float)
LABELS = np.array([1, 1, 0, 0])


def test_perceptron_separates_the_textbook_points_with_a_line():
    perceptron = Perceptron(random_state=0).fit(POINTS, LABELS)
    assert perceptron.predict(POINTS).tolist() == [1, 1, 0, 0]
    w, b = perceptron.coef_[0], perceptron.intercept_[0]
    assert np.all(((POINTS @ w + b) >= 0).astype(int) == LABELS)  # the boundary line is the rule
    assert perceptron.training_summary_["stop_reason"] == "every training example is classified correctly"


def test_perceptron_rule_one_step_by_hand():
    # From w = 0, b = 0 the first example [2, 3] (label 1) is predicted 1 (step(0) = 1): no change.
    # The third, [-1, -3] with label 0, is predicted 1: w <- w - x, b <- b - 1.
    perceptron = Perceptron(max_epochs=1, batch_size=4, standardize=False, random_state=0).fit(POINTS, LABELS)
    # A batch of all four sums the rule's updates: only the two label-0 points are wrong.
    assert perceptron.coef_[0].tolist() == [5.0, 8.0]
    assert perceptron.intercept_[0] == -2.0


def test_perceptron_learns_several_classes():
    X, y = make_blobs(300, centers=3, cluster_std=0.5, random_state=0)
    assert Perceptron(random_state=0).fit(X, y).score(X, y) > 0.95


def test_perceptron_learns_a_table_whose_columns_have_very_different_scales():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)  # proline is in the hundreds, hue around 1
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    assert Perceptron(random_state=0).fit(X_train, y_train).score(X_test, y_test) > 0.9


def test_perceptron_has_no_probabilities_but_a_decision_function():
    perceptron = Perceptron(random_state=0).fit(POINTS, LABELS)
    assert not hasattr(perceptron, "predict_proba")
    assert perceptron.decision_function(POINTS).shape == (4,)


def test_logistic_regression_matches_scikit_learn_on_a_real_table():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    ours = LogisticRegression(random_state=0).fit(X_train, y_train)
    scaler = StandardScaler().fit(X_train)
    reference = SklearnLogisticRegression(max_iter=1000).fit(scaler.transform(X_train), y_train)
    agreement = np.mean(ours.predict(X_test) == reference.predict(scaler.transform(X_test)))
    assert ours.score(X_test, y_test) >= 0.94
    assert agreement >= 0.95


def test_threshold_moves_the_decision():
    X, y = make_blobs(200, centers=2, cluster_std=3.0, random_state=1)
    lenient = LogisticRegression(threshold=0.2, random_state=0).fit(X, y)
    strict = LogisticRegression(threshold=0.8, random_state=0).fit(X, y)
    p = lenient.predict_proba(X)[:, 1]
    assert np.array_equal(lenient.predict(X), (p >= 0.2).astype(int))
    assert np.array_equal(strict.predict(X), (strict.predict_proba(X)[:, 1] >= 0.8).astype(int))
    assert lenient.predict(X).sum() > strict.predict(X).sum()


def test_logistic_regression_uses_softmax_for_more_than_two_classes():
    X, y = make_blobs(300, centers=4, random_state=0)
    model = LogisticRegression(random_state=0).fit(X, y)
    assert model.module_.output == "softmax"
    assert model.predict_proba(X).shape == (300, 4)
    assert np.allclose(model.predict_proba(X).sum(axis=1), 1)


@pytest.mark.parametrize("estimator", [Perceptron, LogisticRegression])
def test_same_random_state_gives_the_same_model(estimator):
    X, y = make_blobs(200, centers=3, random_state=0)
    first = estimator(random_state=3).fit(X, y).decision_function(X)
    second = estimator(random_state=3).fit(X, y).decision_function(X)
    assert np.array_equal(first, second)


@pytest.mark.parametrize("estimator", [LogisticRegression(max_epochs=5, random_state=0),
                                       Perceptron(max_epochs=5, random_state=0)], ids=["logistic", "perceptron"])
def test_linear_scores_are_the_weighted_sum_whichever_rows_come_together(estimator):
    # Scores are w·x + b in float64, so a row scores the same alone, in a batch or in any subset, on
    # any CPU (a float32 product sums in an order set by the batch's shape and the BLAS kernel).
    X, y = make_blobs(n_samples=300, n_features=200, centers=3, cluster_std=8.0, random_state=0)
    X = X * np.logspace(-2, 3, 200)  # columns on very different scales, as a real table's
    model = estimator.fit(X, y)
    by_hand = X @ model.coef_.T + model.intercept_  # the inputs are standardised in float32: ~1e-7 apart
    batch = model.decision_function(X)
    np.testing.assert_allclose(batch, by_hand, rtol=1e-5, atol=1e-5 * np.abs(by_hand).max())
    rows = [0, 7, 150, 299]
    alone = np.stack([model.decision_function(X[i:i + 1])[0] for i in rows])
    np.testing.assert_allclose(model.decision_function(X[rows]), alone, rtol=1e-12, atol=1e-12 * np.abs(batch).max())
    np.testing.assert_allclose(alone, batch[rows], rtol=1e-12, atol=1e-12 * np.abs(batch).max())
